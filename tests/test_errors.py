"""One error shape everywhere: REST bodies, socket acks, refused connections; nothing changes."""

from __future__ import annotations

import asyncpg
from aiohttp import web

from server.errors import AppError
from server.realtime.handlers import EventTable
from tests.support import Api


async def _agents(url: str) -> int:
    conn = await asyncpg.connect(url)
    try:
        return await conn.fetchval("SELECT count(*) FROM agents")
    finally:
        await conn.close()


def _is_error_shape(body: object, code: str) -> bool:
    return (
        isinstance(body, dict)
        and set(body) == {"error"}
        and set(body["error"]) == {"code", "message", "details"}
        and body["error"]["code"] == code
        and isinstance(body["error"]["message"], str)
    )


async def test_malformed_json_body(api: Api, database_url: str) -> None:
    r = await api.post("/api/agents", data=b'{"name": "x",', headers={"Content-Type": "application/json"})
    assert r.status == 400 and _is_error_shape(r.body, "validation.invalid_json")
    assert await _agents(database_url) == 0


async def test_wrong_types_and_unknown_fields(api: Api, database_url: str) -> None:
    r = await api.post("/api/agents", {"name": 12345})
    assert r.status == 422 and _is_error_shape(r.body, "validation.failed")
    assert r.body["error"]["details"][0]["loc"] == ["name"]
    r = await api.post("/api/agents", {"name": "fine-name", "admin": True})
    assert r.status == 422 and r.body["error"]["details"][0]["type"] == "extra_forbidden"
    r = await api.post("/api/agents", [1, 2, 3])
    assert r.status == 422 and _is_error_shape(r.body, "validation.failed")
    assert await _agents(database_url) == 0


async def test_oversize_rest_body(api: Api, database_url: str) -> None:
    big = {"name": "big-one", "description": "x" * (1024 * 1024 + 10)}
    r = await api.post("/api/agents", big)
    assert r.status == 413 and _is_error_shape(r.body, "validation.payload_too_large")
    assert await _agents(database_url) == 0


async def test_unknown_route_and_method(api: Api) -> None:
    r = await api.get("/api/does-not-exist")
    assert r.status == 404 and _is_error_shape(r.body, "not_found")
    r = await api.request("PATCH", "/api/agents")
    assert r.status == 405 and _is_error_shape(r.body, "method_not_allowed")


async def test_bad_uuid_in_path(api: Api) -> None:
    r = await api.get("/api/agents/not-a-uuid")
    assert r.status == 422 and r.code == "validation.failed"
    r = await api.get("/api/agents/00000000-0000-0000-0000-000000000000")
    assert r.status == 404 and r.code == "agent.not_found"


async def test_unexpected_exception_becomes_internal_without_leaking(make_server, caplog) -> None:
    async def boom(request: web.Request) -> web.Response:
        raise RuntimeError("secret database password is hunter2")

    running = await make_server(prepare=lambda app: app.router.add_get("/api/boom", boom))
    r = await running.api.get("/api/boom")
    assert r.status == 500 and _is_error_shape(r.body, "internal")
    assert "hunter2" not in str(r.body)
    assert any("hunter2" in rec.getMessage() or "hunter2" in str(rec.exc_info) for rec in caplog.records)


async def test_socket_ack_error_shapes_and_internal(arena, api: Api, sockets) -> None:
    from server.core import CORE

    table = EventTable()

    @table.on("test:fail")
    async def fail(call, *_):
        raise AppError("test.failed", "it failed on purpose", 409, details={"why": "test"})

    @table.on("test:crash")
    async def crash(call, *_):
        raise ValueError("internal detail hunter2")

    table.mount(arena.app[CORE].realtime.sio, lambda: arena.app[CORE])
    _, key = await api.new_agent("acker")
    client, _ = await sockets(arena.url, "/agent", {"api_key": key})
    ack = await client.call("test:fail", {}, namespace="/agent", timeout=5)
    assert ack == {"ok": False, "error": {"code": "test.failed", "message": "it failed on purpose",
                                          "details": {"why": "test"}}}
    ack = await client.call("test:crash", {}, namespace="/agent", timeout=5)
    assert ack["ok"] is False and ack["error"]["code"] == "internal" and "hunter2" not in str(ack)


async def test_security_headers_forbid_inline_script(api: Api) -> None:
    r = await api.get("/healthz")
    csp = r.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
    assert r.headers["X-Content-Type-Options"] == "nosniff"
