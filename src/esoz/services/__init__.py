"""The service catalogue: service groups, services, and which services a programme covers at what price."""
