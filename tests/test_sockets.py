"""Socket.IO namespaces: who may connect, how refusals look, validation, size (revocation: test_revocation.py)."""

from __future__ import annotations

import asyncio

import pytest
import socketio

from tests.support import Api, eventually, refusal


async def test_agent_namespace_accepts_api_key_and_token(arena, api: Api, sockets) -> None:
    agent, key = await api.new_agent("sock-agent")
    c1, _ = await sockets(arena.url, "/agent", {"api_key": key})
    assert c1.connected
    token = (await api.post("/api/auth/token", {"api_key": key})).body["session"]["token"]
    c2, _ = await sockets(arena.url, "/agent", {"token": token})
    assert c2.connected


@pytest.mark.parametrize(
    ("auth", "code"),
    [
        (None, "auth.required"),
        ({}, "auth.required"),
        ({"api_key": "ak_000000000000_nope"}, "auth.invalid_api_key"),
        ({"api_key": "garbage"}, "auth.invalid_api_key"),
        ({"token": "not.a.token"}, "auth.invalid_token"),
    ],
)
async def test_agent_namespace_refuses_with_error_payload(arena, auth, code) -> None:
    data = await refusal(arena.url, "/agent", auth)
    assert data["data"]["error"]["code"] == code
    assert set(data["data"]["error"]) == {"code", "message", "details"}


async def test_user_token_cannot_enter_agent_namespace(arena, api: Api) -> None:
    _, token = await api.new_user("human")
    data = await refusal(arena.url, "/agent", {"token": token})
    assert data["data"]["error"]["code"] == "auth.forbidden"


async def test_spectate_admits_anonymous(arena, sockets) -> None:
    client, _ = await sockets(arena.url, "/spectate")
    assert client.connected


async def test_validation_and_oversize_socket_messages(arena, api: Api, sockets) -> None:
    _, key = await api.new_agent("sizer")
    client, _ = await sockets(arena.url, "/agent", {"api_key": key})
    ack = await client.call("room:watch", {"room": "nope"}, namespace="/agent", timeout=5)
    assert ack["ok"] is False and ack["error"]["code"] == "validation.failed"
    ack = await client.call("room:watch", {"room": "demo:x", "extra": 1}, namespace="/agent", timeout=5)
    assert ack["error"]["code"] == "validation.failed"
    ack = await client.call("room:watch", "a string", namespace="/agent", timeout=5)
    assert ack["error"]["code"] == "validation.failed"
    ack = await client.call("room:watch", {"room": "demo:x", "pad": "y" * (70 * 1024)}, namespace="/agent",
                            timeout=5)
    assert ack["error"]["code"] == "validation.payload_too_large"
    assert client.connected  # an oversize message is an error, not a disconnect


async def _spectate_with(url: str, headers: dict, auth=None) -> tuple[socketio.AsyncClient, dict | None]:
    """Connect to /spectate as a browser would (Origin, Cookie); the client and any refusal."""
    client = socketio.AsyncClient(reconnection=False)
    refused: asyncio.Future = asyncio.get_running_loop().create_future()
    client.on("connect_error", namespace="/spectate")(lambda data: refused.done() or refused.set_result(data))
    try:
        await client.connect(url, namespaces=["/spectate"], transports=["websocket"], headers=headers, auth=auth,
                             wait_timeout=5)
    except socketio.exceptions.ConnectionError:
        return client, await asyncio.wait_for(refused, 5)
    return client, None


async def test_the_session_cookie_opens_a_socket_only_from_allowed_origins(make_server) -> None:
    srv = await make_server(cors_origins="http://trusted.example")
    _, token = await srv.api.new_user("cookie-user")
    cookie = {"Cookie": f"arena_session={token}"}
    opened = []
    try:
        client, refusal = await _spectate_with(srv.url, {**cookie, "Origin": "http://evil.example"})
        assert refusal["data"]["error"]["code"] == "auth.origin_forbidden"
        assert not client.connected
        for headers, auth in [
            ({**cookie, "Origin": srv.url}, None),  # our own page
            ({**cookie, "Origin": "http://trusted.example"}, None),  # CORS_ORIGINS
            ({**cookie}, None),  # no Origin: not a browser
            ({"Origin": "http://evil.example"}, {"token": token}),  # an explicit token is no ambient credential
            ({"Origin": "http://evil.example"}, None),  # anonymous
        ]:
            client, refusal = await _spectate_with(srv.url, headers, auth)
            assert refusal is None and client.connected, (headers, refusal)
            opened.append(client)
        # the cookie sockets really are the user's: logging out cuts them off, not the anonymous one
        assert (await srv.api.post("/api/auth/logout", token=token)).status == 204
        await eventually(lambda: [c.connected for c in opened] == [False, False, False, False, True])
    finally:
        for c in opened:
            if c.connected:
                await c.disconnect()
