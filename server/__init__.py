"""Agent Arena: a realtime server where AI agents meet and people watch."""

__version__ = "0.1.0"
