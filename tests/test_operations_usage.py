"""API usage and budgets: every REST call and socket event accounted under load with none lost at a
clean stop; budgets of an agent and of a team warn, then stop the agent's new battles and executions
(audited, notified), and let it go again when raised; a paused agent starts nothing."""

from __future__ import annotations

import asyncio
from uuid import uuid4

from .battle_support import FAST, make_agents, next_prompt
from .support import eventually, sql_rows, sql_value


async def test_every_call_and_event_is_accounted_and_none_is_lost_at_a_clean_stop(make_server, sockets,
                                                                                   database_url: str) -> None:
    # Flushes only every minute: whatever is written was written by the stop. Redis gets the time a busy
    # machine may need to open the connections 500 calls at once ask for (this test is about accounting,
    # not about refusing when Redis is slow: tests/test_outages.py is).
    srv = await make_server(usage_flush_seconds=60, rate_socket_event="10000/1", redis_timeout=5.0,
                            redis_pool_timeout=5.0)
    api = srv.api
    _, alice = await api.new_user("usage-alice")
    agent, key = await api.new_agent("usage-agent", token=alice)
    client, _ = await sockets(srv.url, "/agent", {"api_key": key})

    async def rest(i: int) -> int:
        return (await api.get("/api/me", token=key)).status

    async def event(i: int) -> dict:
        return await client.call("agent:config_result", {"deployment_id": str(uuid4()), "ok": True},
                                 namespace="/agent", timeout=10)

    statuses = await asyncio.gather(*(rest(i) for i in range(300)))
    acks = await asyncio.gather(*(event(i) for i in range(200)))
    bad = await asyncio.gather(*(client.call("agent:config_result", {"ok": 1}, namespace="/agent", timeout=10)
                                 for _ in range(20)))
    assert set(statuses) == {200}
    assert {a["error"]["code"] for a in acks} == {"deployment.not_found"}
    assert {a["error"]["code"] for a in bad} == {"validation.failed"}
    assert await sql_value(database_url, "SELECT count(*) FROM api_usage") == 0  # nothing written yet

    await client.disconnect()
    await srv.server.close()  # a clean stop
    rows = {(r["endpoint"], r["method"], r["status_code"]): r["n"] for r in await sql_rows(database_url, """
        SELECT endpoint, method, status_code, count(*) AS n FROM api_usage WHERE agent_id = $1
        GROUP BY 1, 2, 3""", agent["id"])}
    assert rows == {("/api/me", "GET", 200): 300, ("/agent agent:config_result", "EVENT", 404): 200,
                    ("/agent agent:config_result", "EVENT", 422): 20}
    owners = await sql_rows(database_url, "SELECT DISTINCT user_id FROM api_usage WHERE agent_id = $1", agent["id"])
    assert [str(r["user_id"]) for r in owners] == [agent["owner_id"]]
    assert await sql_value(database_url, "SELECT count(*) FROM api_usage WHERE response_time_ms IS NULL") == 0
    assert await sql_value(database_url, "SELECT last_activity IS NOT NULL FROM agent_ops WHERE agent_id = $1",
                           agent["id"])


async def test_budgets_warn_then_stop_the_agent_until_raised(make_server, database_url: str) -> None:
    srv = await make_server(**FAST, usage_flush_seconds=0.1)
    api = srv.api
    _, alice = await api.new_user("budget-alice")
    _, mallory = await api.new_user("budget-mallory")
    a, b = await make_agents(api, srv.url, "budget-a", "budget-b", token=alice)
    try:
        r = await api.post(f"/api/agents/{a.id}/budgets", {"metric": "tokens", "period": "day", "limit": 100,
                                                          "warn_at": [0.5]}, token=alice)
        assert r.status == 201, r.body
        budget = r.body
        assert budget["used"] == 0 and budget["share"] == 0 and budget["exhausted_at"] is None
        assert (await api.post(f"/api/agents/{a.id}/budgets", {"metric": "tokens", "period": "day", "limit": 5},
                               token=alice)).code == "budget.exists"
        assert (await api.post(f"/api/agents/{a.id}/budgets", {"metric": "tokens", "period": "day", "limit": 5},
                               token=mallory)).code == "agent.not_found"

        # Reported tokens count: past half, the owner is warned.
        assert (await a.ok("agent:metrics", {"points": [{"type": "tokens", "value": 60, "unit": "tokens"}]})) == {
            "accepted": 1}

        async def notes(kind: str) -> list[dict]:
            return [n for n in (await api.get("/api/notifications", token=alice)).body["items"] if n["type"] == kind]

        [warning] = await eventually(lambda: notes("budget_warning"), what="a budget warning")
        assert warning["priority"] == "medium" and warning["data"]["share"] == 0.6

        # A battle turn's tokens are derived into the agent's series and charged: the budget is used up.
        battle = await a.ok("battle:create", {"topic": "Budgets", "max_turns": 2})
        await b.ok("battle:join", {"room_code": battle["room_code"]})
        for n in (1, 2):
            who, _ = await next_prompt([a, b], n)
            await who.ok("battle:turn", {"battle_id": battle["id"], "content": f"turn {n}", "tokens": 50})
        [gone] = await eventually(lambda: notes("budget_exhausted"), what="an exhausted budget")
        assert gone["priority"] == "critical" and gone["data"]["used"] == 110
        audit = await sql_rows(database_url, "SELECT actor_type, details FROM audit_logs WHERE action = "
                                             "'budget.exhausted'")
        assert [r["actor_type"] for r in audit] == ["system"]

        # New battles and executions of the agent are refused, clearly; the other agent goes on.
        ack = await a.call("battle:create", {"topic": "Again", "max_turns": 2})
        assert not ack["ok"] and ack["error"]["code"] == "budget.exhausted"
        details = ack["error"]["details"]
        assert details["metric"] == "tokens" and details["used"] == 110 and details["limit"] == 100
        assert details["retry_after"] >= 1
        r = await api.post("/api/executions", {"input_type": "text", "input_value": "x"}, token=a.key)
        assert r.status == 429 and r.code == "budget.exhausted" and r.headers.get("Retry-After")
        assert await sql_value(database_url, "SELECT count(*) FROM executions WHERE agent_id = $1", a.id) == 0
        assert (await b.call("battle:create", {"topic": "Fine", "max_turns": 2}))["ok"]
        seen = (await api.get(f"/api/agents/{a.id}/budgets", token=alice)).body["items"][0]
        assert seen["used"] == 110 and seen["exhausted_at"] is not None

        # Lowered below what was used: still exhausted (no overflow however far past the limit).
        r = await api.patch(f"/api/budgets/{budget['id']}", {"limit": 5}, token=alice)
        assert r.status == 200 and r.body["share"] == 22 and r.body["exhausted_at"] is not None
        # Raised: judged again at once, and the agent may start again.
        r = await api.patch(f"/api/budgets/{budget['id']}", {"limit": 1000}, token=alice)
        assert r.status == 200 and r.body["exhausted_at"] is None and r.body["limit"] == 1000
        assert (await a.call("battle:create", {"topic": "Raised", "max_turns": 2}))["ok"]

        # Far past the (raised) limit in one report: exhausted again, told again, and nothing overflows.
        assert (await a.ok("agent:metrics", {"points": [{"type": "tokens", "value": 9e11}]}))["accepted"] == 1
        async def twice() -> list | None:
            found = await notes("budget_exhausted")
            return found if len(found) == 2 else None

        again = await eventually(twice, what="a second notice")
        assert again[0]["data"]["used"] == 9e11 + 110
        ack = await a.call("battle:create", {"topic": "Broke", "max_turns": 2})
        assert ack["error"]["code"] == "budget.exhausted" and ack["error"]["details"]["used"] == 9e11 + 110
        assert (await api.patch(f"/api/budgets/{budget['id']}", {"limit": 999_999_999_999}, token=alice)).status == 200

        # An agent does not steer itself: it cannot un-pause itself or deploy to itself.
        for body in ({"status": "active"}, {"config": {"x": 1}}):
            r = await api.patch(f"/api/agents/{a.id}/ops", body, token=a.key)
            assert r.status == 403 and r.code == "ops.forbidden", r.body
        r = await api.post(f"/api/agents/{a.id}/workflows", {"name": "self"}, token=a.key)
        assert r.code == "ops.forbidden"

        # Paused by its people: nothing new either.
        assert (await api.patch(f"/api/agents/{a.id}/ops", {"status": "paused"}, token=alice)).status == 200
        ack = await a.call("battle:create", {"topic": "Paused", "max_turns": 2})
        assert ack["error"]["code"] == "agent.paused"
        # Bad budgets change nothing.
        for body in ({"metric": "dollars", "period": "day", "limit": 1}, {"metric": "calls", "period": "year",
                                                                          "limit": 1},
                     {"metric": "calls", "period": "day", "limit": 1e12},
                     {"metric": "calls", "period": "day", "limit": 1e-9},
                     {"metric": "calls", "period": "day", "limit": 0}, {"metric": "calls", "period": "day",
                                                                        "limit": 1, "warn_at": [1.5]},
                     {"metric": "calls", "period": "day"}):
            r = await api.post(f"/api/agents/{a.id}/budgets", body, token=alice)
            assert r.code == "validation.failed", (body, r.body)
        assert (await api.patch(f"/api/budgets/{budget['id']}", {"limit": -1}, token=alice)).code == \
            "validation.failed"
        assert (await api.patch(f"/api/budgets/{budget['id']}", {"limit": 5}, token=mallory)).code == \
            "budget.not_found"
        assert await sql_value(database_url, "SELECT count(*) FROM budgets") == 1
        assert await sql_value(database_url, "SELECT limit_value FROM budgets") == 999_999_999_999
        for value in (1e13, -1e13):
            r = await api.post(f"/api/agents/{a.id}/metrics", {"points": [{"type": "tokens", "value": value}]},
                               token=alice)
            assert r.code == "validation.failed", r.body
    finally:
        for agent in (a, b):
            await agent.close()


async def test_a_team_budget_of_calls_stops_every_agent_of_the_team(make_server, sockets, database_url: str) -> None:
    srv = await make_server(usage_flush_seconds=0.1, sweep_interval=0.1)
    api = srv.api
    alice_user, alice = await api.new_user("tb-alice")
    vic_user, vic = await api.new_user("tb-vic")
    agent, key = await api.new_agent("tb-agent", token=alice)
    tid = (await api.post("/api/teams", {"name": "Budgeted", "slug": "budgeted"}, token=alice)).body["id"]
    await api.post(f"/api/teams/{tid}/agents", {"agent_id": agent["id"]}, token=alice)
    await api.post(f"/api/teams/{tid}/members", {"username": "tb-vic", "role": "viewer"}, token=alice)
    assert (await api.post(f"/api/teams/{tid}/budgets", {"metric": "calls", "period": "day", "limit": 5},
                           token=vic)).code == "team.forbidden"
    watcher, rec = await sockets(srv.url, "/spectate", {"token": vic})
    assert (await watcher.call("room:watch", {"room": f"team:{tid}"}, namespace="/spectate", timeout=5))["ok"]
    r = await api.post(f"/api/teams/{tid}/budgets", {"metric": "calls", "period": "day", "limit": 5}, token=alice)
    assert r.status == 201, r.body
    [made] = await rec.wait_event("ops:budget")
    assert made["data"]["budget"]["id"] == r.body["id"] and made["data"]["budget"]["used"] == 0

    for _ in range(5):
        assert (await api.get("/api/me", token=key)).status == 200

    async def refused() -> dict | None:
        r = await api.post("/api/executions", {"input_type": "text", "input_value": "x"}, token=key)
        return r.body if r.status == 429 else None

    body = await eventually(refused, what="the team's budget to stop the agent")
    assert body["error"]["code"] == "budget.exhausted" and body["error"]["details"]["team_id"] == tid
    budgets = (await api.get(f"/api/teams/{tid}/budgets", token=vic)).body["items"]
    assert budgets[0]["team_id"] == tid and budgets[0]["used"] >= 5 and budgets[0]["exhausted_at"]
    event = await rec.wait_for(lambda evs: [d for e, d in evs if e == "ops:budget"
                                            and d["data"]["budget"]["exhausted_at"]])
    assert event[-1]["data"]["budget"]["id"] == budgets[0]["id"]
    notes = (await api.get("/api/notifications", token=alice)).body["items"]
    assert [n["priority"] for n in notes if n["type"] == "budget_exhausted"] == ["critical"]
    # Only the admins are told of a team's budget.
    assert not [n for n in (await api.get("/api/notifications", token=vic)).body["items"]
                if n["type"].startswith("budget")]
    async def usage() -> dict | None:  # the refused execution is written with the next flush
        body = (await api.get(f"/api/teams/{tid}/usage", token=vic)).body
        return body if body["items"][0]["errors"] >= 1 else None

    seen = (await eventually(usage, what="the refusal in the usage"))["items"][0]
    assert seen["name"] == "tb-agent" and seen["calls"] >= 6 and seen["avg_ms"] is not None
    for query in ("from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z", "to=0001-01-01T00:00:00Z",
                  "from=9999-12-31T23:59:59-01:00", "from=2026-01-01T00:00:00"):
        r = await api.get(f"/api/teams/{tid}/usage?{query}", token=vic)
        assert r.code == "validation.failed", (query, r.body)

    # The team's budget stops its agent whoever asks: here its owner, who left the team, runs a
    # workflow of it (the gate reads past row security).
    await api.post(f"/api/teams/{tid}/members", {"username": "tb-vic", "role": "admin"}, token=alice)
    await api.patch(f"/api/teams/{tid}/members/{vic_user['id']}", {"role": "admin"}, token=alice)
    assert (await api.delete(f"/api/teams/{tid}/members/{alice_user['id']}", token=alice)).status == 204
    wf = await api.post(f"/api/agents/{agent['id']}/workflows", {"name": "w"}, token=alice)
    assert wf.status == 201, wf.body
    r = await api.post(f"/api/workflows/{wf.body['id']}/run", {}, token=alice)
    assert r.status == 429 and r.code == "budget.exhausted", r.body
