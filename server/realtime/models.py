"""Wire shapes of the room base."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import Field, StringConstraints

from ..inputs import Seq
from ..wire import Inbound, Outbound

RoomName = Annotated[str, StringConstraints(pattern=r"^[a-z]+:[A-Za-z0-9_-]{1,100}$")]


class RoomEvent(Outbound):
    """One event of a room, live or replayed: the same shape either way."""

    room: str
    seq: int = Field(description="increases by one per room, from 1")
    type: str = Field(description="the Socket.IO event name, e.g. battle:turn")
    data: dict[str, Any]
    at: datetime


class WatchRoom(Inbound):
    room: RoomName
    since_seq: Seq = Field(0, description="the last seq this client saw; 0 for everything")
    snapshot_only: bool = Field(False, description="no past events: the snapshot, then live events")


class UnwatchRoom(Inbound):
    room: RoomName


class Watching(Outbound):
    """The answer to a watch: a snapshot of the room now, then every event after ``since_seq``."""

    room: str
    snapshot: dict[str, Any]
    events: list[RoomEvent]
    last_seq: int = Field(description="the room's seq when the snapshot was taken")
