"""The one error shape used on every transport."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError


class AppError(Exception):
    """An error a client may see: a stable dotted code, a message for people, an HTTP status.

    REST answers ``{"error": {...}}`` with ``status``; a socket ack answers
    ``{"ok": false, "error": {...}}``; a refused socket connection carries the same payload.
    """

    def __init__(
        self,
        code: str,
        message: str,
        status: int = 400,
        details: Any = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
        self.details = details
        self.headers = headers or {}

    def payload(self) -> dict[str, Any]:
        """The ``error`` object of the wire shape."""
        return {"code": self.code, "message": self.message, "details": self.details}


def not_found(what: str = "resource") -> AppError:
    return AppError("not_found", f"{what} not found", 404)


def internal() -> AppError:
    return AppError("internal", "internal error", 500)


def rate_limited(retry_after: float) -> AppError:
    seconds = max(1, int(retry_after + 0.999))
    return AppError(
        "rate_limited",
        f"too many requests; retry after {seconds} s",
        429,
        details={"retry_after": seconds},
        headers={"Retry-After": str(seconds)},
    )


def service_unavailable(service: str, retry_after: int = 1) -> AppError:
    """A dependency (``postgres`` or ``redis``) is down or too busy: try again shortly."""
    return AppError(
        "service.unavailable",
        f"the arena cannot reach {service} right now; retry in {retry_after} s",
        503,
        details={"service": service, "retry_after": retry_after},
        headers={"Retry-After": str(retry_after)},
    )


def field_invalid(loc: list, msg: str, type_: str = "value_error") -> AppError:
    """``validation.failed`` for one field the schema alone cannot judge (a rule of the service)."""
    return AppError("validation.failed", "the payload is not valid", 422,
                    details=[{"loc": loc, "msg": msg, "type": type_}])


def not_null(name: str) -> AppError:
    """A PATCH that sends null for a field that must keep a value."""
    return field_invalid([name], "may not be null", "null")


def validation_failed(exc: ValidationError, where: str | None = None) -> AppError:
    """Turn pydantic's errors into a stable, JSON-safe list of ``{loc, msg, type}``; ``where``
    (``query``, ``path``) starts each ``loc``."""
    first = [where] if where else []
    details = [
        {"loc": [*first, *(str(p) for p in err["loc"])], "msg": err["msg"], "type": err["type"]}
        for err in exc.errors(include_url=False, include_input=False, include_context=False)
    ]
    return AppError("validation.failed", "the payload is not valid", 422, details=details)


def error_body(err: AppError) -> dict[str, Any]:
    """REST body for an error."""
    return {"error": err.payload()}


def error_ack(err: AppError) -> dict[str, Any]:
    """Socket ack for an error."""
    return {"ok": False, "error": err.payload()}


def ok_ack(data: Any = None) -> dict[str, Any]:
    """Socket ack for a success."""
    return {"ok": True, "data": data}
