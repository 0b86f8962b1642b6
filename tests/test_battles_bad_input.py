"""Every bad battle action answers a stable code and changes nothing in the database."""

from __future__ import annotations

import uuid

import asyncpg
import pytest

from tests.battle_support import FAST, make_agents, next_prompt


async def _state(url: str) -> tuple:
    """Everything a battle action could change, to compare before and after a refused one."""
    conn = await asyncpg.connect(url)
    try:
        tables = ["battles", "battle_participants", "battle_turns", "battle_votes", "agent_feedback",
                  "agent_ratings", "rating_history", "room_events", "rooms"]
        dumps = []
        for t in tables:
            rows = await conn.fetch(f"SELECT * FROM {t} ORDER BY 1")  # noqa: S608 - names from this list
            dumps.append([tuple(r.values()) for r in rows])
        return tuple(map(tuple, dumps))
    finally:
        await conn.close()


@pytest.fixture
async def running_battle(make_server, database_url):
    srv = await make_server(**FAST)
    a, c, outsider = await make_agents(srv.api, srv.url, "bi-a", "bi-c", "bi-out")
    b = await a.ok("battle:create", {"topic": "bad input", "max_turns": 4, "turn_duration_ms": 20000})
    await c.ok("battle:join", {"room_code": b["room_code"]})
    who, _ = await next_prompt([a, c], 1)
    assert who is a
    yield srv, b, a, c, outsider
    for x in (a, c, outsider):
        await x.close()


CASES = [
    ("battle:turn", lambda b, a, c, o: {"battle_id": b["id"], "content": "x" * 10001}, "c", "validation.failed"),
    ("battle:turn", lambda b, a, c, o: {"battle_id": b["id"], "content": "hi", "extra": 1}, "a",
     "validation.failed"),
    ("battle:turn", lambda b, a, c, o: {"battle_id": "nope", "content": "hi"}, "a", "validation.failed"),
    ("battle:turn", lambda b, a, c, o: {"battle_id": b["id"], "content": "hi", "cost": -1}, "a",
     "validation.failed"),
    ("battle:turn", lambda b, a, c, o: {"battle_id": b["id"], "content": "not mine"}, "c", "battle.not_your_turn"),
    ("battle:turn", lambda b, a, c, o: {"battle_id": b["id"], "content": "who?"}, "o", "battle.not_participant"),
    ("battle:turn", lambda b, a, c, o: {"battle_id": "00000000-0000-0000-0000-000000000000", "content": "x"}, "a",
     "battle.not_found"),
    ("battle:join", lambda b, a, c, o: {"room_code": b["room_code"]}, "o", "battle.wrong_state"),
    ("battle:join", lambda b, a, c, o: {"room_code": "ZZZZZZ"}, "o", "battle.not_found"),
    ("battle:join", lambda b, a, c, o: {"room_code": b["room_code"], "role": "judge"}, "o", "battle.role_disabled"),
    ("battle:start", lambda b, a, c, o: {"battle_id": b["id"]}, "a", "battle.wrong_state"),
    ("battle:vote", lambda b, a, c, o: {"battle_id": b["id"], "target_agent_id": c.id, "idempotency_key": "k"},
     "a", "battle.wrong_state"),
    ("battle:vote", lambda b, a, c, o: {"battle_id": b["id"], "idempotency_key": "k"}, "a", "validation.failed"),
    ("battle:judge", lambda b, a, c, o: {"battle_id": b["id"], "draw": True, "reasoning": "r"}, "o",
     "battle.not_judge"),
    ("battle:judge", lambda b, a, c, o: {"battle_id": b["id"], "draw": True, "winner_seat": "A",
                                         "reasoning": "r"}, "o", "validation.failed"),
    ("battle:commentary", lambda b, a, c, o: {"battle_id": b["id"], "turn_number": 1, "text": "t"}, "o",
     "battle.not_commentator"),
    ("battle:feedback", lambda b, a, c, o: {"battle_id": b["id"], "to_agent_id": c.id, "rating": 6}, "a",
     "validation.failed"),
    ("battle:feedback", lambda b, a, c, o: {"battle_id": b["id"], "to_agent_id": c.id, "rating": 5}, "a",
     "battle.wrong_state"),
    ("battle:leave", lambda b, a, c, o: {"battle_id": b["id"]}, "o", "battle.not_participant"),
    ("battle:create", lambda b, a, c, o: {"topic": ""}, "o", "validation.failed"),
    ("battle:create", lambda b, a, c, o: {"topic": "t" * 501}, "o", "validation.failed"),
    ("battle:create", lambda b, a, c, o: {"topic": "t", "mode": "HEAD_TO_HEAD", "max_participants": 3}, "o",
     "validation.failed"),
    ("battle:create", lambda b, a, c, o: {"topic": "t", "mode": "CHAOS"}, "o", "validation.failed"),
]


@pytest.mark.parametrize(("event", "payload", "who", "code"), CASES,
                         ids=[f"{e}-{code}-{i}" for i, (e, _, _, code) in enumerate(CASES)])
async def test_bad_battle_action_is_refused_and_changes_nothing(running_battle, database_url, event, payload, who,
                                                                 code) -> None:
    srv, b, a, c, outsider = running_battle
    actor = {"a": a, "c": c, "o": outsider}[who]
    before = await _state(database_url)
    ack = await actor.call(event, payload(b, a, c, outsider))
    assert ack["ok"] is False and ack["error"]["code"] == code, ack
    assert await _state(database_url) == before


async def test_transitions_outside_the_machine_are_refused(running_battle, database_url) -> None:
    from server.battles import state
    from server.battles.store import BattleRow
    from server.errors import AppError
    from server.realtime.outbox import Outbox

    srv, b, a, c, outsider = running_battle
    before = await _state(database_url)
    conn = await asyncpg.connect(database_url)
    try:
        row = BattleRow.model_validate(dict(await conn.fetchrow("SELECT * FROM battles WHERE id = $1",
                                                                __import__("uuid").UUID(b["id"]))))
        for target in ("LOBBY", "STARTING", "JUDGING", "COMPLETED", "CANCELLED"):
            with pytest.raises(AppError) as err:
                async with conn.transaction():
                    await state.transition(conn, Outbox(), row, [], target)
            assert err.value.code == "battle.invalid_transition"
            assert err.value.details == {"from": "IN_PROGRESS", "to": target}
    finally:
        await conn.close()
    assert await _state(database_url) == before


async def test_markup_is_stored_and_sent_exactly_as_written(running_battle, database_url) -> None:
    srv, b, a, c, outsider = running_battle
    evil = '<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2">&amp;'
    turn = await a.ok("battle:turn", {"battle_id": b["id"], "content": evil})
    assert turn["content"] == evil
    conn = await asyncpg.connect(database_url)
    try:
        assert await conn.fetchval("SELECT content FROM battle_turns WHERE turn_number = 1") == evil
    finally:
        await conn.close()
    got = await c.rec.wait_for(lambda evs: next((d for e, d in evs if e == "battle:turn"), None))
    assert got["data"]["content"] == evil


async def test_duplicate_and_self_votes(make_server, database_url) -> None:
    srv = await make_server(**FAST)
    _, owner = await srv.api.new_user("dv-owner")
    a, c = await make_agents(srv.api, srv.url, "dv-a", "dv-c", token=owner)
    d, e, f = await make_agents(srv.api, srv.url, "dv-d", "dv-e", "dv-f")
    try:
        b = await a.ok("battle:create", {"topic": "votes", "mode": "FREE_FOR_ALL", "max_participants": 4,
                                         "max_turns": 1, "voting_duration_ms": 20000})
        for x in (c, d, f):
            await x.ok("battle:join", {"room_code": b["room_code"]})
        who, _ = await next_prompt([a, c, d, f], 1)
        await who.ok("battle:turn", {"battle_id": b["id"], "content": "only turn"})
        await a.rec.wait_for(lambda evs: any(e == "battle:status" and x["data"]["status"] == "VOTING"
                                             for e, x in evs))
        before = await _state(database_url)
        me = await d.call("battle:vote", {"battle_id": b["id"], "target_agent_id": d.id, "idempotency_key": "s"})
        assert me["error"]["code"] == "battle.self_vote"
        outsider = await e.call("battle:vote", {"battle_id": b["id"], "target_agent_id": a.id,
                                                "idempotency_key": "o"})
        assert outsider["error"]["code"] == "battle.not_participant"
        # a and c have one owner: neither votes in a battle the other fights, for anyone.
        for target in (c, d):
            sibling = await a.call("battle:vote", {"battle_id": b["id"], "target_agent_id": target.id,
                                                   "idempotency_key": "sib"})
            assert sibling["error"]["code"] == "battle.conflict_of_interest"
        # Their owner, voting as a person, may not vote for one of them either.
        r = await srv.api.post(f"/api/battles/{b['id']}/votes", {"target_agent_id": c.id, "idempotency_key": "own"},
                               token=owner)
        assert r.code == "battle.same_owner_vote"
        bogus = await d.call("battle:vote", {"battle_id": b["id"], "target_seat": "H", "idempotency_key": "h"})
        assert bogus["error"]["code"] == "battle.invalid_target"
        assert await _state(database_url) == before
        ok = await d.ok("battle:vote", {"battle_id": b["id"], "target_agent_id": a.id, "idempotency_key": "real"})
        after_first = await _state(database_url)
        dup = await d.call("battle:vote", {"battle_id": b["id"], "target_agent_id": a.id, "idempotency_key": "x2"})
        assert dup["error"]["code"] == "battle.already_voted"
        retry = await d.ok("battle:vote", {"battle_id": b["id"], "target_agent_id": a.id,
                                           "idempotency_key": "real"})
        assert retry == ok
        assert await _state(database_url) == after_first
        # A key is its voter's: another voter's same key is its own vote, not the first one's.
        theirs = await f.ok("battle:vote", {"battle_id": b["id"], "target_agent_id": c.id,
                                            "idempotency_key": "real"})
        assert theirs["target_seat"] != ok["target_seat"]
        assert await _state(database_url) != after_first
    finally:
        for x in (a, c, d, e, f):
            await x.close()


async def test_a_battle_that_does_not_exist_is_battle_not_found_everywhere(arena, api, sockets) -> None:
    client, _ = await sockets(arena.url, "/spectate")
    for payload in ({"battle_id": str(uuid.uuid4())}, {"room_code": "ZZZZZZ"}):
        ack = await client.call("battle:watch", payload, namespace="/spectate", timeout=5)
        assert ack["error"]["code"] == "battle.not_found", payload
    r = await api.get(f"/api/rooms/battle:{uuid.uuid4()}/events")
    assert (r.status, r.code) == (404, "battle.not_found")
    r = await api.get("/api/battles/not-a-uuid")
    assert (r.status, r.code) == (422, "validation.failed")
    assert r.body["error"]["details"] == [{"loc": ["path", "battle_id"], "msg": "must be a UUID",
                                           "type": "uuid_parsing"}]
