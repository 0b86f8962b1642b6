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


def websocket_class(compress: bool, open_sockets: set[WebSocketResponse]) -> type:
    class ArenaWebSocket(eio_aiohttp.WebSocket):
        async def __call__(self, environ: dict[str, Any]) -> WebSocketResponse:
            # Same as the library's, plus ``compress`` and a record of open sockets.
            request = environ["aiohttp.request"]
            self._sock = WebSocketResponse(max_msg_size=self.server.max_http_buffer_size, compress=compress)
            await self._sock.prepare(request)
            self.environ = environ
            open_sockets.add(self._sock)
            try:
                await self.handler(self)
            finally:
                open_sockets.discard(self._sock)
            return self._sock

    return ArenaWebSocket


def configure(sio: Any, compress: bool) -> set[WebSocketResponse]:
    """Use our websocket class on this Socket.IO server's engine.io server only; returns the live
    set of its open websockets (to close them at shutdown)."""
    open_sockets: set[WebSocketResponse] = set()
    eio = sio.eio
    eio._async = {**eio._async, "websocket": websocket_class(compress, open_sockets)}
    return open_sockets


async def close_all(open_sockets: set[WebSocketResponse], timeout: float = 5) -> None:
    """Close every open websocket with 1001 (going away); clients reconnect, maybe elsewhere."""
    socks = list(open_sockets)
    if socks:
        await asyncio.wait([asyncio.ensure_future(ws.close(code=WSCloseCode.GOING_AWAY)) for ws in socks],
                           timeout=timeout)
