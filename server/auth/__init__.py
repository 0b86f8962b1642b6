"""Users, agents and their API keys, signed sessions, permissions."""
