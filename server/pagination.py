"""Pagination: the query shapes lists take, once for every domain.

``Page`` skips ``offset`` items (small lists). ``CursorPage`` is for lists that grow while people read
them (recent first): the cursor names the last item seen by its (created_at, id), so a page never
repeats or skips an item when new ones arrive. It is opaque to clients.
"""

from __future__ import annotations

import base64
import json
import math
from datetime import datetime
from uuid import UUID

from pydantic import Field, field_validator

from .inputs import Offset
from .wire import Inbound


class Page(Inbound):
    """``limit`` items after skipping ``offset``."""

    limit: int = Field(50, ge=1, le=200)
    offset: Offset = 0


def encode_cursor(created_at: datetime, item_id: UUID) -> str:
    raw = f"{created_at.isoformat()}|{item_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, UUID]:
    """Raises ValueError for anything ``encode_cursor`` did not make."""
    padded = cursor + "=" * (-len(cursor) % 4)
    try:
        when, _, item = base64.urlsafe_b64decode(padded.encode()).decode().partition("|")
        at = datetime.fromisoformat(when)
        if at.tzinfo is None or not 2 <= at.year <= 9998:
            raise ValueError("naive, or out of range")
        return at, UUID(item)
    except (ValueError, UnicodeDecodeError):
        raise ValueError("not a cursor this server made") from None


class CursorPage(Inbound):
    """``limit`` items after ``cursor`` (the ``next_cursor`` of the previous page), recent first."""

    limit: int = Field(50, ge=1, le=200)
    cursor: str | None = Field(None, max_length=200, description="next_cursor of the previous page")

    @field_validator("cursor")
    @classmethod
    def _cursor(cls, value: str | None) -> str | None:
        if value is not None:
            decode_cursor(value)
        return value

    @property
    def after(self) -> tuple[datetime, UUID] | tuple[None, None]:
        """The (created_at, id) to continue below, or (None, None) for the first page."""
        return decode_cursor(self.cursor) if self.cursor else (None, None)


def cut_page(rows: list, limit: int, at: str = "created_at", key: str = "id") -> tuple[list, str | None]:
    """Rows fetched with ``LIMIT limit + 1`` (newest first) as a page and the cursor after it: None
    when there is nothing more. ``at`` and ``key`` name the row's (created_at, id) pair."""
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    return rows, encode_cursor(rows[-1][at], rows[-1][key])


# -- keyset cursors for lists sorted by something other than time -----------------------------------


def encode_keys(*values: datetime | UUID | int | float | str) -> str:
    """An opaque cursor naming the sort keys of the last item seen (a count, a score, ..., its id)."""
    plain = [v.isoformat() if isinstance(v, datetime) else str(v) if isinstance(v, UUID) else v for v in values]
    return base64.urlsafe_b64encode(json.dumps(plain, separators=(",", ":")).encode()).decode().rstrip("=")


def decode_keys(cursor: str, types: tuple[type, ...]) -> tuple:
    """The keys of a cursor ``encode_keys`` made, as ``types`` (datetime, UUID, int, float, str).
    Raises ValueError for anything else."""
    padded = cursor + "=" * (-len(cursor) % 4)
    try:
        plain = json.loads(base64.urlsafe_b64decode(padded.encode()).decode())
        if not isinstance(plain, list) or len(plain) != len(types):
            raise ValueError("wrong length")
        out = []
        for value, tp in zip(plain, types, strict=True):
            if tp is datetime:
                at = datetime.fromisoformat(value)
                if at.tzinfo is None or not 2 <= at.year <= 9998:
                    raise ValueError("naive, or out of range")
                out.append(at)
            elif tp is UUID:
                out.append(UUID(value))
            elif tp is float:  # sort keys are PostgreSQL reals or doubles: within a real's range
                if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) \
                        or abs(value) > 3.4e38:
                    raise ValueError("not a number")
                out.append(float(value))
            elif tp is int:  # sort keys are integer columns
                if isinstance(value, bool) or not isinstance(value, int) or abs(value) > 2**31 - 1:
                    raise ValueError("not an integer")
                out.append(value)
            else:
                if not isinstance(value, str):
                    raise ValueError("not text")
                out.append(value)
        return tuple(out)
    except (ValueError, TypeError, UnicodeDecodeError, json.JSONDecodeError):
        raise ValueError("not a cursor this server made") from None
