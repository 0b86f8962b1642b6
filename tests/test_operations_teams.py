"""Teams and roles: what an admin, an agent manager, a viewer and an outsider may do, the status rule
of agents as a fleet, and row-level security that keeps another team's rows out even when a check in
Python is missing."""

from __future__ import annotations

import asyncio
from uuid import UUID

import asyncpg
import pytest

from server.auth.actor import Actor
from server.operations import fleet, roles
from server.operations.scope import act_as

from .support import sql_rows, sql_value


async def _team(api, token: str, slug: str) -> dict:
    r = await api.post("/api/teams", {"name": slug.title(), "slug": slug}, token=token)
    assert r.status == 201, r.body
    return r.body


async def _member(api, admin: str, team_id: str, username: str, role: str) -> dict:
    r = await api.post(f"/api/teams/{team_id}/members", {"username": username, "role": role}, token=admin)
    assert r.status == 201, r.body
    return r.body


async def test_roles_decide_who_may_do_what(arena, database_url: str) -> None:
    api = arena.api
    alice_user, alice = await api.new_user("ops-alice")
    bob_user, bob = await api.new_user("ops-bob")
    carol_user, carol = await api.new_user("ops-carol")
    _, dave = await api.new_user("ops-dave")
    agent_a, key_a = await api.new_agent("ops-agent-a", token=alice)
    agent_c, _ = await api.new_agent("ops-agent-c", token=carol)
    agent_b, _ = await api.new_agent("ops-agent-b", token=bob)

    team = await _team(api, alice, "fleet-one")
    tid = team["id"]
    assert team["role"] == "admin" and team["member_count"] == 1 and team["created_by"] == "ops-alice"
    # Slugs are unique and well-formed; teams are people's.
    assert (await api.post("/api/teams", {"name": "x", "slug": "fleet-one"}, token=bob)).code == "team.slug_taken"
    r = await api.post("/api/teams", {"name": "x", "slug": "Bad Slug"}, token=bob)
    assert r.status == 422 and r.code == "validation.failed" and r.body["error"]["details"][0]["loc"] == ["slug"]
    assert (await api.post("/api/teams", {"name": "x", "slug": "by-agent"}, token=key_a)).code == "team.users_only"
    assert await sql_value(database_url, "SELECT count(*) FROM teams") == 1

    # An admin grants roles; who granted is recorded; the person is told.
    viewer = await _member(api, alice, tid, "ops-bob", "viewer")
    assert viewer["role"] == "viewer" and viewer["granted_by"] == "ops-alice"
    await _member(api, alice, tid, "ops-carol", "agent_manager")
    assert (await api.post(f"/api/teams/{tid}/members", {"username": "nobody-here", "role": "viewer"},
                           token=alice)).code == "user.not_found"
    assert (await api.post(f"/api/teams/{tid}/members", {"username": "ops-bob", "role": "admin"},
                           token=alice)).code == "team.already_member"
    assert (await api.post(f"/api/teams/{tid}/members", {"username": "ops-bob", "role": "owner"},
                           token=alice)).code == "validation.failed"
    for token in (bob, carol):  # only admins grant
        r = await api.post(f"/api/teams/{tid}/members", {"username": "ops-dave", "role": "viewer"}, token=token)
        assert r.status == 403 and r.code == "team.forbidden"
    note = await api.get("/api/notifications", token=bob)
    assert any(n["type"] == "team_invite" and n["data"]["team_id"] == tid for n in note.body["items"])

    # An outsider sees nothing of the team.
    for path in (f"/api/teams/{tid}", f"/api/teams/{tid}/members", f"/api/teams/{tid}/agents"):
        assert (await api.get(path, token=dave)).code == "team.not_found"
    assert (await api.get("/api/teams", token=dave)).body["items"] == []

    # Agents join a team by their owners, who are admins or agent managers of it.
    r = await api.post(f"/api/teams/{tid}/agents", {"agent_id": agent_a["id"]}, token=alice)
    assert r.status == 200 and r.body["team_id"] == tid and r.body["status"] == "inactive"
    assert (await api.post(f"/api/teams/{tid}/agents", {"agent_id": agent_c["id"]}, token=carol)).status == 200
    assert (await api.post(f"/api/teams/{tid}/agents", {"agent_id": agent_b["id"]}, token=bob)).code == \
        "team.forbidden"
    # Not your agent: refused even for an admin.
    assert (await api.post(f"/api/teams/{tid}/agents", {"agent_id": agent_b["id"]}, token=alice)).code == \
        "agent.not_found"

    board = await api.get(f"/api/teams/{tid}/agents", token=bob)
    assert board.status == 200
    assert sorted(a["name"] for a in board.body["items"]) == ["ops-agent-a", "ops-agent-c"]
    assert all(a["latest_deployment"] is None and a["workflow"] is None for a in board.body["items"])
    assert (await api.get(f"/api/agents/{agent_a['id']}/ops", token=bob)).body["team_id"] == tid
    assert (await api.get(f"/api/agents/{agent_a['id']}/ops", token=dave)).code == "agent.not_found"

    # A viewer looks; an agent manager steers the team's agents; the owner hears of the change.
    r = await api.patch(f"/api/agents/{agent_a['id']}/ops", {"status": "paused"}, token=bob)
    assert r.status == 403 and r.code == "ops.forbidden"
    assert await sql_value(database_url, "SELECT status FROM agent_ops WHERE agent_id = $1",
                           agent_a["id"]) == "inactive"
    r = await api.patch(f"/api/agents/{agent_a['id']}/ops", {"status": "active", "type": "websearch"}, token=carol)
    assert r.status == 200 and r.body["status"] == "active" and r.body["type"] == "websearch"
    r = await api.patch(f"/api/agents/{agent_a['id']}/ops", {"status": "paused"}, token=carol)
    assert r.body["status"] == "paused"
    # "error" is the arena's to set.
    assert (await api.patch(f"/api/agents/{agent_a['id']}/ops", {"status": "error"},
                            token=alice)).code == "validation.failed"
    changes = [n for n in (await api.get("/api/notifications", token=alice)).body["items"]
               if n["type"] == "agent_status_change"]
    assert [(n["data"]["new_status"], n["priority"]) for n in changes] == [("paused", "low"), ("active", "medium")]
    assert changes[1]["data"]["old_status"] == "inactive"

    # Roles change; the last admin stays one; a member may leave; an admin removes.
    r = await api.patch(f"/api/teams/{tid}/members/{alice_user['id']}", {"role": "viewer"}, token=alice)
    assert r.status == 409 and r.code == "team.last_admin"
    r = await api.delete(f"/api/teams/{tid}/members/{alice_user['id']}", token=alice)
    assert r.code == "team.last_admin"
    r = await api.patch(f"/api/teams/{tid}/members/{bob_user['id']}", {"role": "agent_manager"}, token=alice)
    assert r.status == 200 and r.body["role"] == "agent_manager"
    assert (await api.delete(f"/api/teams/{tid}/members/{alice_user['id']}", token=bob)).code == "team.forbidden"
    assert (await api.delete(f"/api/teams/{tid}/members/{carol_user['id']}", token=carol)).status == 204
    assert (await api.get(f"/api/teams/{tid}", token=carol)).code == "team.not_found"
    assert (await api.delete(f"/api/teams/{tid}/members/{bob_user['id']}", token=alice)).status == 204
    members = await api.get(f"/api/teams/{tid}/members", token=alice)
    assert [m["username"] for m in members.body["items"]] == ["ops-alice"]
    actions = [r["action"] for r in await sql_rows(
        database_url, "SELECT action FROM audit_logs WHERE resource_type = 'team' ORDER BY created_at, id")]
    assert actions[:3] == ["team.created", "team.member_added", "team.member_added"]
    assert "team.role_changed" in actions and actions.count("team.member_removed") == 2


async def test_the_team_room_is_for_members(arena, sockets) -> None:
    api = arena.api
    _, alice = await api.new_user("room-alice")
    _, eve = await api.new_user("room-eve")
    agent, key = await api.new_agent("room-agent", token=alice)
    tid = (await _team(api, alice, "room-team"))["id"]
    await api.post(f"/api/teams/{tid}/agents", {"agent_id": agent["id"]}, token=alice)

    watcher, rec = await sockets(arena.url, "/spectate", {"token": alice})
    ack = await watcher.call("room:watch", {"room": f"team:{tid}"}, namespace="/spectate", timeout=5)
    assert ack["ok"], ack
    assert [a["name"] for a in ack["data"]["snapshot"]["agents"]] == ["room-agent"]
    outsider, _ = await sockets(arena.url, "/spectate", {"token": eve})
    ack = await outsider.call("room:watch", {"room": f"team:{tid}"}, namespace="/spectate", timeout=5)
    assert not ack["ok"] and ack["error"]["code"] == "team.not_found"

    await api.patch(f"/api/agents/{agent['id']}/ops", {"status": "active"}, token=alice)
    [event] = await rec.wait_event("ops:agent")
    assert event["room"] == f"team:{tid}" and event["seq"] >= 1
    assert event["data"]["agent"]["status"] == "active"

    # The agent's sockets come and go: the team sees it.
    bot, _ = await sockets(arena.url, "/agent", {"api_key": key})
    [online] = await rec.wait_event("ops:presence")
    assert online["data"] == {"agent_id": agent["id"], "online": True}
    await bot.disconnect()
    offline = (await rec.wait_event("ops:presence", 2))[1]
    assert offline["data"] == {"agent_id": agent["id"], "online": False}

    # A member removed stops hearing the room at once, without unwatching.
    bob_user, bob = await api.new_user("room-bob")
    await api.post(f"/api/teams/{tid}/members", {"username": "room-bob", "role": "viewer"}, token=alice)
    bob_page, bob_rec = await sockets(arena.url, "/spectate", {"token": bob})
    assert (await bob_page.call("room:watch", {"room": f"team:{tid}"}, namespace="/spectate", timeout=5))["ok"]
    await api.patch(f"/api/agents/{agent['id']}/ops", {"status": "paused"}, token=alice)
    await bob_rec.wait_for(lambda evs: [d for e, d in evs if e == "ops:agent" and d["data"]["agent"]["status"]
                                        == "paused"])
    assert (await api.delete(f"/api/teams/{tid}/members/{bob_user['id']}", token=alice)).status == 204
    [left] = await bob_rec.wait_event("team:left")
    assert left == {"team_id": tid, "why": "removed"}
    await api.patch(f"/api/agents/{agent['id']}/ops", {"status": "active"}, token=alice)
    await rec.wait_for(lambda evs: [d for e, d in evs if e == "ops:agent" and d["seq"] > event["seq"]
                                    and d["data"]["agent"]["status"] == "active"])
    await asyncio.sleep(0.2)
    assert [d["data"]["agent"]["status"] for d in bob_rec.of("ops:agent")] == ["paused"]


async def test_row_security_keeps_other_teams_out_when_a_check_is_missing(arena, database_url: str,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    api = arena.api
    alice_user, alice = await api.new_user("rls-alice")
    _, bob = await api.new_user("rls-bob")
    a1, _ = await api.new_agent("rls-agent-a", token=alice)
    b1, _ = await api.new_agent("rls-agent-b", token=bob)
    ta = (await _team(api, alice, "team-a"))["id"]
    tb = (await _team(api, bob, "team-b"))["id"]
    assert (await api.post(f"/api/teams/{ta}/agents", {"agent_id": a1["id"]}, token=alice)).status == 200
    assert (await api.post(f"/api/teams/{tb}/agents", {"agent_id": b1["id"]}, token=bob)).status == 200
    for token, agent in ((alice, a1), (bob, b1)):
        r = await api.post(f"/api/agents/{agent['id']}/deployments", {"config": {"who": agent["name"]}}, token=token)
        assert r.status == 201, r.body
    await sql_rows(database_url, """
        INSERT INTO workflows (agent_id, name) SELECT id, name || ' flow' FROM agents WHERE id = ANY($1::uuid[])""",
                   [a1["id"], b1["id"]])
    await sql_rows(database_url, """
        INSERT INTO agent_metrics (agent_id, metric_type, value) SELECT id, 'cost', 1 FROM agents
        WHERE id = ANY($1::uuid[])""", [a1["id"], b1["id"]])
    await sql_rows(database_url, """
        INSERT INTO budgets (team_id, metric, period, limit_value) SELECT unnest($1::uuid[]), 'calls', 'day', 10""",
                   [ta, tb])
    await sql_rows(database_url, """
        INSERT INTO api_usage (user_id, agent_id, endpoint, method, status_code, created_at)
        SELECT NULL, id, '/x', 'GET', 200, now() FROM agents WHERE id = ANY($1::uuid[])""", [a1["id"], b1["id"]])

    # Every team-scoped table, read with no filter at all, as Alice: only team A's rows.
    conn = await asyncpg.connect(database_url)
    try:
        async with conn.transaction():
            await act_as(conn, Actor("user", UUID(alice_user["id"])))
            seen = {
                "teams": {r["slug"] for r in await conn.fetch("SELECT slug FROM teams")},
                "team_members": {str(r["team_id"]) for r in await conn.fetch("SELECT team_id FROM team_members")},
                "agent_ops": {str(r["agent_id"]) for r in await conn.fetch(
                    "SELECT agent_id FROM agent_ops WHERE team_id IS NOT NULL")},
                "deployments": {str(r["agent_id"]) for r in await conn.fetch("SELECT agent_id FROM deployments")},
                "workflows": {str(r["agent_id"]) for r in await conn.fetch("SELECT agent_id FROM workflows")},
                "agent_metrics": {str(r["agent_id"]) for r in await conn.fetch(
                    "SELECT agent_id FROM agent_metrics")},
                "budgets": {str(r["team_id"]) for r in await conn.fetch("SELECT team_id FROM budgets")},
            }
            # Usage: her own calls (written as they are flushed) and her team's agent's, never Bob's.
            usage = {str(r["who"]) for r in await conn.fetch(
                "SELECT DISTINCT coalesce(agent_id, user_id) AS who FROM api_usage")}
            assert a1["id"] in usage and usage <= {a1["id"], alice_user["id"]}
            assert seen == {"teams": {"team-a"}, "team_members": {ta}, "agent_ops": {a1["id"]},
                            "deployments": {a1["id"]}, "workflows": {a1["id"]}, "agent_metrics": {a1["id"]},
                            "budgets": {ta}}
            # Writes to team B's rows touch nothing; joining team B is refused by the database.
            assert await conn.execute("UPDATE deployments SET status = 'stopped'") == "UPDATE 1"
            assert await conn.execute("UPDATE agent_ops SET status = 'paused' WHERE agent_id = $1",
                                      UUID(b1["id"])) == "UPDATE 0"
            assert await conn.execute("DELETE FROM team_members WHERE team_id = $1",
                                      UUID(tb)) == "DELETE 0"
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                async with conn.transaction():
                    await conn.execute("INSERT INTO team_members (team_id, user_id, role) VALUES ($1, $2, 'admin')",
                                       UUID(tb), UUID(alice_user["id"]))
            raise _Rollback
    except _Rollback:
        pass
    finally:
        await conn.close()

    # The application's checks deliberately removed: Alice still gets nothing of team B over REST.
    async def allowed(*_args, **_kw) -> None:
        return None

    monkeypatch.setattr(roles, "require", lambda *a, **k: None)
    monkeypatch.setattr(fleet, "require_manage", allowed)
    board = await api.get(f"/api/teams/{tb}/agents", token=alice)
    assert board.status == 200 and board.body["items"] == []
    assert (await api.get(f"/api/agents/{b1['id']}/ops", token=alice)).code == "agent.not_found"
    assert (await api.get(f"/api/agents/{b1['id']}/deployments", token=alice)).code == "agent.not_found"
    r = await api.patch(f"/api/agents/{b1['id']}/ops", {"status": "paused"}, token=alice)
    assert r.code == "agent.not_found"
    r = await api.post(f"/api/agents/{b1['id']}/deployments", {"config": {"evil": True}}, token=alice)
    assert r.code == "agent.not_found"
    r = await api.post(f"/api/teams/{tb}/members", {"username": "rls-alice", "role": "admin"}, token=alice)
    assert r.status == 403 and r.code == "access.denied"  # the database refused the write
    assert await sql_value(database_url, "SELECT count(*) FROM team_members WHERE team_id = $1", tb) == 1
    assert await sql_value(database_url, "SELECT status FROM agent_ops WHERE agent_id = $1", b1["id"]) == "inactive"
    assert await sql_value(database_url, "SELECT count(*) FROM deployments WHERE agent_id = $1", b1["id"]) == 1


class _Rollback(Exception):
    pass


async def test_an_agent_made_from_a_template_starts_with_its_type_and_config(arena) -> None:
    api = arena.api
    _, alice = await api.new_user("tpl-ops-alice")
    bad = await api.post("/api/agent-templates", {"name": "x", "template_data": {"type": "Not A Type"}}, token=alice)
    assert bad.code == "validation.failed" and bad.body["error"]["details"][0]["loc"] == ["template_data", "type"]
    bad = await api.post("/api/agent-templates", {"name": "x", "template_data": {"default_config": [1]}},
                         token=alice)
    assert bad.code == "validation.failed"
    t = await api.post("/api/agent-templates", {"name": "Market watcher", "is_public": True, "template_data": {
        "type": "market", "default_config": {"symbols": ["ACME"], "interval_s": 60}}}, token=alice)
    assert t.status == 201, t.body
    assert t.body["template_data"]["type"] == "market"
    made = await api.post(f"/api/agent-templates/{t.body['id']}/use", {"name": "acme-watcher"}, token=alice)
    assert made.status == 201, made.body
    ops = await api.get(f"/api/agents/{made.body['agent_id']}/ops", token=alice)
    assert ops.status == 200, ops.body
    assert ops.body["type"] == "market" and ops.body["config"] == {"symbols": ["ACME"], "interval_s": 60}
    assert ops.body["status"] == "inactive" and ops.body["deployed_version"] is None
