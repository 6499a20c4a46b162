"""SMS and e-mail to patients and users: templates, providers, maintenance windows (delivered via the outbox)."""
