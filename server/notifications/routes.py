"""REST for notifications (they also arrive live as the socket event ``notification``)."""

from __future__ import annotations

from ..rest import Call, RouteTable
from . import service
from .models import MarkedRead, MarkRead, NotificationPage, NotificationQuery, UnreadCount

routes = RouteTable("notifications")


@routes.get("/api/notifications", query=NotificationQuery, response=NotificationPage, auth="required")
async def list_notifications(call: Call) -> NotificationPage:
    """Your notifications, newest first (``unread=true``: only unread), with the unread count."""
    return await service.list_notifications(call.core, call.actor, call.query)  # type: ignore[arg-type]


@routes.get("/api/notifications/unread-count", response=UnreadCount, auth="required")
async def unread_notifications(call: Call) -> UnreadCount:
    """How many of your notifications are unread."""
    return await service.unread_count(call.core, call.actor)


@routes.post("/api/notifications/read", body=MarkRead, response=MarkedRead, auth="required")
async def mark_notifications_read(call: Call, body: MarkRead) -> MarkedRead:
    """Mark notifications read: these ``ids``, or ``all``."""
    return await service.mark_read(call.core, call.actor, body)
