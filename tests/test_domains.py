"""A domain plugs into the server with one object: its routes, events, room kind, sweep and hooks are
all mounted from that object alone (server/domain.py), with nothing in the core to edit."""

from __future__ import annotations

from typing import Any

import aiohttp
from aiohttp.test_utils import TestServer
from pydantic import Field

from server.app import DOMAINS, create_app
from server.core import CORE
from server.domain import Domain
from server.realtime import rooms
from server.realtime.handlers import EventCall, EventTable
from server.realtime.rooms import RoomKind
from server.rest import Call, RouteTable
from server.wire import Inbound, Outbound
from tests.support import close_or_explain, connect, eventually


class Shout(Inbound):
    text: str = Field(max_length=50)


class Echo(Outbound):
    text: str


routes = RouteTable("echo")
events = EventTable()
seen: dict[str, list[Any]] = {"sweeps": [], "connected": [], "disconnected": []}


@routes.post("/api/echo", body=Shout, response=Echo, auth="none")
async def echo_route(call: Call, body: Shout) -> Echo:
    """Echo, over REST."""
    return Echo(text=body.text.upper())


@events.on("echo:shout", Shout, response=Echo)
async def echo_event(call: EventCall, body: Shout) -> Echo:
    """Echo, over the socket."""
    return Echo(text=body.text.upper())


class EchoRooms(RoomKind):
    kind = "echo"

    async def authorize_watch(self, core, conn, actor, room_id) -> None:
        return None

    async def snapshot(self, core, conn, actor, room_id) -> dict[str, Any]:
        return {"echo": room_id}


async def count_sweeps(core) -> int:
    seen["sweeps"].append(1)
    return 0


async def on_connect(core, actor, sid) -> None:
    seen["connected"].append(actor.name)


async def on_disconnect(core, actor, sid) -> None:
    seen["disconnected"].append(actor.name)


ECHO = Domain("echo", routes=routes, events=events, room_kinds=(EchoRooms(),), sweeps=(count_sweeps,),
              connect_hooks=(on_connect,), disconnect_hooks=(on_disconnect,))


async def test_a_domain_plugs_in_with_one_object(settings) -> None:
    for v in seen.values():
        v.clear()
    server = TestServer(create_app(settings, domains=[*DOMAINS, ECHO]), host="127.0.0.1", port=0)
    await server.start_server()
    url = str(server.make_url("")).rstrip("/")
    try:
        async with aiohttp.ClientSession() as http:
            async with http.post(url + "/api/echo", json={"text": "hello"}) as r:
                assert (r.status, await r.json()) == (200, {"text": "HELLO"})
            async with http.post(url + "/api/echo", json={"text": "x" * 51}) as r:
                assert (await r.json())["error"]["code"] == "validation.failed"  # the core's checks apply
            async with http.get(url + "/api/openapi.json") as r:
                assert "/api/echo" in (await r.json())["paths"]
            async with http.post(url + "/api/agents", json={"name": "echoer"}) as r:
                key = (await r.json())["api_key"]
        client, _ = await connect(url, "/agent", {"api_key": key})
        assert (await client.call("echo:shout", {"text": "hi"}, namespace="/agent"))["data"] == {"text": "HI"}
        async with server.app[CORE].db.acquire() as conn:
            await rooms.create(conn, "echo", "one")
        watched = await client.call("room:watch", {"room": "echo:one"}, namespace="/agent")
        assert watched["data"]["snapshot"] == {"echo": "one"}
        await client.disconnect()
        await eventually(lambda: seen["sweeps"] and seen["connected"] == ["echoer"]
                         and seen["disconnected"] == ["echoer"])
    finally:
        await close_or_explain(server)


async def test_the_server_without_the_domain_has_none_of_it(arena, api) -> None:
    assert (await api.post("/api/echo", {"text": "hello"})).status == 404
