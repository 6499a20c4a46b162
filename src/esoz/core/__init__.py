"""Shared machinery every domain builds on. Imports no domain."""
