"""Per-room Redis channels: which rooms this process listens to, and the messages on them.

A process subscribes to a room's channel while it has an interest in the room: a local socket in
it (in any namespace, any part such as ``execution:<id>#info``) or a REST long poll waiting on it.
So a process receives only the events of its own rooms, and its pub/sub traffic grows with them, not
with the cluster (socket.io's Redis adapter has a "dynamic" subscription mode for the same reason).

A message carries every emit one publish made to one room, framed so that the receiving process
does no JSON work for a plain emit: it hands the event's JSON, as the sender encoded it, to
fanout.py. The frame is text lines with length-prefixed bodies::

    A1 <host id>\\n
    E <namespace> <room> <length>\\n<[event, data] as JSON>     an emit to a room (or a part of it)
    S <room> <length>\\n<[event, data] as JSON>                 a split event (hub.publish_split)
    C <namespace> <room> <length>\\n<[event, data, reply] as JSON>   a call: an emit whose ack is
                                                                 handled where the socket is

Room and namespace names are made by the server (``kind:id``, ``/spectate``) and never contain a
space or a newline; ``framable`` says so before anything is framed.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

HEAD = b"A1 "


def base_room(room: str) -> str:
    """``execution:7#info`` is a part of ``execution:7``: both travel on the room's channel."""
    return room.partition("#")[0]


def is_channel_room(room: object) -> bool:
    """Named rooms (``kind:id``) have channels; a namespace's ``None`` room and sid rooms do not."""
    return isinstance(room, str) and ":" in room


def framable(name: str) -> bool:
    return " " not in name and "\n" not in name


@dataclass(frozen=True, slots=True)
class Entry:
    kind: bytes  # b"E", b"S" or b"C"
    namespace: str  # "" for a split event
    room: str
    body: bytes


def head(host_id: str) -> bytes:
    return HEAD + host_id.encode() + b"\n"


def frame(host_head: bytes, entries: list[Entry]) -> bytes:
    parts = [host_head]
    for e in entries:
        if e.kind in (b"E", b"C"):
            parts.append(b"%s %s %s %d\n" % (e.kind, e.namespace.encode(), e.room.encode(), len(e.body)))
        else:
            parts.append(b"S %s %d\n" % (e.room.encode(), len(e.body)))
        parts.append(e.body)
    return b"".join(parts)


def entries(message: bytes) -> Iterator[Entry]:
    """The entries of a framed message (after its head line). Raises ValueError if malformed."""
    pos = message.index(b"\n") + 1
    end = len(message)
    while pos < end:
        eol = message.index(b"\n", pos)
        fields = message[pos:eol].split(b" ")
        if fields[0] in (b"E", b"C") and len(fields) == 4:
            namespace, room, length = fields[1].decode(), fields[2].decode(), int(fields[3])
        elif fields[0] == b"S" and len(fields) == 3:
            namespace, room, length = "", fields[1].decode(), int(fields[2])
        else:
            raise ValueError(f"bad entry line {message[pos:eol][:80]!r}")
        body = message[eol + 1:eol + 1 + length]
        if len(body) != length:
            raise ValueError("truncated entry")
        yield Entry(fields[0], namespace, room, body)
        pos = eol + 1 + length


class Interest:
    """How many reasons this process has to listen to each room's channel (local rooms with members,
    per namespace and part, and waiting long polls). ``changed`` is called with a base room whose
    count went from 0 to 1 (True) or 1 to 0 (False)."""

    def __init__(self, changed) -> None:
        self.counts: dict[str, int] = {}
        self._changed = changed

    def add(self, room: str) -> None:
        base = base_room(room)
        n = self.counts.get(base, 0)
        self.counts[base] = n + 1
        if n == 0:
            self._changed(base, True)

    def remove(self, room: str) -> None:
        base = base_room(room)
        n = self.counts.get(base, 0)
        if n <= 1:
            if n == 1:
                del self.counts[base]
                self._changed(base, False)
            return
        self.counts[base] = n - 1

    def rooms(self) -> set[str]:
        return set(self.counts)
