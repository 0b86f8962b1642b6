"""Socket.IO packets whose payload cannot be decoded still get an ack.

python-socketio decodes a packet's JSON before any handler runs; when that fails (invalid JSON, or
JSON nested so deep that the decoder hits the recursion limit) it raises inside its message loop, the
event is dropped, and the client waits for an ack that never comes. The ack id is read before the
JSON, so a packet that fails to decode is turned into the event ``MALFORMED`` carrying the error
(an ``AppError``, which no client can send), and the catch-all handler (handlers.py) answers it
like any other refused event.
"""

from __future__ import annotations

import json
from typing import Any

import orjson
from socketio import packet

from ..errors import AppError
from ..inputs import too_deep

MALFORMED = "arena:malformed"


class _Json:
    """What python-socketio's packets use as ``json``: orjson to encode what the server sends, the
    json module to decode what clients send (its errors are the ones packets and inputs map)."""

    @staticmethod
    def dumps(obj: Any, **_: Any) -> str:
        return orjson.dumps(obj).decode()

    loads = staticmethod(json.loads)


class ArenaPacket(packet.Packet):
    json = _Json
    # Everything the server sends is JSON: skip python-socketio's search of every outgoing payload
    # for bytes (a recursive walk in Python, ~9% of the CPU of a 500-line log batch's fan-out).
    # Incoming binary packets are still decoded by their packet type.
    uses_binary_events = False

    def decode(self, encoded_packet):  # noqa: ANN001, ANN201 - the library's signature
        try:
            count = super().decode(encoded_packet)
        except (ValueError, RecursionError) as exc:
            if self.packet_type != packet.EVENT:
                raise
            error = too_deep() if isinstance(exc, RecursionError) else \
                AppError("validation.invalid_json", f"the event is not valid JSON: {exc}", 400)
            self.data = [MALFORMED, error]  # the error object itself: it never leaves this process
            return 0
        if self.packet_type == packet.EVENT and not (
            isinstance(self.data, list) and self.data and isinstance(self.data[0], str)
        ):
            self.data = [MALFORMED, AppError("validation.failed", "an event is [name, payload]", 422)]
        return count
