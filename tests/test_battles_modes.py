"""Team and free-for-all battles, judge and commentator, blind voting, feedback and the leaderboard."""

from __future__ import annotations

import asyncio

from tests.battle_support import FAST, make_agents, next_prompt, play_turns
from tests.support import connect


async def test_team_battle_assigns_balanced_teams_and_votes_decide_by_team(make_server) -> None:
    srv = await make_server(**FAST)
    agents = await make_agents(srv.api, srv.url, "t-one", "t-two", "t-three", "t-four")
    a1, a2, a3, a4 = agents
    try:
        b = await a1.ok("battle:create", {"topic": "teams", "mode": "TEAM", "max_participants": 4, "max_turns": 4,
                                          "voting_duration_ms": 800})
        await a2.ok("battle:join", {"room_code": b["room_code"]})
        await a3.ok("battle:join", {"room_code": b["room_code"], "team_id": "red"})
        full = await a4.ok("battle:join", {"room_code": b["room_code"]})
        teams = {p["agent"]["name"]: p["team_id"] for p in full["participants"]}
        assert teams == {"t-one": "red", "t-two": "blue", "t-three": "red", "t-four": "blue"}
        assert full["status"] == "STARTING"
        played = await play_turns(agents, b["id"], 1, 4)
        assert [n for n, _ in played] == ["t-one", "t-two", "t-three", "t-four"]  # join order
        await a1.rec.wait_for(lambda evs: any(e == "battle:status" and d["data"]["status"] == "VOTING"
                                              for e, d in evs))
        # red members vote for blue (agents never vote for themselves); blue votes split
        await a1.ok("battle:vote", {"battle_id": b["id"], "target_agent_id": a2.id, "idempotency_key": "v1"})
        await a3.ok("battle:vote", {"battle_id": b["id"], "target_agent_id": a4.id, "idempotency_key": "v3"})
        await a2.ok("battle:vote", {"battle_id": b["id"], "target_agent_id": a1.id, "idempotency_key": "v2"})
        done = await a1.rec.wait_for(lambda evs: next((d for e, d in evs if e == "battle:completed"), None), 10)
        assert done["data"]["battle"]["winner_team_id"] == "blue"
        assert done["data"]["battle"]["winner_agent_id"] is None
        after = {c["agent_id"]: c["after"] for c in done["data"]["rating_changes"]}
        assert after[a2.id] > 1500 and after[a4.id] > 1500 and after[a1.id] < 1500 and after[a3.id] < 1500
    finally:
        for a in agents:
            await a.close()


async def test_team_join_errors(make_server) -> None:
    srv = await make_server(**FAST)
    agents = await make_agents(srv.api, srv.url, "tj-1", "tj-2", "tj-3")
    try:
        b = await agents[0].ok("battle:create", {"topic": "t", "mode": "TEAM", "max_participants": 4})
        await agents[1].ok("battle:join", {"room_code": b["room_code"], "team_id": "red"})
        full = await agents[2].call("battle:join", {"room_code": b["room_code"], "team_id": "red"})
        assert full["error"]["code"] == "battle.team_full"
        bad = await agents[2].call("battle:create", {"topic": "t", "mode": "TEAM", "max_participants": 5})
        assert bad["error"]["code"] == "validation.failed"
    finally:
        for a in agents:
            await a.close()


async def test_free_for_all_started_by_creator_and_decided_by_judge(make_server) -> None:
    srv = await make_server(**FAST)
    agents = await make_agents(srv.api, srv.url, "f-1", "f-2", "f-3", "f-judge", "f-talk")
    f1, f2, f3, judge, talker = agents
    try:
        b = await f1.ok("battle:create", {"topic": "ffa", "mode": "FREE_FOR_ALL", "max_participants": 5,
                                          "max_turns": 3, "voting_duration_ms": 200, "enable_judge": True,
                                          "enable_commentator": True})
        await f2.ok("battle:join", {"room_code": b["room_code"]})
        early = await f1.call("battle:start", {"battle_id": b["id"]})
        assert early["error"]["code"] == "battle.cannot_start"
        await f3.ok("battle:join", {"room_code": b["room_code"]})
        not_creator = await f2.call("battle:start", {"battle_id": b["id"]})
        assert not_creator["error"]["code"] == "battle.not_creator"
        await judge.ok("battle:join", {"room_code": b["room_code"], "role": "judge"})
        await talker.ok("battle:join", {"room_code": b["room_code"], "role": "commentator"})
        taken = await f3.call("battle:join", {"room_code": b["room_code"], "role": "judge"})
        assert taken["error"]["code"] in ("battle.role_taken", "battle.conflict_of_interest")
        started = await f1.ok("battle:start", {"battle_id": b["id"]})
        assert started["status"] == "STARTING"
        for n in range(1, 4):
            who, _ = await next_prompt([f1, f2, f3], n)
            await who.ok("battle:turn", {"battle_id": b["id"], "content": f"point {n}"})
            req = await talker.rec.wait_for(lambda evs, n=n: next(
                (d for e, d in evs if e == "battle:commentary_request" and d["turn_number"] == n), None))
            assert req["turn"]["content"] == f"point {n}"
            await talker.ok("battle:commentary", {"battle_id": b["id"], "turn_number": n, "text": f"nice {n}"})
        again = await talker.call("battle:commentary", {"battle_id": b["id"], "turn_number": 1, "text": "x"})
        assert again["error"]["code"] == "battle.commentary_exists"
        req = await judge.rec.wait_for(lambda evs: next((d for e, d in evs if e == "battle:judge_request"), None),
                                       timeout=10)
        assert [t["content"] for t in req["transcript"]] == ["point 1", "point 2", "point 3"]
        assert [t["commentary"] for t in req["transcript"]] == ["nice 1", "nice 2", "nice 3"]
        impostor = await f1.call("battle:judge", {"battle_id": b["id"], "winner_seat": "A", "reasoning": "me"})
        assert impostor["error"]["code"] == "battle.not_judge"
        verdict = await judge.ok("battle:judge", {"battle_id": b["id"], "winner_agent_id": f3.id,
                                                  "reasoning": "the clearest argument"})
        assert verdict["status"] == "COMPLETED" and verdict["winner_agent_id"] == f3.id
        assert verdict["decided_by"] == "judge" and verdict["judge_reasoning"] == "the clearest argument"
        snap = await srv.api.get(f"/api/battles/{b['id']}")
        assert [t["commentary"] for t in snap.body["turns"]] == ["nice 1", "nice 2", "nice 3"]
        changes = {c["seat"]: c for c in snap.body["rating_changes"]}
        assert set(changes) == {"A", "B", "C"} and changes["C"]["after"] > changes["C"]["before"] == 1500
        prof = await srv.api.get(f"/api/agents/{f3.id}/profile")
        assert prof.body["wins"] == 1 and prof.body["history"][0]["rating_after"] > 1500
        loser = await srv.api.get(f"/api/agents/{f1.id}/profile")
        assert loser.body["losses"] == 1 and loser.body["provisional"] is True
    finally:
        for a in agents:
            await a.close()


async def test_blind_voting_hides_identities_until_voting_closes(make_server) -> None:
    srv = await make_server(**FAST)
    x, y = await make_agents(srv.api, srv.url, "blind-x", "blind-y")
    spectator, seen = await connect(srv.url, "/spectate")
    try:
        b = await x.ok("battle:create", {"topic": "blind", "max_turns": 2, "blind_voting": True,
                                         "voting_duration_ms": 600})
        assert b["blind"] is True and b["participants"][0]["agent"] is None
        watched = await spectator.call("battle:watch", {"battle_id": b["id"]}, namespace="/spectate")
        await y.ok("battle:join", {"room_code": b["room_code"]})
        await play_turns([x, y], b["id"], 1, 2)
        await seen.wait_for(lambda evs: any(e == "battle:status" and d["data"]["status"] == "VOTING"
                                            for e, d in evs))
        snap = (await srv.api.get(f"/api/battles/{b['id']}")).body
        text = str(snap) + str(seen.events) + str(watched)
        assert x.id not in text and y.id not in text and "blind-x" not in text and "blind-y" not in text
        assert [t["agent_id"] for t in snap["turns"]] == [None, None]
        vote = await spectator.call("battle:vote", {"battle_id": b["id"], "target_seat": "A",
                                                    "idempotency_key": "blind-aud"}, namespace="/spectate")
        assert vote["ok"] and vote["data"]["target_seat"] == "A"
        tally = await seen.wait_for(lambda evs: next((d for e, d in evs if e == "battle:tally"
                                                      and d["data"]["total"] == 1), None))
        assert tally["data"]["counts"] == {"A": 1, "B": 0}
        revealed = await seen.wait_for(lambda evs: next((d for e, d in evs if e == "battle:revealed"), None), 10)
        names = {p["seat"]: p["agent"]["name"] for p in revealed["data"]["participants"]}
        assert names == {"A": "blind-x", "B": "blind-y"}
        done = await seen.wait_for(lambda evs: next((d for e, d in evs if e == "battle:completed"), None), 10)
        assert done["data"]["battle"]["winner_agent_id"] == x.id
    finally:
        await x.close()
        await y.close()
        await spectator.disconnect()


async def test_feedback_and_reputation_and_leaderboard(make_server) -> None:
    srv = await make_server(**FAST)
    p, q = await make_agents(srv.api, srv.url, "fb-p", "fb-q")
    try:
        b = await p.ok("battle:create", {"topic": "fb", "max_turns": 2, "voting_duration_ms": 100})
        early = await p.call("battle:feedback", {"battle_id": b["id"], "to_agent_id": q.id, "rating": 5})
        assert early["error"]["code"] == "battle.wrong_state"
        await q.ok("battle:join", {"room_code": b["room_code"]})
        await play_turns([p, q], b["id"], 1, 2)
        await p.rec.wait_for(lambda evs: any(e == "battle:completed" for e, _ in evs), 10)
        fb = await p.ok("battle:feedback", {"battle_id": b["id"], "to_agent_id": q.id, "rating": 4,
                                            "comment": "sharp"})
        assert fb["rating"] == 4
        dup = await p.call("battle:feedback", {"battle_id": b["id"], "to_agent_id": q.id, "rating": 1})
        assert dup["error"]["code"] == "battle.feedback_exists"
        self_fb = await q.call("battle:feedback", {"battle_id": b["id"], "to_agent_id": q.id, "rating": 5})
        assert self_fb["error"]["code"] == "battle.invalid_target"
        await q.ok("battle:feedback", {"battle_id": b["id"], "to_agent_id": p.id, "rating": 2})
        prof = (await srv.api.get(f"/api/agents/{q.id}/profile")).body
        assert prof["reputation"] == 4.0 and prof["feedback_count"] == 1 and prof["draws"] == 1
        board = (await srv.api.get("/api/leaderboard")).body
        assert {r["agent"]["name"] for r in board} == {"fb-p", "fb-q"}
        for row in board:
            assert row["provisional"] is True and row["elo"] == 1500.0  # a draw between equals
            assert row["bt_ci_low"] <= row["bt_score"] <= row["bt_ci_high"]
    finally:
        await p.close()
        await q.close()


async def test_lobby_idle_timeout_cancels(make_server) -> None:
    srv = await make_server(**{**FAST, "battle_lobby_timeout_seconds": 0.3})
    (lonely,) = await make_agents(srv.api, srv.url, "lonely")
    try:
        b = await lonely.ok("battle:create", {"topic": "anyone?"})
        ev = await lonely.rec.wait_for(lambda evs: next((d for e, d in evs if e == "battle:status"
                                                         and d["data"]["status"] == "CANCELLED"), None), 5)
        assert ev["data"]["previous"] == "LOBBY"
        late = await srv.api.get(f"/api/battles/{b['id']}")
        assert late.body["battle"]["status"] == "CANCELLED"
        await asyncio.sleep(0.1)
    finally:
        await lonely.close()
