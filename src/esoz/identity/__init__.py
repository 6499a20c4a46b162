"""Identity: users, the password policy, second factors, OAuth for MIS clients, sign-in pages."""
