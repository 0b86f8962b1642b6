"""What notifications look like on the wire."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import Field

from ..pagination import CursorPage
from ..wire import Inbound, Outbound

Priority = Literal["low", "medium", "high", "critical"]


class NotificationView(Outbound):
    id: UUID
    type: str
    title: str
    message: str
    data: dict[str, Any]
    priority: Priority
    read_at: datetime | None
    expires_at: datetime | None
    created_at: datetime


class NotificationPage(Outbound):
    items: list[NotificationView]
    next_cursor: str | None
    unread: int


class NotificationQuery(CursorPage):
    unread: bool = Field(False, description="only those not read yet")


class UnreadCount(Outbound):
    unread: int


class MarkRead(Inbound):
    """Mark these read (or all of them, with ``all: true``)."""

    ids: list[UUID] = Field([], max_length=200)
    all: bool = False


class MarkedRead(Outbound):
    marked: int
    unread: int
