"""Deployments: a config pushed to the agent's live sockets and acknowledged, refused, or failed at its
deadline; a config on its way reaches an agent that connects later; rollback as a new deployment;
scheduled deployments started by exactly one of two processes; bad payloads change nothing."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import socketio

from .support import Recorder, eventually, sql_rows, sql_value


class Agent:
    """An agent on /agent that answers ``agent:config`` with ``answer(payload)`` (its ack)."""

    def __init__(self, url: str, key: str) -> None:
        self.url, self.key = url, key
        self.rec = Recorder()
        self.answer = lambda payload: {"ok": True}
        self.client: socketio.AsyncClient | None = None

    async def connect(self) -> Agent:
        client = socketio.AsyncClient(reconnection=False)

        @client.on("*", namespace="/agent")
        async def _any(event: str, data: Any = None) -> Any:
            await self.rec.add(event, data)
            if event == "agent:config":
                return self.answer(data)
            return None

        await client.connect(self.url, namespaces=["/agent"], transports=["websocket"], auth={"api_key": self.key},
                             wait_timeout=5)
        self.client = client
        return self

    async def close(self) -> None:
        if self.client is not None and self.client.connected:
            await self.client.disconnect()


async def _status(api, token: str, deployment_id: str, want: str) -> dict:
    async def check() -> dict | None:
        r = await api.get(f"/api/deployments/{deployment_id}", token=token)
        return r.body if r.body.get("status") == want else None

    return await eventually(check, what=f"deployment {want}")


async def test_push_acknowledge_refuse_and_roll_back(arena, database_url: str) -> None:
    api = arena.api
    _, alice = await api.new_user("dep-alice")
    _, mallory = await api.new_user("dep-mallory")
    agent, key = await api.new_agent("dep-agent", token=alice)
    aid = agent["id"]
    bot = await Agent(arena.url, key).connect()
    try:
        r = await api.post(f"/api/agents/{aid}/deployments", {"config": {"model": "small", "temperature": 0.2}},
                           token=alice)
        assert r.status == 201, r.body
        v1 = r.body
        assert v1["version"] == 1 and v1["status"] == "deploying" and v1["trigger_type"] == "manual"
        push = (await bot.rec.wait_event("agent:config"))[0]  # (the connect hook may push it once more)
        assert push == {"deployment_id": v1["id"], "version": 1, "config": {"model": "small", "temperature": 0.2},
                        "deployment_config": {}}
        done = await _status(api, alice, v1["id"], "deployed")
        assert done["deployed_at"] is not None and done["deadline_at"] is None
        ops = (await api.get(f"/api/agents/{aid}/ops", token=alice)).body
        assert ops["config"] == {"model": "small", "temperature": 0.2} and ops["deployed_version"] == 1
        assert ops["status"] == "active" and ops["last_activity"] is not None

        v2 = (await api.post(f"/api/agents/{aid}/deployments", {"config": {"model": "large"}}, token=alice)).body
        assert v2["version"] == 2
        await _status(api, alice, v2["id"], "deployed")
        assert (await api.get(f"/api/deployments/{v1['id']}", token=alice)).body["status"] == "stopped"

        # The agent refuses a config: the deployment fails, the agent is in error, the owner hears (high).
        bot.answer = lambda payload: {"ok": False, "error": "unknown model"}
        v3 = (await api.post(f"/api/agents/{aid}/deployments", {"config": {"model": "huge"}}, token=alice)).body
        failed = await _status(api, alice, v3["id"], "failed")
        assert failed["error_message"] == "unknown model"
        ops = (await api.get(f"/api/agents/{aid}/ops", token=alice)).body
        assert ops["status"] == "error" and ops["config"] == {"model": "large"} and ops["deployed_version"] == 2
        notes = (await api.get("/api/notifications", token=alice)).body["items"]
        assert [n["priority"] for n in notes if n["type"] == "deployment_failed"] == ["high"]
        assert [(n["data"]["new_status"], n["priority"]) for n in notes if n["type"] == "agent_status_change"] == [
            ("error", "high"), ("active", "medium")]
        # A failed version cannot be rolled back to; a deployed one can, as a new deployment.
        r = await api.post(f"/api/deployments/{v3['id']}/rollback", token=alice)
        assert r.status == 409 and r.code == "deployment.never_deployed"
        bot.answer = lambda payload: {"ok": True}
        r = await api.post(f"/api/deployments/{v1['id']}/rollback", token=alice)
        assert r.status == 201, r.body
        v4 = r.body
        assert v4["version"] == 4 and v4["rollback_of"] == v1["id"] and v4["config"] == v1["config"]
        assert v4["trigger_config"] == {"rollback_of": v1["id"], "rollback_to_version": 1}
        await _status(api, alice, v4["id"], "deployed")
        ops = (await api.get(f"/api/agents/{aid}/ops", token=alice)).body
        assert ops["config"] == v1["config"] and ops["deployed_version"] == 4 and ops["status"] == "active"
        history = (await api.get(f"/api/agents/{aid}/deployments", token=alice)).body["items"]
        assert [(d["version"], d["status"]) for d in history] == [
            (4, "deployed"), (3, "failed"), (2, "stopped"), (1, "stopped")]
        # (A push may come twice, e.g. once more by the connect hook: the agent applies it once.)
        assert list(dict.fromkeys(p["version"] for p in bot.rec.of("agent:config"))) == [1, 2, 3, 4]

        # Someone else's agent: not found; a config_change through PATCH ops is a deployment too.
        assert (await api.post(f"/api/agents/{aid}/deployments", {"config": {}}, token=mallory)).code == \
            "agent.not_found"
        assert (await api.post(f"/api/deployments/{v1['id']}/rollback", token=mallory)).code == \
            "deployment.not_found"
        r = await api.patch(f"/api/agents/{aid}/ops", {"config": {"model": "tiny"}}, token=alice)
        assert r.status == 200
        latest = (await api.get(f"/api/agents/{aid}/deployments?limit=1", token=alice)).body["items"][0]
        assert latest["version"] == 5 and latest["trigger_type"] == "config_change"
        await _status(api, alice, latest["id"], "deployed")
    finally:
        await bot.close()


async def test_deadline_fails_and_a_late_connection_gets_the_config(make_server, database_url: str) -> None:
    srv = await make_server(deploy_ack_seconds=0.6, sweep_interval=0.1)
    api = srv.api
    _, alice = await api.new_user("late-alice")
    agent, key = await api.new_agent("late-agent", token=alice)
    aid = agent["id"]

    # Nobody connected: no answer by the deadline, so it fails and the agent is in error.
    v1 = (await api.post(f"/api/agents/{aid}/deployments", {"config": {"a": 1}}, token=alice)).body
    failed = await _status(api, alice, v1["id"], "failed")
    assert "no acknowledgement" in failed["error_message"]
    assert (await api.get(f"/api/agents/{aid}/ops", token=alice)).body["status"] == "error"

    # A deployment on its way is pushed to a socket that connects before its deadline; an agent
    # may answer with the event instead of the ack.
    slow = await make_server(deploy_ack_seconds=30, sweep_interval=0.1)
    v2 = (await slow.api.post(f"/api/agents/{aid}/deployments", {"config": {"a": 2}}, token=alice)).body
    bot = Agent(slow.url, key)
    bot.answer = lambda payload: None  # answers later, by event
    await bot.connect()
    try:
        push = (await bot.rec.wait_event("agent:config"))[0]
        assert push["deployment_id"] == v2["id"] and push["config"] == {"a": 2}
        ack = await bot.client.call("agent:config_result", {"deployment_id": v2["id"], "ok": True},
                                    namespace="/agent", timeout=5)
        assert ack["ok"] and ack["data"]["status"] == "deployed", ack
        again = await bot.client.call("agent:config_result", {"deployment_id": v2["id"], "ok": True},
                                      namespace="/agent", timeout=5)
        assert again["error"]["code"] == "deployment.not_deploying"
        assert bot.rec.of("agent:config_refused") == []
        # Bad answers change nothing.
        for bad, code in (({"deployment_id": "nope", "ok": True}, "validation.failed"),
                          ({"deployment_id": v2["id"]}, "validation.failed"),
                          ({"deployment_id": v1["id"], "ok": "yes"}, "validation.failed"),
                          ({"deployment_id": "00000000-0000-0000-0000-000000000000", "ok": True},
                           "deployment.not_found")):
            ack = await bot.client.call("agent:config_result", bad, namespace="/agent", timeout=5)
            assert ack["error"]["code"] == code, (bad, ack)
        # A stop ends what is pending or deploying, once.
        v3 = (await slow.api.post(f"/api/agents/{aid}/deployments", {"config": {"a": 3}}, token=alice)).body
        bot.rec.events.clear()
        r = await slow.api.post(f"/api/deployments/{v3['id']}/stop", token=alice)
        assert r.status == 200 and r.body["status"] == "stopped"
        assert (await slow.api.post(f"/api/deployments/{v3['id']}/stop", token=alice)).code == "deployment.finished"
        # The ack that comes after the stop is not taken.
        ack = await bot.client.call("agent:config_result", {"deployment_id": v3["id"], "ok": True},
                                    namespace="/agent", timeout=5)
        assert ack["error"]["code"] == "deployment.not_deploying"
        assert (await slow.api.get(f"/api/agents/{aid}/ops", token=alice)).body["config"] == {"a": 2}
    finally:
        await bot.close()


async def test_scheduled_deployment_starts_once_across_two_processes(make_server, database_url: str) -> None:
    one = await make_server(sweep_interval=0.05)
    two = await make_server(sweep_interval=0.05)
    api = one.api
    _, alice = await api.new_user("sched-alice")
    agent, key = await api.new_agent("sched-agent", token=alice)
    aid = agent["id"]
    bot = await Agent(two.url, key).connect()
    try:
        at = datetime.now(UTC) + timedelta(seconds=1)
        r = await api.post(f"/api/agents/{aid}/deployments", {
            "config": {"nightly": True}, "trigger_type": "scheduled", "scheduled_at": at.isoformat()}, token=alice)
        assert r.status == 201, r.body
        assert r.body["status"] == "pending" and r.body["scheduled_at"] is not None
        await asyncio.sleep(0.3)
        assert bot.rec.of("agent:config") == []  # not before its time
        await _status(api, alice, r.body["id"], "deployed")
        await asyncio.sleep(0.5)  # both processes kept sweeping
        # Pushed once: one process claimed it; the other found it started already.
        assert [p["deployment_id"] for p in bot.rec.of("agent:config")] == [r.body["id"]]

        # A version scheduled before a newer one was deployed does not undo it when its time comes.
        at = datetime.now(UTC) + timedelta(seconds=1)
        old = (await api.post(f"/api/agents/{aid}/deployments", {
            "config": {"nightly": "old"}, "trigger_type": "scheduled", "scheduled_at": at.isoformat()},
            token=alice)).body
        new = (await api.post(f"/api/agents/{aid}/deployments", {"config": {"hotfix": True}}, token=alice)).body
        assert new["version"] == old["version"] + 1
        await _status(api, alice, new["id"], "deployed")
        stopped = await _status(api, alice, old["id"], "stopped")
        assert f"version {new['version']} was deployed" in stopped["error_message"]
        ops = (await api.get(f"/api/agents/{aid}/ops", token=alice)).body
        assert ops["config"] == {"hotfix": True} and ops["deployed_version"] == new["version"]
    finally:
        await bot.close()


async def test_bad_deployment_payloads_change_nothing(arena, database_url: str) -> None:
    api = arena.api
    _, alice = await api.new_user("bad-alice")
    agent, key = await api.new_agent("bad-agent", token=alice)
    aid = agent["id"]
    past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    future = (datetime.now(UTC) + timedelta(minutes=1)).isoformat()
    cases = [
        ({}, ["config"]),
        ({"config": [1, 2]}, ["config"]),
        ({"config": {}, "trigger_type": "nightly"}, ["trigger_type"]),
        ({"config": {}, "trigger_type": "scheduled"}, []),
        ({"config": {}, "scheduled_at": future}, []),
        ({"config": {}, "trigger_type": "scheduled", "scheduled_at": past}, ["scheduled_at"]),
        ({"config": {}, "trigger_type": "scheduled", "scheduled_at": "2026-13-01T00:00:00Z"}, ["scheduled_at"]),
        ({"config": {}, "trigger_type": "scheduled", "scheduled_at": "9999-12-31T23:59:59-01:00"}, ["scheduled_at"]),
        ({"config": {}, "trigger_type": "scheduled", "scheduled_at": "2030-01-01T00:00:00"}, ["scheduled_at"]),
        ({"config": {}, "deployment_url": "javascript:alert(1)"}, ["deployment_url"]),
        ({"config": {}, "extra": 1}, ["extra"]),
    ]
    for body, loc in cases:
        r = await api.post(f"/api/agents/{aid}/deployments", body, token=alice)
        assert r.status == 422 and r.code == "validation.failed", (body, r.body)
        if loc:
            assert r.body["error"]["details"][0]["loc"][:1] == loc, (body, r.body)
    assert (await api.post(f"/api/agents/{aid}/deployments", {"config": {}}, token=key)).code == "ops.forbidden"
    assert (await api.post("/api/agents/not-a-uuid/deployments", {"config": {}}, token=alice)).code == \
        "validation.failed"
    assert (await api.get("/api/deployments/not-a-uuid", token=alice)).code == "validation.failed"
    assert (await api.get("/api/deployments/00000000-0000-0000-0000-000000000000", token=alice)).code == \
        "deployment.not_found"
    for body in ({"status": "error"}, {"type": "Has Spaces"}, {"config": "x"}, {"team": 1}):
        r = await api.patch(f"/api/agents/{aid}/ops", body, token=alice)
        assert r.status == 422 and r.code == "validation.failed", (body, r.body)
    for body in ({"name": ""}, {"slug": "x"}, {"name": "x", "slug": "-bad"}, {"name": "x", "slug": "ok",
                                                                              "plan": "gold"}):
        assert (await api.post("/api/teams", body, token=alice)).code == "validation.failed"
    assert await sql_value(database_url, "SELECT count(*) FROM deployments") == 0
    assert await sql_value(database_url, "SELECT count(*) FROM teams") == 0
    rows = await sql_rows(database_url, "SELECT status, type, config FROM agent_ops WHERE agent_id = $1", aid)
    assert (rows[0]["status"], rows[0]["type"], rows[0]["config"]) == ("inactive", "general", "{}")
