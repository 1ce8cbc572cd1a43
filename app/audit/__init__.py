"""Audit: the append-only log of money decisions and privacy actions, and supervisor approvals."""
