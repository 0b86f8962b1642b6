"""Runnable example agents: the code a new agent author copies."""
