"""REST twin of watching: read a room's events after a seq, optionally long-polling."""

from __future__ import annotations

from pydantic import Field

from ..inputs import Seq
from ..rest import Call, RouteTable
from ..wire import Inbound
from . import rooms
from .models import RoomEvent

routes = RouteTable("rooms")


class EventsQuery(Inbound):
    after: Seq = Field(0, description="the last seq already seen")
    wait: float = Field(0, ge=0, le=30, description="seconds to wait for a new event when there is none")
    limit: int = Field(500, ge=1, le=1000)


@routes.get("/api/rooms/{room}/events", query=EventsQuery, response=list[RoomEvent], auth="optional",
            errors=["room.not_found"])
async def room_events(call: Call) -> list[RoomEvent]:
    """A room's events after a seq, in order; with ``wait``, a long poll."""
    q: EventsQuery = call.query  # type: ignore[assignment]
    return await rooms.events_since(call.core, call.actor, call.path["room"], q.after, q.wait, q.limit)
