"""The matchmaking queue: agents matched by rating within a window that widens with waiting, never two of
one owner, no immediate rematch, teams and free-for-alls, disconnects with a grace, waits that run out,
the REST twin, and exactly one match per agent with the queue swept by two processes."""

from __future__ import annotations

import asyncio
from collections import Counter

from server.battles.matchmaking import sweep_queue
from server.core import CORE
from tests.battle_support import FAST, Agent, make_agents
from tests.support import connect, eventually, sql_rows, sql_value

QUICK = {**FAST, "sweep_interval": 0.1}


async def matched(agent: Agent, timeout: float = 10) -> dict:
    return await agent.rec.wait_for(lambda evs: next((d for e, d in evs if e == "battle:matched"), None), timeout)


def was_matched(agent: Agent) -> bool:
    return bool(agent.rec.of("battle:matched"))


async def set_rating(database_url: str, agent: Agent, rating: float) -> None:
    await sql_value(database_url, "INSERT INTO agent_ratings (agent_id, rating) VALUES ($1, $2) "
                                  "ON CONFLICT (agent_id) DO UPDATE SET rating = $2 RETURNING 1", agent.id, rating)


async def test_two_agents_are_matched_into_a_battle_they_play(make_server) -> None:
    srv = await make_server(**QUICK)
    a, c = agents = await make_agents(srv.api, srv.url, "mq-a", "mq-c")
    lobby_client, lobby = await connect(srv.url, "/spectate")
    try:
        watched = await lobby_client.call("room:watch", {"room": "lobby:battles"}, namespace="/spectate")
        assert watched["data"]["snapshot"]["queue"] == {"counts": {"HEAD_TO_HEAD": 0, "TEAM": 0, "FREE_FOR_ALL": 0},
                                                        "total": 0}
        first = await a.ok("battle:queue", {"mode": "HEAD_TO_HEAD", "topic_pool": ["Alpha?", "Gamma?"],
                                            "options": {"max_turns": 2, "turn_duration_ms": 5000}})
        assert first["status"] == "waiting" and first["window"] >= 100 and first["options"]["max_turns"] == 2
        counts = (await srv.api.get("/api/battles/queue/counts")).body
        assert counts == {"counts": {"HEAD_TO_HEAD": 1, "TEAM": 0, "FREE_FOR_ALL": 0}, "total": 1}
        # Queuing again for the same keeps the place in the queue.
        again = await a.ok("battle:queue", {"mode": "HEAD_TO_HEAD", "topic_pool": ["Alpha?", "Gamma?"],
                                            "options": {"max_turns": 2, "turn_duration_ms": 5000}})
        assert again["enqueued_at"] == first["enqueued_at"]

        await c.ok("battle:queue", {"mode": "HEAD_TO_HEAD", "topic_pool": ["Beta?", "Alpha?"],
                                    "options": {"max_turns": 2, "turn_duration_ms": 5000}})
        got_a, got_c = await matched(a), await matched(c)
        assert got_a["battle"]["id"] == got_c["battle"]["id"]
        assert {got_a["seat"], got_c["seat"]} == {"A", "B"} and got_a["seat"] == "A"  # the older waiter anchors
        battle = got_a["battle"]
        assert battle["topic"] == "Alpha?" == got_a["topic"]  # the one both offered
        assert battle["max_turns"] == 2 and battle["turn_duration_ms"] == 5000
        # Both sockets are in the battle's room: they hear it start, and play it.
        for agent in agents:
            await agent.rec.wait_for(lambda evs: any(
                e == "battle:status" and d["data"]["status"] == "IN_PROGRESS" for e, d in evs), 10)
        status = (await srv.api.get("/api/battles/queue", token=a.key)).body
        assert status["status"] == "matched" and status["battle"]["id"] == battle["id"]
        # Queuing again (a retry after a lost connection, say) or leaving while the battle is on: the match.
        again = await a.ok("battle:queue", {"mode": "HEAD_TO_HEAD"})
        assert again["status"] == "matched" and again["battle"]["id"] == battle["id"]
        assert (await c.ok("battle:unqueue"))["battle"]["id"] == battle["id"]
        queue_events = [d["data"] for e, d in lobby.events if e == "lobby:queue"]
        assert [q["counts"]["HEAD_TO_HEAD"] for q in queue_events][-3:] == [1, 2, 0]
    finally:
        for agent in agents:
            await agent.close()
        await lobby_client.disconnect()


async def test_the_rating_window_widens_with_waiting(make_server, database_url) -> None:
    srv = await make_server(**QUICK, match_window_base=100, match_window_growth=100)
    low, high, near, far = agents = await make_agents(srv.api, srv.url, "rw-low", "rw-high", "rw-near", "rw-far")
    try:
        for agent, rating in zip(agents, (1500, 1900, 1560, 2200), strict=True):
            await set_rating(database_url, agent, rating)
        await low.ok("battle:queue", {"mode": "HEAD_TO_HEAD"})
        await high.ok("battle:queue", {"mode": "HEAD_TO_HEAD"})
        await near.ok("battle:queue", {"mode": "HEAD_TO_HEAD"})
        # 1500 and 1560 are within the first window; 1900 waits for its window to reach them.
        assert (await matched(low))["battle"]["id"] == (await matched(near))["battle"]["id"]
        await far.ok("battle:queue", {"mode": "HEAD_TO_HEAD"})
        got = await matched(high, 15)
        assert got["battle"]["id"] == (await matched(far))["battle"]["id"]
        waited = await sql_value(database_url, "SELECT extract(epoch FROM matched_at - enqueued_at) FROM battle_queue "
                                               "WHERE agent_id = $1", high.id)
        assert waited >= 2.0  # 300 points apart: a window of 100 + 100 per second took two seconds to reach
        assert {e["rating"] for e in await sql_rows(database_url, "SELECT rating FROM battle_queue")} == {
            1500, 1900, 1560, 2200}
    finally:
        for agent in agents:
            await agent.close()


async def test_never_two_agents_of_one_owner_and_no_immediate_rematch(make_server, database_url) -> None:
    srv = await make_server(**QUICK, match_window_growth=1000, match_rematch_after_seconds=600)
    core = srv.app[CORE]
    _, alice = await srv.api.new_user("mq-alice")
    mine1, mine2 = await make_agents(srv.api, srv.url, "mq-mine1", "mq-mine2", token=alice)
    other, third = await make_agents(srv.api, srv.url, "mq-other", "mq-third")
    agents = [mine1, mine2, other, third]
    try:
        quick = {"mode": "HEAD_TO_HEAD", "options": {"voting_duration_ms": 0, "judging_duration_ms": 100}}
        await mine1.ok("battle:queue", quick)
        await mine2.ok("battle:queue", quick)
        assert await sweep_queue(core) == 0
        await asyncio.sleep(0.5)  # a few background sweeps too
        assert not was_matched(mine1) and not was_matched(mine2)
        await other.ok("battle:queue", quick)
        first = await matched(other)
        assert {p["agent"]["name"] for p in first["battle"]["participants"]} == {"mq-mine1", "mq-other"}
        assert not was_matched(mine2)
        await mine2.ok("battle:unqueue")

        # While their battle is on, queuing again answers it; once it is over they may queue.
        again = await other.ok("battle:queue", quick)
        assert again["status"] == "matched" and again["battle"]["id"] == first["battle"]["id"]
        await other.ok("battle:leave", {"battle_id": first["battle"]["id"]})

        async def over() -> bool:
            r = await srv.api.get(f"/api/battles/{first['battle']['id']}")
            return r.body["battle"]["status"] in ("COMPLETED", "CANCELLED")

        await eventually(over, timeout=10, what="the battle left is over")
        # mine1 and other queue again: their last battle was against each other, so they wait (600 s).
        for agent in (mine1, other):
            agent.rec.events.clear()
            assert (await agent.ok("battle:queue", quick))["status"] == "waiting"
        assert await sweep_queue(core) == 0 or not was_matched(other)
        await asyncio.sleep(0.5)
        assert not was_matched(other)
        # mine2 comes back: the oldest waiter it may meet is other (mine1 has its owner).
        await mine2.ok("battle:queue", quick)
        got = await matched(mine2)
        assert {p["agent"]["name"] for p in got["battle"]["participants"]} == {"mq-mine2", "mq-other"}
        await third.ok("battle:queue", quick)
        got = await matched(third)
        assert {p["agent"]["name"] for p in got["battle"]["participants"]} == {"mq-mine1", "mq-third"}
    finally:
        for agent in agents:
            await agent.close()


async def test_team_and_free_for_all_groups(make_server, database_url) -> None:
    srv = await make_server(**QUICK, match_window_growth=1000, match_ffa_fill_seconds=0.5)
    names = [f"mg-{i}" for i in range(7)]
    agents = await make_agents(srv.api, srv.url, *names)
    try:
        for agent, rating in zip(agents[:4], (1800, 1700, 1600, 1500), strict=True):
            await set_rating(database_url, agent, rating)
        for agent in agents[:4]:
            await agent.ok("battle:queue", {"mode": "TEAM"})
        got = [await matched(a) for a in agents[:4]]
        assert len({g["battle"]["id"] for g in got}) == 1 and got[0]["battle"]["mode"] == "TEAM"
        teams = {a.name: g["team_id"] for a, g in zip(agents, got, strict=False)}
        assert teams["mg-0"] == teams["mg-3"] != teams["mg-1"] == teams["mg-2"]  # 1800+1500 against 1700+1600

        for agent in agents[4:]:
            await agent.ok("battle:queue", {"mode": "FREE_FOR_ALL"})
        got = [await matched(a) for a in agents[4:]]  # three, once the oldest waited half a second
        assert len({g["battle"]["id"] for g in got}) == 1
        assert got[0]["battle"]["max_participants"] == 3 and got[0]["battle"]["mode"] == "FREE_FOR_ALL"
    finally:
        for agent in agents:
            await agent.close()


async def test_a_disconnected_agent_waits_out_its_grace_and_a_wait_runs_out(make_server, database_url) -> None:
    srv = await make_server(**{**QUICK, "battle_grace_seconds": 1.0})
    core = srv.app[CORE]
    away, partner, late, waiter = await make_agents(srv.api, srv.url, "dq-away", "dq-partner", "dq-late",
                                                    "dq-waiter")
    try:
        await away.ok("battle:queue", {"mode": "HEAD_TO_HEAD"})
        await away.close()
        await eventually(lambda: sql_value(database_url, "SELECT grace_until IS NOT NULL FROM battle_queue "
                                                         "WHERE agent_id = $1", away.id), what="grace")
        await partner.ok("battle:queue", {"mode": "HEAD_TO_HEAD"})
        assert await sweep_queue(core) == 0  # not matched while away
        await away.connect(srv.url)  # back within the grace: matched now
        got = await matched(partner)
        assert {p["agent"]["name"] for p in got["battle"]["participants"]} == {"dq-away", "dq-partner"}

        await late.ok("battle:queue", {"mode": "HEAD_TO_HEAD"})
        await late.close()

        async def late_gone() -> bool:
            return await sql_value(database_url, "SELECT count(*) FROM battle_queue WHERE agent_id = $1", late.id) == 0

        assert not await late_gone()
        await eventually(late_gone, timeout=10, what="the queue let the absent agent go")
        assert (await srv.api.get("/api/battles/queue/counts")).body["total"] == 0

        # A wait that runs out: the agent hears it and is out of the queue.
        await waiter.ok("battle:queue", {"mode": "TEAM", "max_wait_s": 5})
        await sql_value(database_url, "UPDATE battle_queue SET expires_at = now() WHERE agent_id = $1 RETURNING 1",
                        waiter.id)
        gone = await waiter.rec.wait_for(lambda evs: next((d for e, d in evs if e == "battle:unqueued"), None))
        assert gone == {"reason": "timeout", "mode": "TEAM"}
        assert (await waiter.ok("battle:queue_status"))["status"] == "none"
    finally:
        for agent in (away, partner, late, waiter):
            await agent.close()


async def test_rest_twin_bad_input_and_a_refused_agent(make_server, database_url) -> None:
    srv = await make_server(**{**QUICK, "sweep_interval": 60})  # sweeps by hand (and when queuing wakes one)
    core = srv.app[CORE]
    api = srv.api
    rest_info, rest_key = await api.new_agent("rq-rest")
    sock, paused = await make_agents(api, srv.url, "rq-sock", "rq-paused")
    try:
        for body in ({"mode": "DUEL"}, {}, {"mode": "TEAM", "max_wait_s": 1}, {"mode": "TEAM", "topic_pool": [""]},
                     {"mode": "TEAM", "options": {"max_turns": 0}}, {"mode": "TEAM", "extra": 1},
                     {"mode": "TEAM", "topic_pool": ["t"] * 51}):
            r = await api.post("/api/battles/queue", body, token=rest_key)
            assert (r.status, r.code) == (422, "validation.failed"), (body, r.body)
            ack = await sock.call("battle:queue", body)
            assert ack["error"]["code"] == "validation.failed", body
        assert await sql_value(database_url, "SELECT count(*) FROM battle_queue") == 0
        assert (await api.post("/api/battles/queue", {"mode": "TEAM"})).code == "auth.required"

        r = await api.post("/api/battles/queue", {"mode": "HEAD_TO_HEAD", "topic_pool": ["REST?"]}, token=rest_key)
        assert r.status == 200 and r.body["status"] == "waiting"
        assert (await api.get("/api/battles/queue", token=rest_key)).body["status"] == "waiting"
        assert (await api.delete("/api/battles/queue", token=rest_key)).body == {
            **r.body, "status": "none", "mode": None, "options": None, "topic_pool": [], "rating": None,
            "enqueued_at": None, "expires_at": None, "waited_ms": None, "window": None, "connected": True,
            "battle": None}
        assert (await api.delete("/api/battles/queue", token=rest_key)).body["status"] == "none"

        # A paused agent is refused at once; one paused while it waits leaves the queue at its match.
        await sql_value(database_url, "UPDATE agent_ops SET status = 'paused' WHERE agent_id = $1 RETURNING 1",
                        paused.id)
        assert (await paused.call("battle:queue", {"mode": "HEAD_TO_HEAD"}))["error"]["code"] == "agent.paused"
        await sql_value(database_url, "UPDATE agent_ops SET status = 'active' WHERE agent_id = $1 RETURNING 1",
                        paused.id)
        await paused.ok("battle:queue", {"mode": "HEAD_TO_HEAD"})
        await sql_value(database_url, "UPDATE agent_ops SET status = 'paused' WHERE agent_id = $1 RETURNING 1",
                        paused.id)
        await api.post("/api/battles/queue", {"mode": "HEAD_TO_HEAD", "topic_pool": ["REST?"]}, token=rest_key)
        await sweep_queue(core)  # (or the sweep its queuing woke)
        gone = await paused.rec.wait_for(lambda evs: next((d for e, d in evs if e == "battle:unqueued"), None))
        assert gone["reason"] == "refused" and gone["code"] == "agent.paused"
        assert await sql_value(database_url, "SELECT count(*) FROM battles") == 0
        await sock.ok("battle:queue", {"mode": "HEAD_TO_HEAD"})
        await sweep_queue(core)

        async def rest_matched() -> dict | None:
            body = (await api.get("/api/battles/queue", token=rest_key)).body
            return body if body["status"] == "matched" else None

        status = await eventually(rest_matched, what="the REST agent matched")
        assert status["status"] == "matched" and status["battle"]["topic"] == "REST?"
        assert status["battle"]["id"] == (await matched(sock))["battle"]["id"]
        assert rest_info["id"] in {p["agent"]["id"] for p in status["battle"]["participants"]}
    finally:
        for agent in (sock, paused):
            await agent.close()


async def test_two_processes_form_each_match_once(make_server, database_url) -> None:
    one = await make_server(**QUICK, match_window_growth=1000)
    two = await make_server(**QUICK, match_window_growth=1000)
    names = [f"mp-{i}" for i in range(10)]
    agents = []
    for i, name in enumerate(names):
        srv = one if i % 2 else two
        agents += await make_agents(srv.api, srv.url, name)
    try:
        await asyncio.gather(*(a.ok("battle:queue", {"mode": "HEAD_TO_HEAD"}) for a in agents))
        got = [await matched(a, 15) for a in agents]
        battles = Counter(g["battle"]["id"] for g in got)
        assert len(battles) == 5 and set(battles.values()) == {2}
        await asyncio.sleep(0.5)  # any second match would have been sent by now
        assert all(len(a.rec.of("battle:matched")) == 1 for a in agents)
        rows = await sql_rows(database_url, "SELECT battle_id, count(*) AS n FROM battle_participants GROUP BY 1")
        assert sorted(r["n"] for r in rows) == [2] * 5
        assert await sql_value(database_url, "SELECT count(*) FROM battles") == 5
    finally:
        for agent in agents:
            await agent.close()
