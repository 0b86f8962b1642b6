"""The Python SDK (clients/python) against real servers: identities, typed errors, rate limits,
resuming exactly after reconnects, and a clean stop."""

from __future__ import annotations

import asyncio
import os
import signal
import stat
import sys
import uuid
from pathlib import Path

import arena_client as sdk
import asyncpg
import pytest

from server.core import CORE
from tests.battle_support import FAST
from tests.support import Api, eventually


@pytest.fixture
def config_dir(arena_config_dir: Path) -> Path:
    return arena_config_dir


async def test_an_identity_is_registered_once_kept_private_and_reused(arena, config_dir: Path, tmp_path) -> None:
    async with arena_client(arena.url, "keeper") as first:
        agent_id = first.agent_id
    modes = _modes(config_dir, "keeper.json")
    assert modes == [0o600] and not _modes(Path.cwd(), "*keeper*")  # kept private, never in the working tree
    assert set(_folder_modes(config_dir)) == {0o700}
    async with arena_client(arena.url, "keeper") as again:
        assert again.agent_id == agent_id  # the same agent, not a new registration
        with pytest.raises(sdk.ArenaError) as busy:  # a second copy at the same time
            await arena_client(arena.url, "keeper").start()
        assert busy.value.code == "client.identity_in_use"


async def test_a_name_someone_else_registered_is_refused_clearly(arena, api: Api) -> None:
    await api.new_agent("someone-else")
    with pytest.raises(sdk.NameTaken) as taken:
        await arena_client(arena.url, "someone-else").start()
    assert taken.value.code == "agent.name_taken" and "someone-else" in taken.value.message


async def test_refusals_become_typed_errors_carrying_their_code(arena) -> None:
    errors = sdk
    async with arena_client(arena.url, "typed") as agent:
        with pytest.raises(errors.InvalidRequest) as bad:
            await agent.call("battle:join", {"room_code": "!"})
        assert bad.value.code == "validation.failed" and bad.value.details[0]["loc"] == ["room_code"]
        with pytest.raises(errors.NotFound) as missing:
            await agent.battles.get(str(uuid.uuid4()))
        assert missing.value.code == "battle.not_found"
        with pytest.raises(errors.UnknownEvent):
            await agent.call("battle:teleport", {})
    with pytest.raises(errors.Unauthorized) as refused:
        await sdk.Client(arena.url, api_key="ak_000000000000_" + "x" * 43).start()
    assert refused.value.code == "auth.invalid_api_key"


async def test_rate_limited_calls_wait_out_retry_after(make_server) -> None:
    srv = await make_server(rate_socket_event="3/1")
    async with arena_client(srv.url, "eager") as agent:
        with pytest.raises(sdk.RateLimited) as limited:
            for _ in range(5):
                await agent.call("room:unwatch", {"room": "lobby:battles"}, attempts=1)
        assert limited.value.retry_after >= 1
        answers = [await agent.call("room:unwatch", {"room": "lobby:battles"}) for _ in range(6)]
    assert answers == [{"room": "lobby:battles"}] * 6  # waited as told, then let through


async def test_a_watcher_resumes_after_reconnects_with_every_event_once(make_server, database_url: str) -> None:
    srv = await make_server(**FAST)
    answered: list[tuple[str, int]] = []

    def fighter(name: str):
        client = sdk.Client(srv.url, name=name)

        @client.battles.on_turn
        async def on_turn(turn: sdk.Turn) -> str:
            answered.append((name, turn.number))
            await asyncio.sleep(0.1)  # so the connections are closed mid-battle, not after it
            return sdk.argue(turn)

        return client

    a, b = fighter("resume-a"), fighter("resume-b")
    spectator = sdk.Spectator(srv.url)
    for c in (a, b, spectator):
        await c.start()
    try:
        battle = await a.battles.create("Does it resume?", max_turns=12, turn_duration_ms=10000,
                                        voting_duration_ms=300)
        feed = await spectator.battles.watch(battle["id"])
        await b.battles.join(battle["room_code"])
        seen: list[dict] = []

        async def follow() -> None:
            async for event in feed:
                seen.append(event)
                if event["type"] == "battle:completed":
                    return

        follower = asyncio.create_task(follow())
        for turns in (3, 7):  # twice mid-battle, every websocket of the server is closed under them
            await eventually(lambda n=turns: len(answered) >= n, timeout=15)
            assert not follower.done()
            await srv.app[CORE].realtime.close_connections()
        await asyncio.wait_for(follower, 60)
    finally:
        for c in (a, b, spectator):
            await c.close()
    conn = await asyncpg.connect(database_url)
    try:
        stored = [r["seq"] for r in await conn.fetch("SELECT seq FROM room_events WHERE room = $1 ORDER BY seq",
                                                     f"battle:{battle['id']}")]
        turns = [(r["turn_number"], r["timed_out"]) for r in await conn.fetch(
            "SELECT turn_number, timed_out FROM battle_turns WHERE battle_id = $1 ORDER BY turn_number",
            uuid.UUID(battle["id"]))]
    finally:
        await conn.close()
    assert [e["seq"] for e in seen] == stored == list(range(1, len(stored) + 1))  # all, in order, once
    assert turns == [(n, False) for n in range(1, 13)]  # every turn answered, none lost to a reconnect
    assert len(answered) == len(set(answered))  # no turn answered twice, though prompts were re-sent


async def test_fighters_vote_and_give_feedback_through_the_helpers(make_server) -> None:
    srv = await make_server(**FAST)
    a, b = sdk.Client(srv.url, name="voter-a"), sdk.Client(srv.url, name="voter-b")
    for client in (a, b):
        client.battles.on_turn(_canned_turn)
        await client.start()
    try:
        battle = await a.battles.create("Vote for me", max_turns=2, voting_duration_ms=4000)
        await b.battles.join(battle["room_code"])
        feed = await a.battles.watch(battle["id"])
        async for event in feed:
            if event["type"] == "battle:status" and event["data"]["status"] == "VOTING":
                break
        votes = [await a.battles.vote(battle["id"], seat="B", idempotency_key="a-votes"),
                 await b.battles.vote(battle["id"], agent_id=a.agent_id)]
        assert [v["target_seat"] for v in votes] == ["B", "A"]
        assert await a.battles.vote(battle["id"], seat="B", idempotency_key="a-votes") == votes[0]  # a retry
        with pytest.raises(sdk.ArenaError) as again:
            await a.battles.vote(battle["id"], seat="B")
        assert again.value.code == "battle.already_voted"
        result = await a.battles.finished(battle["id"])
        assert result["battle"]["status"] == "COMPLETED"
        given = await a.battles.feedback(battle["id"], b.agent_id, 4, "well argued")
        assert (given["rating"], given["comment"], given["to_agent_id"]) == (4, "well argued", b.agent_id)
        with pytest.raises(sdk.ArenaError) as twice:
            await a.battles.feedback(battle["id"], b.agent_id, 5)
        assert twice.value.code == "battle.feedback_exists"
    finally:
        for client in (a, b):
            await client.close()


async def test_the_queue_helper_matches_and_a_spoken_answer_carries_its_audio(make_server) -> None:
    from tests.audio_support import wav

    srv = await make_server(**FAST)
    clip = wav(0.3)

    async def spoken(turn: sdk.Turn) -> sdk.Spoken:
        return sdk.Spoken(f"turn {turn.number}", clip)

    a, b = sdk.Client(srv.url, name="queue-a"), sdk.Client(srv.url, name="queue-b")
    a.battles.on_turn(spoken)
    b.battles.on_turn(_canned_turn)
    for client in (a, b):
        await client.start()
    try:
        got = await asyncio.gather(*(c.battles.queue("HEAD_TO_HEAD", topic_pool=["SDK?"], max_turns=2,
                                                     enable_tts=True, voting_duration_ms=300) for c in (a, b)))
        assert got[0]["battle"]["id"] == got[1]["battle"]["id"] and got[0]["topic"] == "SDK?"
        assert {g["seat"] for g in got} == {"A", "B"}
        result = await a.battles.finished(got[0]["battle"]["id"])
        turns = (await a.battles.get(got[0]["battle"]["id"]))["turns"]
        assert result["battle"]["status"] == "COMPLETED"
        spoken_turns = [t for t in turns if t["content"].startswith("turn ")]
        assert spoken_turns and all(t["audio_status"] == "ready" and t["audio_duration_ms"] == 300
                                    for t in spoken_turns)
        # A wait that runs out raises; leaving is fine any time.
        waiting = asyncio.ensure_future(a.battles.queue("FREE_FOR_ALL"))
        await eventually(lambda: a.battles._match is not None)
        await a.battles.unqueue()
        with pytest.raises(sdk.ArenaError) as left:
            await waiting
        assert left.value.code == "battle.unqueued"
    finally:
        for client in (a, b):
            await client.close()


async def _canned_turn(turn: sdk.Turn) -> str:
    return sdk.argue(turn)


async def test_a_feed_puts_events_in_order_and_asks_again_for_a_gap() -> None:
    """The ordering logic alone: events out of order and twice; a gap not filled in time is asked for."""
    asked: list[int] = []

    async def watch(room: str, since_seq: int, snapshot_only: bool) -> dict:
        asked.append(since_seq)
        if since_seq == 0:
            return {"snapshot": {}, "events": [], "last_seq": 0}
        return {"snapshot": {}, "events": [{"room": room, "seq": s} for s in (2, 3, 4)], "last_seq": 4}

    feed = sdk.Feed("battle:x", watch)
    await feed.watch()
    for seq in (1, 1, 3, 4):
        feed.offer({"room": "battle:x", "seq": seq})
    got = [(await feed.next(5))["seq"] for _ in range(4)]
    assert got == [1, 2, 3, 4] and asked == [0, 1]  # 2 never came live: fetched from seq 1
    feed.offer({"room": "battle:x", "seq": 3})
    feed.close()
    assert [e async for e in feed] == []


async def test_ctrl_c_stops_an_agent_cleanly(arena, tmp_path: Path, config_dir: Path) -> None:
    script = tmp_path / "waiting_bot.py"
    script.write_text("import arena_client as arena\narena.play()\n")
    env = {**os.environ, "ARENA_URL": arena.url, "ARENA_CONFIG_DIR": str(config_dir)}
    for sig in (signal.SIGINT, signal.SIGTERM):
        proc = await asyncio.create_subprocess_exec(sys.executable, str(script), cwd=tmp_path, env=env,
                                                    stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        try:
            while b"waiting for an opponent" not in (line := await asyncio.wait_for(proc.stdout.readline(), 30)):
                assert line, await proc.stderr.read()  # nobody joins: it waits in its lobby
            proc.send_signal(sig)
            _, err = await asyncio.wait_for(proc.communicate(), 30)
        finally:
            if proc.returncode is None:
                proc.kill()
        assert proc.returncode == 0, err
        assert b"Traceback" not in err and err.decode().strip().splitlines()[-1] == "stopped"


async def test_the_same_arena_behind_another_address_has_the_same_identities(make_server) -> None:
    """Identities are kept per arena (its id from GET /api/info), not per address."""
    one = await make_server()
    two = await make_server()  # another process, another port, the same database
    async with arena_client(one.url, "everywhere") as first:
        agent_id = first.agent_id
    async with arena_client(two.url, "everywhere") as second:
        assert second.agent_id == agent_id


async def test_a_stored_key_that_was_rotated_is_refused_clearly(arena, api) -> None:
    async with arena_client(arena.url, "rotated-away") as agent:
        agent_id, key = agent.agent_id, agent.identity.api_key
    assert (await api.post(f"/api/agents/{agent_id}/keys/rotate", token=key)).status == 201
    with pytest.raises(sdk.Unauthorized) as refused:
        await arena_client(arena.url, "rotated-away").start()
    assert refused.value.code == "auth.invalid_api_key" and "rotated or revoked" in refused.value.message


async def test_a_revoked_key_ends_the_client_instead_of_hanging(arena, api) -> None:
    agent = await arena_client(arena.url, "soon-revoked").start()
    try:
        battle = await agent.battles.create("Who revokes whom?")
        waiting = asyncio.create_task(agent.battles.finished(battle["id"]))
        await asyncio.sleep(0.2)
        assert (await api.post(f"/api/agents/{agent.agent_id}/keys/rotate", token=agent.identity.api_key)).status == 201
        with pytest.raises(sdk.Unauthorized) as ended:
            await asyncio.wait_for(waiting, 10)
        assert ended.value.code == "auth.session_revoked"
        with pytest.raises(sdk.Unauthorized):
            await agent.battles.list()
    finally:
        await agent.close()


async def test_an_arena_that_cannot_be_reached_is_one_line_not_a_traceback(tmp_path: Path, config_dir) -> None:
    from server.embedded import free_port

    script = tmp_path / "lonely_bot.py"
    script.write_text("import arena_client as arena\narena.play()\n")
    env = {**os.environ, "ARENA_URL": f"http://127.0.0.1:{free_port()}", "ARENA_CONFIG_DIR": str(config_dir)}
    proc = await asyncio.create_subprocess_exec(sys.executable, str(script), cwd=tmp_path, env=env,
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    _, err = await asyncio.wait_for(proc.communicate(), 60)
    lines = [line for line in err.decode().splitlines() if line.strip()]
    assert proc.returncode == 1 and len(lines) == 1, err
    assert lines[0].startswith("arena: client.disconnected: cannot reach the arena at http://127.0.0.1:")


async def test_a_feed_fills_one_gap_after_another_and_pages_through_a_long_history() -> None:
    """The ordering logic alone: two gaps one after the other, and a replay longer than a page."""
    history = [{"room": "r", "seq": s} for s in range(1, 2501)]
    asked: list[int] = []

    async def watch(room: str, since_seq: int, snapshot_only: bool) -> dict:
        asked.append(since_seq)
        return {"snapshot": {}, "events": history[since_seq:since_seq + 1000], "last_seq": 2500}

    feed = sdk.Feed("r", watch)
    await feed.watch()
    assert feed.last_seq == 2500 and asked == [0, 1000, 2000]  # page after page
    got = [(await feed.next(1))["seq"] for _ in range(2500)]
    assert got == list(range(1, 2501))

    live: list[int] = []
    history += [{"room": "r", "seq": s} for s in range(2501, 2507)]
    for seq in (2501, 2502, 2504, 2506, 2503):  # 2505 never comes live: a second gap behind the first
        feed.offer(history[seq - 1])
    live = [(await feed.next(5))["seq"] for _ in range(6)]
    assert live == list(range(2501, 2507)) and asked[-1] == 2504  # fetched from the last seq it had


def _folder_modes(folder: Path) -> list[int]:
    return [stat.S_IMODE(p.stat().st_mode) for p in folder.rglob("*") if p.is_dir()]


def _modes(folder: Path, pattern: str) -> list[int]:
    return [stat.S_IMODE(p.stat().st_mode) for p in folder.rglob(pattern)]


def arena_client(url: str, name: str) -> sdk.Client:
    return sdk.Client(url, name=name)
