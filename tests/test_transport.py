"""permessage-deflate is refused unless configured, even when the client offers it (as browsers do)."""

from __future__ import annotations

import asyncio
import json

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


async def _open_socket(url: str, http: aiohttp.ClientSession) -> aiohttp.ClientWebSocketResponse:
    ws = await http.ws_connect(url.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket")
    assert (await ws.receive_str()).startswith("0{")
    await ws.send_str("40/spectate,")
    assert (await ws.receive_str()).startswith("40/spectate,")
    return ws


async def test_idle_socket_is_pinged_and_a_silent_one_is_dropped(make_server) -> None:
    """The lighter Engine.IO socket (realtime/eio_socket.py) keeps the library's heartbeat: a ping
    every interval while the client answers, no task per socket for it, and a client that stops
    answering is disconnected."""
    from server.app import CORE
    from server.realtime.eio_socket import ArenaEioSocket

    srv = await make_server()
    eio = srv.app[CORE].realtime.sio.eio
    eio.ping_interval, eio.ping_timeout = 0.5, 0.5
    async with aiohttp.ClientSession() as http:
        ws = await _open_socket(srv.url, http)
        (sock,) = eio.sockets.values()
        assert type(sock) is ArenaEioSocket
        for _ in range(3):  # answered pings keep coming
            assert await ws.receive_str(timeout=3) == "2"
            await ws.send_str("3")
        names = [t.get_coro().__qualname__ for t in asyncio.all_tasks()]
        assert not any("_send_ping" in n for n in names), names
        assert await ws.receive_str(timeout=3) == "2"  # not answered from here on
        msg = await ws.receive(timeout=5)  # the server gives up on it
        assert msg.type in (aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
        if msg.type == aiohttp.WSMsgType.TEXT:
            assert msg.data == "1"  # engine.io close packet
        for _ in range(50):
            if not eio.sockets:
                break
            await asyncio.sleep(0.1)
        assert not eio.sockets


async def test_sockets_deliver_in_order_after_the_socket_class_swap(make_server) -> None:
    """Many sockets, each gets every event once and in order through the swapped class."""
    from server.app import CORE

    srv = await make_server()
    hub = srv.app[CORE].realtime
    async with aiohttp.ClientSession() as http:
        sockets = [await _open_socket(srv.url, http) for _ in range(20)]
        for n in range(30):
            await hub.sio.emit("tick", {"n": n}, namespace="/spectate")
        for ws in sockets:
            got = []
            while len(got) < 30:
                text = await ws.receive_str(timeout=5)
                if text.startswith("42/spectate,"):
                    got.append(json.loads(text[len("42/spectate,"):])[1]["n"])
            assert got == list(range(30))
            await ws.close()


async def _polling_socket(url: str, http: aiohttp.ClientSession) -> str:
    """An Engine.IO socket on the polling transport, in /spectate; its sid."""
    base = url + "/socket.io/?EIO=4&transport=polling"
    async with http.get(base) as r:
        sid = json.loads((await r.text())[1:])["sid"]
    async with http.post(f"{base}&sid={sid}", data="40/spectate,") as r:
        assert r.status == 200
    async with http.get(f"{base}&sid={sid}") as r:
        assert (await r.text()).startswith("40/spectate,")
    return sid


async def test_a_pending_long_poll_ends_when_its_client_closes_or_the_server_stops(make_server) -> None:
    """The library leaves a polling socket's waiting GET open until its timeout (45 s) after the client
    closed it, and a stopping server waited for it: now it is answered at once."""
    srv = await make_server()
    base = srv.url + "/socket.io/?EIO=4&transport=polling"
    async with aiohttp.ClientSession() as http:
        sid = await _polling_socket(srv.url, http)
        waiting = asyncio.ensure_future(http.get(f"{base}&sid={sid}"))
        await asyncio.sleep(0.2)  # the GET is waiting for packets on the server
        assert not waiting.done()
        async with http.post(f"{base}&sid={sid}", data="1") as r:  # the client closes the socket
            assert r.status == 200
        async with await asyncio.wait_for(waiting, 10) as r:
            assert r.status == 200 and await r.text() == ""  # answered with nothing: the socket is closed

        sid = await _polling_socket(srv.url, http)
        waiting = asyncio.ensure_future(http.get(f"{base}&sid={sid}"))
        await asyncio.sleep(0.2)
        stopping = asyncio.ensure_future(srv.server.close())
        async with await asyncio.wait_for(waiting, 10) as r:
            assert await r.text() == "1"  # the close packet: reconnect (to another process)
        await asyncio.wait_for(stopping, 10)
