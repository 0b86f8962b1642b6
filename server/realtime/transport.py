"""The websocket transport, with permessage-deflate decided on purpose.

Browsers always offer permessage-deflate and aiohttp accepts it by default. For the arena's many
small realtime messages it costs about four times the server memory per connection (measured in
bench/ws_memory.py) for little saving on the wire, so it is off unless WS_COMPRESSION=true.
python-socketio does not expose the option, so we give its engine.io server a websocket class
that sets it; the class is per server, not patched into the library.

The class also records each open websocket twice: by itself (to close them all at shutdown) and by
its Engine.IO sid with its transport (for fanout.py, which writes frames to it directly).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSCloseCode
from aiohttp.web import WebSocketResponse
from engineio.async_drivers import aiohttp as eio_aiohttp


@dataclass
class OpenSockets:
    """The open websockets of one server: by websocket (to their requests) and by Engine.IO sid."""

    requests: dict[WebSocketResponse, Any] = field(default_factory=dict)
    by_eio_sid: dict[str, tuple[WebSocketResponse, asyncio.BaseTransport]] = field(default_factory=dict)


def websocket_class(compress: bool, sockets: OpenSockets) -> type:
    class ArenaWebSocket(eio_aiohttp.WebSocket):
        async def __call__(self, environ: dict[str, Any]) -> WebSocketResponse:
            # Same as the library's, plus ``compress`` and a record of open sockets.
            request = environ["aiohttp.request"]
            self._sock = ws = WebSocketResponse(max_msg_size=self.server.max_http_buffer_size, compress=compress)
            await ws.prepare(request)
            self.environ = environ
            eio_sid = self.handler.__self__.sid  # the handler is a method of the Engine.IO socket
            sockets.requests[ws] = request
            if request.transport is not None:
                sockets.by_eio_sid[eio_sid] = (ws, request.transport)
            try:
                await self.handler(self)
            finally:
                sockets.requests.pop(ws, None)
                if sockets.by_eio_sid.get(eio_sid, (None,))[0] is ws:
                    del sockets.by_eio_sid[eio_sid]
            return ws

    return ArenaWebSocket


def configure(sio: Any, compress: bool) -> OpenSockets:
    """Use our websocket class on this Socket.IO server's engine.io server only; returns the live
    record of its open websockets."""
    sockets = OpenSockets()
    eio = sio.eio
    eio._async = {**eio._async, "websocket": websocket_class(compress, sockets)}
    return sockets


async def close_all(open_sockets: OpenSockets, timeout: float = 5) -> None:
    """Close every open websocket with 1001 (going away); clients reconnect, maybe elsewhere. A
    client that does not answer the close within ``timeout`` has its connection cut: a stop never
    waits on a client (aiohttp waits for every open handler before it runs the cleanup)."""
    closing = {asyncio.ensure_future(ws.close(code=WSCloseCode.GOING_AWAY)): request
               for ws, request in list(open_sockets.requests.items())}
    if not closing:
        return
    _, pending = await asyncio.wait(closing, timeout=timeout)
    for task in pending:
        transport = closing[task].transport
        if transport is not None:
            transport.abort()
        task.cancel()
    if pending:
        await asyncio.wait(pending, timeout=1)
