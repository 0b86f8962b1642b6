"""The websocket transport, with permessage-deflate decided on purpose.

Browsers always offer permessage-deflate and aiohttp accepts it by default. For the arena's many
small realtime messages it costs about four times the server memory per connection (measured in
bench/ws_memory.py) for little saving on the wire, so it is off unless WS_COMPRESSION=true.
python-socketio does not expose the option, so we give its engine.io server a websocket class
that sets it; the class is per server, not patched into the library.
"""

from __future__ import annotations

from typing import Any

from aiohttp.web import WebSocketResponse
from engineio.async_drivers import aiohttp as eio_aiohttp


def websocket_class(compress: bool) -> type:
    class ArenaWebSocket(eio_aiohttp.WebSocket):
        async def __call__(self, environ: dict[str, Any]) -> WebSocketResponse:
            # Same as the library's, plus ``compress``.
            request = environ["aiohttp.request"]
            self._sock = WebSocketResponse(max_msg_size=self.server.max_http_buffer_size, compress=compress)
            await self._sock.prepare(request)
            self.environ = environ
            await self.handler(self)
            return self._sock

    return ArenaWebSocket


def configure(sio: Any, compress: bool) -> None:
    """Use our websocket class on this Socket.IO server's engine.io server only."""
    eio = sio.eio
    eio._async = {**eio._async, "websocket": websocket_class(compress)}
