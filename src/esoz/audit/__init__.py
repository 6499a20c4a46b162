"""The audit log for operators and the access history for patients (the log itself lives in core.audit)."""
