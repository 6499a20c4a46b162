"""Approvals: a patient's time-limited consent, confirmed by an SMS code, that opens their records to a doctor."""
