"""The SDK's execution helpers (clients/python) against real servers: an executor and its watchers,
log batches stored once through dropped connections, how a run block ends, the owner's cancel, a
backlog longer than a page, and a watcher the arena dropped for falling behind."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from pathlib import Path
from typing import Any

import arena_client as sdk
import asyncpg
import pytest

from server.core import CORE, METRICS

LEVELS = ["debug", "info", "warning", "error", "critical"]


def seqs_of(events: list[dict]) -> list[int]:
    """Every seq handed out, in order (a log event counts once per line)."""
    out: list[int] = []
    for e in events:
        out += [ln["seq"] for ln in e["data"]["lines"]] if e["type"] == "execution:log" else [e["seq"]]
    return out


def lines_of(events: list[dict]) -> list[tuple[str, str]]:
    return [(ln["level"], ln["message"]) for e in events if e["type"] == "execution:log" for ln in e["data"]["lines"]]


async def collect(feed: sdk.ExecutionFeed, into: list[dict]) -> None:
    async for event in feed:  # ends after execution:ended
        into.append(event)


async def db_count(database_url: str, sql: str, *args: Any) -> int:
    conn = await asyncpg.connect(database_url)
    try:
        return await conn.fetchval(sql, *args)
    finally:
        await conn.close()


class Recording(sdk.Spectator):
    """A spectator that notes the events it calls (to see the feed page through a backlog)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.calls: list[str] = []

    async def call(self, event: str, payload: Any = None, **kwargs: Any) -> Any:
        self.calls.append(event)
        return await super().call(event, payload, **kwargs)


class LosesFirstLogAnswer(sdk.Client):
    """Its first log batch gets in, but the answer is lost: every websocket of the server is closed
    before it is read. The answers it does read are kept in ``acks``."""

    def __init__(self, *args: Any, server: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.server = server
        self.acks: list[tuple[str, dict]] = []
        self.dropped = False

    async def _call_once(self, event: str, payload: Any, timeout: float) -> Any:
        ack = await super()._call_once(event, payload, timeout)
        if event == "execution:log":
            self.acks.append((payload["idempotency_key"], ack["data"]))
            if not self.dropped:
                self.dropped = True
                await self.server.app[CORE].realtime.close_connections()
                raise sdk.ConnectionLost("the answer was lost")
        return ack


async def test_a_watcher_sees_every_line_once_and_in_order_through_reconnects(make_server, database_url) -> None:
    srv = await make_server()
    executor = sdk.Client(srv.url, name="sdk-executor")
    watcher, loud_watcher = Recording(srv.url), sdk.Spectator(srv.url)
    for c in (executor, watcher, loud_watcher):
        await c.start()
    written: list[tuple[str, str]] = []
    seen: list[dict] = []
    loud: list[dict] = []
    try:
        ex = await executor.executions.create("text", "hello", plan=["Fetch", "Count"], is_public=True,
                                              metadata={"by": "test"})
        assert (ex.state, ex.execution["total_steps"]) == ("planned", 2)
        feed = await watcher.executions.watch(ex.id)
        assert [s["id"] for s in feed.snapshot["steps"]] == ["1", "2"]
        follower = asyncio.create_task(collect(feed, seen))
        # at "error", batches with no line at that level never come: their seqs are gaps to ask about
        loud_feed = await loud_watcher.executions.watch(ex.id, min_level="error")
        loud_follower = asyncio.create_task(collect(loud_feed, loud))
        async with ex:
            for i in range(1500):
                level, message = LEVELS[i % 5], f"<b>line</b> {i} & more"
                ex.log(message, level, step_id="1", metadata={"i": i})
                written.append((level, message))
                if i % 300 == 299:  # changes between lines: they come after the lines written before them
                    await ex.step("1", "running", output=str(i))
                if i == 700:  # every websocket drops, the executor's and the watcher's, mid-run
                    await srv.app[CORE].realtime.close_connections()
                if i % 50 == 0:
                    await asyncio.sleep(0.01)
            for i in range(200):
                ex.log(f"quiet {i}", "debug")
                written.append(("debug", f"quiet {i}"))
            await ex.step("1", "completed")
            await ex.thought("root", "input", "the question", confidence=1)
            await ex.thought("leaf", "output", "the answer", parent_id="root", confidence=0.5)
            await ex.artifact("summary", "result", {"lines": 1500})
        assert ex.state == "completed"
        await asyncio.wait_for(follower, 30)
        await asyncio.wait_for(loud_follower, 30)
        assert watcher.calls.count("execution:watch") >= 2  # it watched again after the reconnect

        errors = await watcher.executions.logs(ex.id, min_level="error", limit=100)
        assert errors["more"] and len(errors["lines"]) == 100
        assert {ln["level"] for ln in errors["lines"]} == {"error", "critical"}
        snap = await watcher.executions.get(ex.id)
        assert {t["id"]: t["parent_id"] for t in snap["thoughts"]} == {"root": None, "leaf": "root"}
        assert snap["artifacts"][0]["data"] == {"lines": 1500}
        again = await watcher.executions.finished(ex.id)  # a late watcher: the replay, then the end
        assert again["status"] == "completed"
    finally:
        for c in (executor, watcher, loud_watcher):
            await c.close()
    assert lines_of(seen) == written  # every line, once, in the order written
    assert lines_of(loud) == [w for w in written if w[0] in ("error", "critical")]
    assert [e for e in loud if e["type"] != "execution:log"] == [e for e in seen if e["type"] != "execution:log"]
    seqs = seqs_of(seen)
    assert seqs == list(range(1, seqs[-1] + 1))  # every seq of the room, once, in order
    types = [e["type"] for e in seen]
    assert types[0] == "execution:created" and types[-1] == "execution:ended" and types.count("execution:ended") == 1
    assert seen[-1]["data"]["status"] == "completed"
    assert {"execution:step", "execution:thought", "execution:artifact"} <= set(types)
    assert await db_count(database_url, "SELECT count(*) FROM execution_logs") == 1700


async def test_a_batch_whose_answer_was_lost_is_sent_again_and_stored_once(make_server, database_url) -> None:
    srv = await make_server()
    agent = LosesFirstLogAnswer(srv.url, name="unlucky", server=srv)
    await agent.start()
    try:
        async with agent.executions.run("text", "x") as ex:
            for i in range(1200):
                ex.log(f"line {i}")
            await ex.flush()
    finally:
        await agent.close()
    assert ex.state == "completed"
    keys = [k for k, _ in agent.acks]
    first = agent.acks[0][1]
    retried = [a for k, a in agent.acks[1:] if k == keys[0]]
    assert len(retried) == 1 and retried[0]["duplicate"] and not first["duplicate"]
    assert (retried[0]["from_seq"], retried[0]["to_seq"]) == (first["from_seq"], first["to_seq"])
    assert len(set(keys)) == 3 and all(a["count"] <= 500 for _, a in agent.acks)  # 1200 lines: 3 batches
    assert await db_count(database_url, "SELECT count(*) FROM execution_logs") == 1200
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch("SELECT message FROM execution_logs ORDER BY seq")
    finally:
        await conn.close()
    assert [r["message"] for r in rows] == [f"line {i}" for i in range(1200)]


async def test_batches_cut_by_dropped_connections_are_stored_once(make_server, database_url) -> None:
    """Not staged: the connection is closed under a stream of batches, again and again."""
    srv = await make_server()
    async with sdk.Client(srv.url, name="streamer") as agent:
        async with agent.executions.run("text", "x") as ex:
            for i in range(6000):
                ex.log(f"line {i}", metadata={"pad": "x" * 200})
                if i % 1000 == 500:
                    await asyncio.sleep(0.02)  # let some batches be in flight
                    await srv.app[CORE].realtime.close_connections()
    assert ex.state == "completed"
    assert await db_count(database_url, "SELECT count(*) FROM execution_logs") == 6000
    assert await db_count(database_url, "SELECT count(DISTINCT message) FROM execution_logs") == 6000


async def test_the_run_block_ends_completed_failed_or_cancelled(make_server) -> None:
    srv = await make_server()
    async with sdk.Client(srv.url, name="blocky") as agent:
        async with agent.executions.run("text", "a") as ok:
            assert ok.state == "running"
            ok.log("fine")
            with pytest.raises(sdk.InvalidRequest):  # refused here, not with its whole batch
                ok.log("x" * 16_001)
        assert ok.state == "completed"

        with pytest.raises(ValueError, match="boom"):
            async with agent.executions.run("text", "b") as bad:
                for i in range(3):
                    bad.log(f"before the error {i}", "error")
                raise ValueError("boom")
        assert bad.state == "failed" and bad.execution["error_message"] == "ValueError: boom"

        async with agent.executions.run("text", "c") as stopped:
            stopped.log("stopping")
            raise sdk.Cancelled("changed my mind")
        assert stopped.state == "cancelled" and stopped.execution["error_message"] == "changed my mind"

        with pytest.raises(sdk.ArenaError) as late:
            bad.log("late")
        assert late.value.code == "execution.finished"
        for execution, lines in ((ok, 1), (bad, 3), (stopped, 1)):  # lines written before the end got in
            assert len((await agent.executions.logs(execution.id))["lines"]) == lines
            assert (await agent.executions.get(execution.id))["execution"]["status"] == execution.state
        ended = await agent.executions.finished(bad.id)
        assert (ended["status"], ended["error_message"]) == ("failed", "ValueError: boom")


async def test_a_cancel_from_the_owner_reaches_the_executor(make_server, database_url) -> None:
    srv = await make_server(execution_cancel_grace_seconds=30)
    _, token = await srv.api.new_user("owner")
    _, key = await srv.api.new_agent("obedient", token=token)

    async def cancel(execution_id: str) -> None:
        r = await srv.api.post(f"/api/executions/{execution_id}/cancel", {"reason": "enough"}, token=token)
        assert r.status == 200 and r.body["cancel_requested_at"] and r.body["status"] == "running", r.body

    async with sdk.Client(srv.url, api_key=key) as agent:
        told: list[str | None] = []
        loop = asyncio.get_running_loop()
        started = loop.time()
        async with agent.executions.run("text", "a long job") as ex:  # stopped where it waits
            ex.on_cancel(told.append)
            ex.log("working")
            asked = asyncio.create_task(cancel(ex.id))
            await asyncio.sleep(60)
            raise AssertionError("not stopped by the cancel")
        await asked
        assert loop.time() - started < 10  # acknowledged, long before the 30 s deadline
        assert ex.state == "cancelled" and ex.execution["error_message"] == "enough"
        assert told == ["enough"] and ex.cancelled.is_set() and ex.cancel_deadline is not None

        ticks = 0
        async with agent.executions.run("text", "a polite job", stop_on_cancel=False) as polite:
            asked = asyncio.create_task(cancel(polite.id))
            while ticks < 1000:
                ticks += 1
                polite.check_cancelled()  # raises Cancelled: the block ends cancelled, the error goes no further
                polite.log(f"tick {ticks}")
                await asyncio.sleep(0.02)
        await asked
        assert polite.state == "cancelled" and 1 < ticks < 500
        ended = await agent.executions.finished(polite.id)
        assert ended["status"] == "cancelled" and ended["previous"] == "running"
    assert await db_count(database_url, "SELECT count(*) FROM execution_logs WHERE execution_id = $1",
                          polite.id) == ticks - 1


async def test_a_long_backlog_is_read_page_by_page(make_server) -> None:
    srv = await make_server()
    written: list[tuple[str, str]] = []
    async with sdk.Client(srv.url, name="chatty") as agent:
        async with agent.executions.run("text", "many lines", is_public=True) as ex:
            for part in range(6):
                for i in range(450):
                    level = "warning" if i % 3 == 0 else "debug"
                    ex.log(f"{part}.{i}", level)
                    written.append((level, f"{part}.{i}"))
                await ex.flush()  # 1080 events in all: more than a watch answer holds
                await asyncio.gather(*(ex.step(f"s{part}.{n}", "pending") for n in range(180)))
    everything, warnings = Recording(srv.url), Recording(srv.url)
    for c in (everything, warnings):
        await c.start()
    try:
        seen: list[dict] = []
        feed = await everything.executions.watch(ex.id)
        assert feed.snapshot["execution"]["status"] == "completed"
        await asyncio.wait_for(collect(feed, seen), 30)
        loud: list[dict] = []
        await asyncio.wait_for(collect(warnings.executions.watch(ex.id, min_level="warning"), loud), 30)
    finally:
        for c in (everything, warnings):
            await c.close()
    assert "execution:logs" in everything.calls and everything.calls.count("execution:watch") >= 2
    assert lines_of(seen) == written
    seqs = seqs_of(seen)
    assert seqs == list(range(1, seqs[-1] + 1)) and seen[-1]["type"] == "execution:ended"
    assert lines_of(loud) == [w for w in written if w[0] == "warning"]
    events = [e["seq"] for e in seen if e["type"] != "execution:log"]
    assert [e["seq"] for e in loud if e["type"] != "execution:log"] == events  # every event, at any level
    assert len(events) == 1080 + 3  # created, running, 1080 steps, ended


WATCHER = """
import asyncio, json, sys
import arena_client as arena

async def main(url, execution_id):
    resyncs = []
    async with arena.Spectator(url) as spectator:
        @spectator.on("execution:resync")
        async def noted(data):
            resyncs.append(data)
        feed = await spectator.executions.watch(execution_id)
        print("watching", flush=True)
        seqs, types = [], []
        async for event in feed:
            seqs += [ln["seq"] for ln in event["data"]["lines"]] if event["type"] == "execution:log" else [event["seq"]]
            types.append(event["type"])
    print(json.dumps({"seqs": seqs, "resyncs": len(resyncs), "last": types[-1]}), flush=True)

asyncio.run(main(sys.argv[1], sys.argv[2]))
"""


async def test_a_watcher_dropped_for_falling_behind_watches_again(make_server, tmp_path: Path) -> None:
    """A watcher that stops reading (its process is stopped) is dropped by the arena with one
    execution:resync; once it reads again, it watches again and misses nothing."""
    srv = await make_server(watcher_queue=4)
    script = tmp_path / "watcher.py"
    script.write_text(WATCHER)
    async with sdk.Client(srv.url, name="firehose") as agent:
        ex = await agent.executions.create("text", "x", is_public=True)
        await ex.status("running")
        proc = await asyncio.create_subprocess_exec(sys.executable, str(script), srv.url, ex.id,
                                                    stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        try:
            assert await asyncio.wait_for(proc.stdout.readline(), 30) == b"watching\n", await proc.stderr.read()
            proc.send_signal(signal.SIGSTOP)
            slow = srv.app[METRICS].slow_watchers.labels("execution")
            line = "x" * 900
            for i in range(120):
                for j in range(500):
                    ex.log(f"{i}.{j}:{line}")
                await ex.flush()
                if slow._value.get() >= 1:
                    break
            assert slow._value.get() == 1
            proc.send_signal(signal.SIGCONT)
            for i in range(5):
                ex.log(f"after {i}")
            await ex.complete()
            out, err = await asyncio.wait_for(proc.communicate(), 60)
        finally:
            if proc.returncode is None:
                proc.send_signal(signal.SIGCONT)
                proc.kill()
    assert proc.returncode == 0, err.decode()[-3000:]
    got = json.loads(out.decode().strip().splitlines()[-1])
    assert got["resyncs"] == 1 and got["last"] == "execution:ended"
    assert got["seqs"] == list(range(1, got["seqs"][-1] + 1))
