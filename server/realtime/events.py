"""Room events every namespace shares: watch a room from a seq, stop watching."""

from __future__ import annotations

from ..wire import Outbound
from . import rooms
from .handlers import EventCall, EventTable
from .hub import AGENT_NS, SPECTATE_NS
from .models import UnwatchRoom, Watching, WatchRoom

events = EventTable()


class Unwatched(Outbound):
    room: str


for _ns in (SPECTATE_NS, AGENT_NS):

    @events.on("room:watch", WatchRoom, namespace=_ns, response=Watching)
    async def watch_room(call: EventCall, body: WatchRoom) -> Watching:
        """Watch a room: a snapshot, every event after since_seq, then live events."""
        return await rooms.watch_from(call.core, call.sid, call.namespace, call.actor, body.room, body.since_seq,
                                      body.snapshot_only)

    @events.on("room:unwatch", UnwatchRoom, namespace=_ns, response=Unwatched)
    async def unwatch_room(call: EventCall, body: UnwatchRoom) -> Unwatched:
        """Stop receiving a room's live events."""
        for name in rooms.rooms_to_leave(call.core, body.room):
            await call.core.realtime.leave(call.sid, call.namespace, name)
        return Unwatched(room=body.room)
