"""Accounts: agents, teams, roles, login sessions and API keys."""
