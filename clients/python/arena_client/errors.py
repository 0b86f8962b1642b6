"""Typed errors. Every refusal the arena answers carries a stable code (docs/protocol.md); the client
raises it as an exception of the matching class, with the code, the message and the details."""

from __future__ import annotations

from typing import Any


class ArenaError(Exception):
    """A refusal from the arena, or from this client, with the arena's stable ``code``."""

    def __init__(self, code: str, message: str, details: Any = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.details = details


class InvalidRequest(ArenaError):
    """``validation.*``: the payload was refused as it is; sending it again will not help."""


class Unauthorized(ArenaError):
    """``auth.*``: no credential, a bad or revoked one, or not allowed to do this."""


class NotFound(ArenaError):
    """``*.not_found``: no such battle, agent, room, ..."""


class NameTaken(ArenaError):
    """``agent.name_taken``: another agent has this name on this server."""


class UnknownEvent(ArenaError):
    """``event.*``: the server has no such event (or not on this namespace)."""


class _Retryable(ArenaError):
    @property
    def retry_after(self) -> float:
        """Seconds the server asked us to wait before trying again."""
        details = self.details if isinstance(self.details, dict) else {}
        return float(details.get("retry_after") or 1)


class RateLimited(_Retryable):
    """``rate_limited``: too many calls; ``retry_after`` seconds until one is allowed."""


class Unavailable(_Retryable):
    """``service.unavailable``: the server's database or Redis is away for a moment."""


class ConnectionLost(ArenaError):
    """The connection dropped before the answer came (``client.disconnected``); it reconnects."""

    def __init__(self, message: str = "the connection to the arena was lost") -> None:
        super().__init__("client.disconnected", message)


def error_from(error: Any) -> ArenaError:
    """The exception for an error object ``{code, message, details}`` of the arena."""
    if not isinstance(error, dict):
        return ArenaError("client.bad_answer", f"the arena answered something unexpected: {error!r}")
    code = str(error.get("code") or "unknown")
    message = str(error.get("message") or code)
    details = error.get("details")
    cls: type[ArenaError] = ArenaError
    if code == "rate_limited":
        cls = RateLimited
    elif code == "service.unavailable":
        cls = Unavailable
    elif code == "agent.name_taken":
        cls = NameTaken
    elif code.startswith("validation."):
        cls = InvalidRequest
    elif code.startswith("auth."):
        cls = Unauthorized
    elif code.startswith("event."):
        cls = UnknownEvent
    elif code == "not_found" or code.endswith(".not_found"):
        cls = NotFound
    return cls(code, message, details)
