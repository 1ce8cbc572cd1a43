"""Tickets: conversations, messages and notes, queues (the desk grows here)."""
