"""Pagination: the query shapes lists take, once for every domain.

``Page`` skips ``offset`` items (small lists). ``CursorPage`` is for lists that grow while people read
them (recent first): the cursor names the last item seen by its (created_at, id), so a page never
repeats or skips an item when new ones arrive. It is opaque to clients.
"""

from __future__ import annotations

import base64
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
        if at.tzinfo is None:
            raise ValueError("naive")
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
