"""Logging in and out: server-side sessions and login throttling."""
