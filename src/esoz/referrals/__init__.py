"""E-referrals (service requests, contract §4) and the async job resource of the medical-events API."""
