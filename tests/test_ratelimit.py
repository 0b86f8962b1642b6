"""Rate limits live in Redis, so they hold across processes, and answer rate_limited + retry-after."""

from __future__ import annotations

import asyncpg

from tests.support import connect


async def test_login_is_rate_limited_per_ip_across_processes(make_server) -> None:
    one = await make_server(rate_login="3/60")
    two = await make_server(rate_login="3/60")
    await one.api.new_user("target")
    codes = []
    for i in range(5):
        srv = one if i % 2 == 0 else two
        r = await srv.api.post("/api/auth/login", {"login": "target", "password": "wrong password"})
        codes.append((r.status, r.code))
    assert codes[:3] == [(401, "auth.invalid_credentials")] * 3
    assert codes[3:] == [(429, "rate_limited")] * 2
    last = await two.api.post("/api/auth/login", {"login": "target", "password": "correct horse battery"})
    assert last.status == 429
    assert int(last.headers["Retry-After"]) >= 1
    assert last.body["error"]["details"]["retry_after"] >= 1


async def test_registration_is_rate_limited(make_server, database_url: str) -> None:
    srv = await make_server(rate_register="2/3600")
    assert (await srv.api.post("/api/agents", {"name": "first-a"})).status == 201
    assert (await srv.api.post("/api/agents", {"name": "second-a"})).status == 201
    r = await srv.api.post("/api/agents", {"name": "third-a"})
    assert r.status == 429 and r.code == "rate_limited"
    conn = await asyncpg.connect(database_url)
    try:
        assert await conn.fetchval("SELECT count(*) FROM agents") == 2
    finally:
        await conn.close()


async def test_socket_events_are_rate_limited_per_agent(make_server) -> None:
    srv = await make_server(rate_socket_event="5/60")
    _, key = await srv.api.new_agent("chatty")
    client, _ = await connect(srv.url, "/agent", {"api_key": key})
    try:
        acks = [await client.call("room:unwatch", {"room": "demo:x"}, namespace="/agent", timeout=5)
                for _ in range(7)]
    finally:
        await client.disconnect()
    assert [a["ok"] for a in acks] == [True] * 5 + [False] * 2
    assert acks[-1]["error"]["code"] == "rate_limited"
    assert acks[-1]["error"]["details"]["retry_after"] >= 1
