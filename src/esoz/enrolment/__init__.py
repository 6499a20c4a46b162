"""Signing of the registry's requests: declaration requests and person requests, through the signed-write flow."""
