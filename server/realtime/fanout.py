"""Local delivery of room events: encode once, write one frame to every websocket (ARCHITECTURE §11).

python-socketio sends a room event with a task per recipient, each putting the packet on the
socket's queue, whose writer task wakes, encodes it again and writes it. Node's socket.io (and
Phoenix) encode the event once and write the same websocket frame to every socket. This does the
same: the Socket.IO packet, its Engine.IO packet and the server-to-client websocket frame (frames
from a server are not masked, so one frame fits every socket) are built once per namespace, and
then, for each local member of the room, with no task and no await:

- a websocket whose queue is empty and whose writer task is parked waiting for the next packet
  gets the frame written to its transport at once;
- every other socket (long polling, mid-upgrade, or with packets queued that its writer has not
  written yet) gets the same Engine.IO packet object put on its queue, the ordinary path, so each
  client still sees its packets in the order they were sent.

The frame is never compressed, which is valid on a connection that negotiated permessage-deflate
(RFC 7692: a message without RSV1 is sent as is).

Backpressure: a socket whose transport has more than ``write_limit`` bytes waiting, or more than
``queue_limit`` packets queued, is not written to; it is returned as slow, and the hub treats it as a
slow watcher (the room's resync rule, ARCHITECTURE §10). Memory per stalled socket stays bounded
and the others are not slowed.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from typing import Any

import orjson
from engineio import packet as eio_packet


def frame_header(length: int) -> bytes:
    """The header of one unmasked, final text frame of ``length`` payload bytes (RFC 6455 §5.2)."""
    if length < 126:
        return struct.pack("!BB", 0x81, length)
    if length < 65536:
        return struct.pack("!BBH", 0x81, 126, length)
    return struct.pack("!BBQ", 0x81, 127, length)


class Encoded:
    """One event for one namespace, in the forms each kind of socket needs."""

    __slots__ = ("frame", "packet")

    def __init__(self, namespace: str, body: bytes) -> None:
        prefix = "2" if namespace == "/" else f"2{namespace},"
        text = prefix + body.decode()
        self.packet = eio_packet.Packet(eio_packet.MESSAGE, text)
        self.packet.encode_cache = "4" + text  # shared by every queued socket; encoded once
        payload = b"4" + prefix.encode() + body
        self.frame = frame_header(len(payload)) + payload


def encode_event(event: str, data: Any) -> bytes:
    """The JSON of a Socket.IO event's arguments, ``[event, data]`` (``[event]`` for no data): once
    for every namespace."""
    return orjson.dumps([event] if data is None else [event, data])


class LocalFanout:
    """Writes encoded events to this process's sockets. ``websockets`` maps an Engine.IO sid to its
    websocket and that websocket's transport while it is open (transport.py keeps it)."""

    def __init__(self, eio_sockets: dict[str, Any], websockets: dict[str, tuple[Any, Any]], *,
                 fast: bool, write_limit: int, queue_limit: int) -> None:
        self.eio_sockets = eio_sockets
        self.websockets = websockets
        self.fast = fast
        self.write_limit = write_limit
        self.queue_limit = queue_limit
        self.written = 0  # frames written straight to a transport (for tests and metrics)
        self.queued = 0  # packets put on a socket's queue

    def send(self, recipients: Iterable[tuple[str, str]], encoded: Encoded, *, queue_limit: int | None = None,
             force: bool = False) -> list[str]:
        """Send to each (sid, eio_sid); returns the sids that were too far behind to be sent to
        (none when ``force``). ``queue_limit`` overrides the packet bound (bounded room kinds)."""
        sockets, websockets = self.eio_sockets, self.websockets
        limit = self.queue_limit if queue_limit is None else queue_limit
        slow: list[str] = []
        for sid, eio_sid in recipients:
            sock = sockets.get(eio_sid)
            if sock is None or sock.closed:
                continue
            queue = sock.queue
            open_ws = websockets.get(eio_sid) if self.fast else None
            if (open_ws is not None and not queue._queue and _writer_waiting(queue) and sock.upgraded
                    and not sock.upgrading):
                ws, transport = open_ws
                if transport.is_closing() or ws.closed:
                    continue
                if not force and transport.get_write_buffer_size() > self.write_limit:
                    slow.append(sid)
                    continue
                transport.write(encoded.frame)
                self.written += 1
            else:
                if not force and queue.qsize() >= limit:
                    slow.append(sid)
                    continue
                queue.put_nowait(encoded.packet)
                self.queued += 1
        return slow


def _writer_waiting(queue: Any) -> bool:
    """True when a task is parked in ``queue.get()``: for an upgraded socket, its websocket writer,
    which has written everything it took. Right after a put the getter is woken and removed, so a
    packet taken but not yet written is never overtaken."""
    getters = queue._getters
    return bool(getters) and not getters[-1].done()
