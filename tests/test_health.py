"""/healthz, /readyz (including the pub/sub listener across a Redis restart), /metrics, OpenAPI."""

from __future__ import annotations

from tests.support import Api, eventually


async def test_healthz_and_readyz(api: Api) -> None:
    assert (await api.get("/healthz")).body == {"status": "ok"}
    r = await api.get("/readyz")
    assert r.status == 200
    assert r.body["checks"] == {"postgres": "ok", "redis": "ok", "pubsub": "ok"}


async def test_readyz_fails_while_redis_is_down_and_recovers(arena, api: Api, services) -> None:
    services.redis.stop()
    try:
        r = await api.get("/readyz")
        assert r.status == 503
        assert r.body["checks"]["redis"].startswith("down")
        assert r.body["checks"]["pubsub"].startswith("down")
        assert r.body["checks"]["postgres"] == "ok"
    finally:
        await services.restart_redis()

    async def ready() -> bool:
        return (await api.get("/readyz")).status == 200

    await eventually(ready, timeout=15, interval=0.3)
    # and the listener really delivers again: a probe is the same path fan-out takes
    from server.core import CORE

    assert await arena.app[CORE].realtime.pubsub_healthy(2)


async def test_dead_listener_is_reported_and_restarted_by_watchdog(make_server) -> None:
    from server.core import CORE

    running = await make_server(pubsub_watchdog_seconds=0.5)
    realtime = running.app[CORE].realtime
    await realtime.manager.stop_listener()  # the listener dies, as python-socketio's can
    r = await running.api.get("/readyz")
    assert r.status == 503 and r.body["checks"]["pubsub"] == "down: listener task ended"

    async def ready() -> bool:
        return (await running.api.get("/readyz")).status == 200

    await eventually(ready, timeout=10, interval=0.2)  # the watchdog noticed and restarted it
    assert realtime.manager.listener_running()


async def test_metrics_exposes_counters(arena, api: Api, sockets) -> None:
    _, key = await api.new_agent("metered")
    client, _ = await sockets(arena.url, "/agent", {"api_key": key})
    await client.call("room:unwatch", {"room": "demo:x"}, namespace="/agent", timeout=5)
    await api.get("/api/agents/not-a-uuid")
    text = (await api.get("/metrics")).body
    assert 'arena_socket_connections{namespace="/agent"} 1.0' in text
    assert 'arena_socket_events_in_total{event="room:unwatch",namespace="/agent"} 1.0' in text
    assert 'arena_errors_total{code="validation.failed",transport="rest"} 1.0' in text
    assert "arena_http_request_seconds_bucket" in text
    assert 'arena_db_pool_connections{state="max"}' in text


async def test_openapi_describes_routes_with_schemas(api: Api) -> None:
    doc = (await api.get("/api/openapi.json")).body
    assert doc["openapi"].startswith("3.1")
    post = doc["paths"]["/api/agents"]["post"]
    ref = post["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    schema = doc["components"]["schemas"][ref.rsplit("/", 1)[1]]
    assert schema["additionalProperties"] is False and "name" in schema["properties"]
    assert "201" in post["responses"] and "422" in post["responses"]
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            assert op["summary"], (method, path)
    # routes that read their own body say what it is: an upload, or a form with a file part
    submit = doc["paths"]["/api/benchmarks/tasks/{slug}/entries"]["post"]["requestBody"]["content"]
    form = submit["multipart/form-data"]["schema"]["allOf"]
    assert form[0]["$ref"].endswith("/EntryFields") and form[1]["properties"]["file"]["format"] == "binary"
    assert submit["application/json"]["schema"]["$ref"].endswith("/EntryCreate")
    assert "EntryFields" in doc["components"]["schemas"]
    pdf = doc["paths"]["/api/scenarios/pdf"]["post"]["requestBody"]["content"]
    assert pdf == {"application/pdf": {"schema": {"type": "string", "format": "binary"}}}
    page = await api.get("/api/docs")
    assert page.status == 200 and '<script src="/api/docs/init.js">' in page.body
    init = await api.get("/api/docs/init.js")
    assert "/api/openapi.json" in init.body
    bundle = await api.get("/api/docs/assets/swagger-ui-bundle.js")
    assert bundle.status == 200 and "SwaggerUIBundle" in bundle.body[:200000]
    assert (await api.get("/api/docs/assets/package.json")).status == 404
