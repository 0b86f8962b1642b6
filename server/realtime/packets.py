"""Socket.IO packets whose payload cannot be decoded still get an ack.

python-socketio decodes a packet's JSON before any handler runs; when that fails (invalid JSON, or
JSON nested so deep that the decoder hits the recursion limit) it raises inside its message loop, the
event is dropped, and the client waits for an ack that never comes. The ack id is read before the
JSON, so a packet that fails to decode is turned into the event ``MALFORMED`` carrying the error
(an ``AppError``, which no client can send), and the catch-all handler (handlers.py) answers it
like any other refused event.
"""

from __future__ import annotations

from typing import Any

import orjson
from socketio import packet

from ..errors import AppError
from ..inputs import Checked, loads_checked, too_deep

MALFORMED = "arena:malformed"


class _Json:
    """What python-socketio's packets use as ``json``: orjson both ways. Decoding goes through
    ``inputs.loads_checked`` (the json module's errors where orjson refuses), which also says whether
    the value passes the input check; ``decoded`` keeps that for ``ArenaPacket.decode``, which runs
    the decode synchronously and reads it right after."""

    decoded: tuple[Any, bool, int] | None = None

    @staticmethod
    def dumps(obj: Any, **_: Any) -> str:
        return orjson.dumps(obj).decode()

    @staticmethod
    def loads(text: str, **_: Any) -> Any:
        _Json.decoded = None
        value, clean = loads_checked(text)
        _Json.decoded = (value, clean, len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass")))
        return value


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
        decoded, _Json.decoded = _Json.decoded, None
        if (self.packet_type == packet.EVENT and decoded is not None and decoded[0] is self.data and decoded[1]
                and len(self.data) >= 2 and type(self.data[1]) is dict):
            # Checked as decoded: the gate skips its own check. The size is the payload's as sent:
            # the packet's JSON less the event name around it (more if there are more arguments).
            self.data[1] = Checked(self.data[1], decoded[2] - len(orjson.dumps(self.data[0])) - 3)
        return count
