"""The websocket transport, with permessage-deflate decided on purpose.

Browsers always offer permessage-deflate and aiohttp accepts it by default. For the arena's many
small realtime messages it costs about four times the server memory per connection (measured in
bench/ws_memory.py) for little saving on the wire, so it is off unless WS_COMPRESSION=true.
python-socketio does not expose the option, so we give its engine.io server a websocket class
that sets it; the class is per server, not patched into the library.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import WSCloseCode
from aiohttp.web import WebSocketResponse
from engineio.async_drivers import aiohttp as eio_aiohttp


def websocket_class(compress: bool, open_sockets: dict[WebSocketResponse, Any]) -> type:
    class ArenaWebSocket(eio_aiohttp.WebSocket):
        async def __call__(self, environ: dict[str, Any]) -> WebSocketResponse:
            # Same as the library's, plus ``compress`` and a record of open sockets.
            request = environ["aiohttp.request"]
            self._sock = WebSocketResponse(max_msg_size=self.server.max_http_buffer_size, compress=compress)
            await self._sock.prepare(request)
            self.environ = environ
            open_sockets[self._sock] = request
            try:
                await self.handler(self)
            finally:
                open_sockets.pop(self._sock, None)
            return self._sock

    return ArenaWebSocket


def configure(sio: Any, compress: bool) -> dict[WebSocketResponse, Any]:
    """Use our websocket class on this Socket.IO server's engine.io server only; returns the live
    map of its open websockets to their requests (to close them at shutdown)."""
    open_sockets: dict[WebSocketResponse, Any] = {}
    eio = sio.eio
    eio._async = {**eio._async, "websocket": websocket_class(compress, open_sockets)}
    return open_sockets


async def close_all(open_sockets: dict[WebSocketResponse, Any], timeout: float = 5) -> None:
    """Close every open websocket with 1001 (going away); clients reconnect, maybe elsewhere. A
    client that does not answer the close within ``timeout`` has its connection cut: a stop never
    waits on a client (aiohttp waits for every open handler before it runs the cleanup)."""
    closing = {asyncio.ensure_future(ws.close(code=WSCloseCode.GOING_AWAY)): request
               for ws, request in list(open_sockets.items())}
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
