"""Validation and serialisation of what crosses the wire, shared by REST and Socket.IO."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from .errors import AppError, validation_failed
from .inputs import Checked, check_payload, loads_checked, too_deep

M = TypeVar("M", bound=BaseModel)


class Inbound(BaseModel):
    """Base of every inbound payload: unknown fields are an error, not silently dropped."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)


class Outbound(BaseModel):
    """Base of every outbound view."""

    model_config = ConfigDict(from_attributes=True)


def parse(model: type[M], payload: Any, where: str | None = None, *, checked: bool = False) -> M:
    """Validate ``payload`` into ``model`` or raise ``validation.failed`` (or ``validation.too_deep``)
    with details; ``where`` prefixes each error's ``loc`` (``query``, ``path``). ``checked``: the
    caller already ran ``check_payload`` on it."""
    if payload is None:
        payload = {}
    if not isinstance(payload, dict):
        raise AppError(
            "validation.failed",
            "the payload must be a JSON object",
            422,
            details=[{"loc": [], "msg": "expected an object", "type": "model_type"}],
        )
    if not checked:
        check_payload(payload, where)
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        raise validation_failed(exc, where) from None


def parse_json(raw: bytes) -> Any:
    """Decode a JSON body, or raise ``validation.invalid_json``."""
    try:
        if not raw:
            return None
        value, clean = loads_checked(raw)
        return Checked(value, len(raw)) if clean and type(value) is dict else value
    except RecursionError:
        raise too_deep() from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise AppError("validation.invalid_json", f"the body is not valid JSON: {exc}", 400) from None


def dump(value: Any) -> Any:
    """A JSON-ready value: models become dicts (ISO dates, UUID strings), lists are mapped."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, list | tuple):
        return [dump(v) for v in value]
    return value
