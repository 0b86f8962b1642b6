"""Whole battles through real sockets: head-to-head, team and free-for-all, with spectators."""

from __future__ import annotations

import asyncpg

from tests.battle_support import FAST, make_agents, play_turns
from tests.support import connect


async def test_head_to_head_battle_end_to_end(make_server, database_url: str) -> None:
    srv = await make_server(**FAST)
    alice, bob = await make_agents(srv.api, srv.url, "alice", "bob")
    spectator, seen = await connect(srv.url, "/spectate")
    try:
        battle = await alice.ok("battle:create", {"topic": "Tabs or spaces?", "max_turns": 4,
                                                  "voting_duration_ms": 500})
        assert battle["status"] == "LOBBY" and len(battle["room_code"]) == 6
        assert [p["seat"] for p in battle["participants"]] == ["A"]
        watch = await spectator.call("battle:watch", {"room_code": battle["room_code"]}, namespace="/spectate")
        assert watch["ok"] and watch["data"]["snapshot"]["battle"]["id"] == battle["id"]
        joined = await bob.ok("battle:join", {"room_code": battle["room_code"].lower()})
        assert joined["status"] == "STARTING"
        played = await play_turns([alice, bob], battle["id"], 1, 4)
        assert [name for name, _ in played] == ["alice", "bob", "alice", "bob"]
        assert [t["seat"] for _, t in played] == ["A", "B", "A", "B"]
        await seen.wait_for(lambda evs: any(e == "battle:status" and d["data"]["status"] == "VOTING"
                                            for e, d in evs))
        vote = await alice.ok("battle:vote", {"battle_id": battle["id"], "target_agent_id": bob.id,
                                              "idempotency_key": "alice-vote-1"})
        assert vote["target_seat"] == "B"
        aud = await spectator.call("battle:vote", {"battle_id": battle["id"], "target_seat": "B",
                                                   "idempotency_key": "aud-1"}, namespace="/spectate")
        assert aud["ok"], aud
        done = await seen.wait_for(lambda evs: next((d for e, d in evs if e == "battle:completed"), None),
                                   timeout=10)
        result = done["data"]["battle"]
        assert result["status"] == "COMPLETED" and result["winner_agent_id"] == bob.id
        assert result["decided_by"] == "votes" and result["winner_seat"] == "B"
        changes = {c["agent_id"]: c for c in done["data"]["rating_changes"]}
        assert changes[bob.id]["after"] > 1500 > changes[alice.id]["after"]
        # every room event the spectator saw is in seq order without gaps or duplicates
        seqs = [d["seq"] for e, d in seen.events if isinstance(d, dict) and "seq" in d]
        start = watch["data"]["last_seq"]
        assert seqs == list(range(start + 1, start + 1 + len(seqs)))
    finally:
        await alice.close()
        await bob.close()
        await spectator.disconnect()
    conn = await asyncpg.connect(database_url)
    try:
        turns = await conn.fetch("SELECT turn_number, timed_out FROM battle_turns ORDER BY turn_number")
        assert [(t["turn_number"], t["timed_out"]) for t in turns] == [(n, False) for n in range(1, 5)]
        assert await conn.fetchval("SELECT count(*) FROM rating_history") == 2
        assert await conn.fetchval("SELECT count(*) FROM battle_votes") == 2
    finally:
        await conn.close()
