"""permessage-deflate is refused unless configured, even when the client offers it (as browsers do)."""

from __future__ import annotations

import aiohttp


async def _negotiated(url: str) -> str:
    ws_url = url.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket"
    async with aiohttp.ClientSession() as http:
        async with http.ws_connect(ws_url, compress=15) as ws:  # offers permessage-deflate
            extensions = ws._response.headers.get("Sec-WebSocket-Extensions", "")
            first = await ws.receive_str()
            assert first.startswith("0{")  # engine.io open packet: the socket works
            return extensions


async def test_websocket_compression_is_off_by_default(make_server) -> None:
    srv = await make_server()
    assert "permessage-deflate" not in await _negotiated(srv.url)


async def test_websocket_compression_can_be_turned_on(make_server) -> None:
    srv = await make_server(ws_compression=True)
    assert "permessage-deflate" in await _negotiated(srv.url)
