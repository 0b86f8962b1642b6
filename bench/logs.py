"""Log streaming benchmark: one executor, 200,000 lines, ten watchers tailing, one watcher that reads
nothing; against a raw COPY of the same rows into a scratch table of the same database, in the same run.

    .venv/bin/python bench/logs.py [--lines 200000] [--batch 500] [--watchers 10] [--window 4]

The script starts the embedded PostgreSQL and Redis in a temporary directory and one server process
(``python -m server serve``) on them. Then:

- an executor agent (a bare websocket on /agent, its packets encoded before the clock starts) sends
  ``--lines`` lines in batches of ``--batch`` (``execution:log``), keeping ``--window`` batches in
  flight;
- ``--watchers`` watchers tail the public execution on /spectate (bare websockets that only find each
  batch's first line, so this process's CPU goes to the server, not to JSON decoding);
- an extra watcher (tests/stalled.py) watches and then reads nothing at all.

Figures:

- lines/s: lines persisted and delivered to every watcher per second (first send to the last
  watcher's receipt of the last line);
- p50/p99: from a batch's send (the executor's clock) to its arrival at a watcher, over every
  (batch, watcher) pair;
- raw COPY: the same rows written by ``copy_records_to_table`` into a scratch table shaped like
  ``execution_logs`` (its primary key and index), one COPY per batch on one connection, measured
  right after the streaming run against the same database; and one COPY of all rows at once;
- ratio: our lines/s over the raw COPY's (per batch);
- memory: the server process's RSS before the run, its peak during it and after it, and whether the
  stalled watcher was told to resync (it was dropped from live delivery, so it costs nothing).

Targets (issue 9): >= 50,000 lines/s on one server process, >= 0.5 of raw COPY, p99 < 250 ms, server
memory flat (within 10 MB) with the stalled watcher.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import asyncpg
import psutil
import socketio

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path[:0] = [str(ROOT), str(BENCH)]

from fanout import HOST, ServerProcess, free_port, percentile  # noqa: E402

from server.embedded import EmbeddedPostgres, EmbeddedRedis  # noqa: E402
from tests.stalled import StalledWatcher  # noqa: E402

# python-socketio encodes compactly: "to_seq":123
FIRST = re.compile(r'"message":"b(\d+) ')
SEQ = re.compile(r'"to_seq":(\d+)')


class BareSocket:
    """A bare Engine.IO websocket on one namespace: it answers pings and hands every other text
    message to ``on_text``, so this process's CPU goes to the server, not to a client library."""

    namespace = "/"

    def __init__(self) -> None:
        self.http = aiohttp.ClientSession()
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        self._task: asyncio.Task | None = None

    async def connect(self, url: str, auth: dict | None = None) -> None:
        self.ws = await self.http.ws_connect(url + "/socket.io/?EIO=4&transport=websocket", max_msg_size=0)
        await self.ws.receive_str()
        head = f"40{self.namespace},"
        await self.ws.send_str(head + (json.dumps(auth) if auth else ""))
        while not (await self.ws.receive_str()).startswith(head):
            pass

    def start_reading(self) -> None:
        self._task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for msg in self.ws:
            if msg.type != aiohttp.WSMsgType.TEXT:
                break
            if msg.data == "2":
                await self.ws.send_str("3")
            else:
                self.on_text(msg.data)

    def on_text(self, data: str) -> None:
        raise NotImplementedError

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        await self.http.close()


class Watcher(BareSocket):
    """A watcher on /spectate that notes when each batch arrives."""

    namespace = "/spectate"

    def __init__(self) -> None:
        super().__init__()
        self.arrivals: dict[int, float] = {}
        self.last_seq = 0
        self.resyncs = 0

    async def open(self, url: str, execution_id: str) -> None:
        await self.connect(url)
        await self.ws.send_str(f'42/spectate,1["execution:watch",{{"execution_id":"{execution_id}"}}]')
        while not (await self.ws.receive_str()).startswith("43/spectate,1"):
            pass
        self.start_reading()

    def on_text(self, data: str) -> None:
        if data.startswith('42/spectate,["execution:log"'):
            now = time.time()
            # a group commit sends several batches as one event: each batch's first line is marked
            for first in FIRST.finditer(data):
                self.arrivals[int(first.group(1))] = now
            seq = SEQ.search(data, 0, 400)
            if seq:
                self.last_seq = max(self.last_seq, int(seq.group(1)))
        elif data.startswith('42/spectate,["execution:resync"'):
            self.resyncs += 1


class Executor(BareSocket):
    """The executor on /agent, sending packets encoded before the clock starts (the load generator
    shares the two cores with the server). Acks are matched by their id."""

    namespace = "/agent"

    def __init__(self) -> None:
        super().__init__()
        self.acks: dict[int, asyncio.Future[str]] = {}
        self.next_id = 0

    async def open(self, url: str, api_key: str) -> None:
        await self.connect(url, {"api_key": api_key})
        self.start_reading()

    def on_text(self, data: str) -> None:
        if data.startswith("43/agent,"):
            end = data.index("[", 9)
            fut = self.acks.pop(int(data[9:end]), None)
            if fut is not None and not fut.done():
                fut.set_result(data[end:])

    def encode(self, payload: dict) -> tuple[int, str]:
        self.next_id += 1
        return self.next_id, f"42/agent,{self.next_id}" + json.dumps(["execution:log", payload],
                                                                     separators=(",", ":"))

    async def call(self, ack_id: int, packet: str, timeout: float = 60) -> dict:
        fut = asyncio.get_running_loop().create_future()
        self.acks[ack_id] = fut
        await self.ws.send_str(packet)
        return json.loads(await asyncio.wait_for(fut, timeout))[0]


def make_lines(batch_index: int, size: int) -> list[dict]:
    levels = ("debug", "info", "info", "info", "warning", "error")
    lines = [{"level": levels[i % len(levels)], "metadata": {"i": i}, "step_id": "work",
              "message": f"step output {i}: processed record {batch_index * size + i}"} for i in range(size)]
    lines[0]["message"] = f"b{batch_index} " + lines[0]["message"]
    return lines


def encode_all(executor: Executor, execution_id: str, batches: int, size: int, offset: int = 0
               ) -> list[tuple[int, str]]:
    return [executor.encode({"execution_id": execution_id, "lines": make_lines(offset + i, size),
                             "idempotency_key": f"b{offset + i}"}) for i in range(batches)]


async def send_all(executor: Executor, packets: list[tuple[int, str]], window: int, sent: dict[int, float],
                   offset: int = 0) -> int:
    sem = asyncio.Semaphore(window)
    last = 0

    async def one(i: int) -> None:
        nonlocal last
        async with sem:
            sent[offset + i] = time.time()
            ack = await executor.call(*packets[i])
            if not ack.get("ok"):
                raise RuntimeError(f"batch {i}: {ack}")
            last = max(last, ack["data"]["to_seq"])

    await asyncio.gather(*(one(i) for i in range(len(packets))))
    return last


async def raw_copy(db_url: str, lines: int, size: int) -> tuple[float, float]:
    """Lines/s of COPY into a scratch table like execution_logs: one COPY per batch, and all at once."""
    conn = await asyncpg.connect(db_url)
    try:
        from server.db import _init_connection

        await _init_connection(conn)
        await conn.execute("DROP TABLE IF EXISTS bench_scratch_logs")
        await conn.execute("CREATE TABLE bench_scratch_logs (LIKE execution_logs INCLUDING DEFAULTS INCLUDING "
                           "CONSTRAINTS INCLUDING INDEXES)")
        eid = uuid.uuid4()
        now = datetime.now(UTC)
        rows = []
        for b in range(lines // size):
            for i, ln in enumerate(make_lines(b, size)):
                rows.append((eid, b * size + i + 1, {"debug": 10, "info": 20, "warning": 30, "error": 40}[ln["level"]],
                             ln["message"], ln["metadata"], ln["step_id"], now))
        cols = ("execution_id", "seq", "level", "message", "metadata", "step_id", "created_at")
        started = time.perf_counter()
        for b in range(0, len(rows), size):
            await conn.copy_records_to_table("bench_scratch_logs", records=rows[b:b + size], columns=cols)
        per_batch = len(rows) / (time.perf_counter() - started)
        await conn.execute("TRUNCATE bench_scratch_logs")
        started = time.perf_counter()
        await conn.copy_records_to_table("bench_scratch_logs", records=rows, columns=cols)
        at_once = len(rows) / (time.perf_counter() - started)
        await conn.execute("DROP TABLE bench_scratch_logs")
        return per_batch, at_once
    finally:
        await conn.close()


def _cpu(procs: list[psutil.Process]) -> float:
    total = 0.0
    for p in procs:
        with contextlib.suppress(psutil.Error):
            total += sum(p.cpu_times()[:2])
    return total


async def sample_rss(pid: int, peak: list[float], stop: asyncio.Event, samples: list[tuple[float, float]]) -> None:
    proc = psutil.Process(pid)
    while not stop.is_set():
        rss = proc.memory_info().rss / 2**20
        peak[0] = max(peak[0], rss)
        samples.append((time.time(), rss))
        await asyncio.sleep(0.05)


async def run(args: argparse.Namespace, data_dir: Path) -> int:
    pg = EmbeddedPostgres(data_dir)
    rd = EmbeddedRedis(data_dir)
    db_url = await pg.start()
    redis_url = await rd.start()
    port = free_port()
    env = {**os.environ, "DATABASE_URL": db_url, "REDIS_URL": redis_url, "SECRET_KEY": "bench-" + uuid.uuid4().hex,
           "RATE_SOCKET_EVENT": "100000/1", "RATE_REGISTER": "100000/60", "RATE_REST_WRITE": "100000/1",
           "LOG_LEVEL": "WARNING", "DB_POOL_MAX": "10"}
    server = ServerProcess("arena", [sys.executable, "-m", "server", "serve", "--host", HOST, "--port", str(port),
                                     "--data-dir", str(data_dir / "arena")], port, env, data_dir)
    watchers: list[Watcher] = []
    stalled = None
    sio = socketio.AsyncClient(reconnection=False)
    executor = Executor()
    try:
        await server.wait_ready(120)
        async with aiohttp.ClientSession() as http:
            async with http.post(f"{server.url}/api/agents", json={"name": f"bench-{uuid.uuid4().hex[:8]}"}) as r:
                key = (await r.json())["api_key"]
        await sio.connect(server.url, namespaces=["/agent"], auth={"api_key": key}, transports=["websocket"])
        ack = await sio.call("execution:create", {"input_type": "bench", "input_value": "log streaming",
                                                  "is_public": True}, namespace="/agent")
        eid = ack["data"]["id"]
        await sio.call("execution:status", {"execution_id": eid, "status": "running"}, namespace="/agent")
        await executor.open(server.url, key)
        for _ in range(args.watchers):
            w = Watcher()
            await w.open(server.url, eid)
            watchers.append(w)
        stalled = await StalledWatcher.open(HOST, port)
        assert (await stalled.watch("/spectate", eid))["ok"]

        # warm up (not counted): the same path, a tenth of the lines
        warm_sent: dict[int, float] = {}
        warm_batches = max(1, args.lines // args.batch // 10)
        warm = encode_all(executor, eid, warm_batches, args.batch, offset=1_000_000)
        warm_last = await send_all(executor, warm, args.window, warm_sent, offset=1_000_000)
        end = time.time() + 60
        while any(w.last_seq < warm_last for w in watchers) and time.time() < end:
            await asyncio.sleep(0.01)
        await asyncio.sleep(1)
        rss_before = psutil.Process(server.proc.pid).memory_info().rss / 2**20
        peak = [rss_before]
        stop = asyncio.Event()
        samples: list[tuple[float, float]] = []
        sampler = asyncio.create_task(sample_rss(server.proc.pid, peak, stop, samples))

        sent: dict[int, float] = {}
        batches = args.lines // args.batch
        packets = encode_all(executor, eid, batches, args.batch)
        me, srv = psutil.Process(), psutil.Process(server.proc.pid)
        pg_procs = [p for p in psutil.process_iter(["cmdline"]) if "postgres" in " ".join(p.info["cmdline"] or [])]
        cpu0 = (sum(me.cpu_times()[:2]), sum(srv.cpu_times()[:2]), _cpu(pg_procs))
        started = time.time()
        last = await send_all(executor, packets, args.window, sent)
        acked = time.time()
        while any(w.last_seq < last for w in watchers):
            if time.time() - acked > 60:
                raise RuntimeError("watchers did not receive everything in 60 s")
            await asyncio.sleep(0.002)
        delivered = max(max(w.arrivals.values()) for w in watchers)
        cpu1 = (sum(me.cpu_times()[:2]), sum(srv.cpu_times()[:2]), _cpu(pg_procs))
        await asyncio.sleep(1)
        stop.set()
        await sampler
        rss_after = psutil.Process(server.proc.pid).memory_info().rss / 2**20
        elapsed = delivered - started
        latencies = [(w.arrivals[i] - sent[i]) * 1000 for w in watchers for i in range(batches) if i in w.arrivals]
        missing = sum(1 for w in watchers for i in range(batches) if i not in w.arrivals)
        stalled_events = await stalled.drain_events(timeout=3)
        told = [d for n, d in stalled_events if n == "execution:resync"]

        per_batch, at_once = await raw_copy(db_url, args.lines, args.batch)
        ours = args.lines / elapsed
        print(f"lines: {args.lines} in batches of {args.batch}, {args.watchers} watchers + 1 stalled, "
              f"window {args.window}")
        print(f"persisted and delivered: {ours:,.0f} lines/s ({elapsed:.2f} s; acked after {acked - started:.2f} s)")
        print(f"send -> watcher: p50 {percentile(latencies, 50):.1f} ms, p99 {percentile(latencies, 99):.1f} ms, "
              f"max {max(latencies):.1f} ms over {len(latencies)} (batch, watcher) pairs; missing {missing}")
        print(f"raw COPY, same rows, same database: {per_batch:,.0f} lines/s per {args.batch}-row COPY, "
              f"{at_once:,.0f} lines/s in one COPY")
        print(f"ratio: {ours / per_batch:.2f} of per-batch COPY, {ours / at_once:.2f} of one COPY")
        wall = delivered - started
        print(f"CPU during the run: server {(cpu1[1] - cpu0[1]) / wall:.0%}, PostgreSQL "
              f"{(cpu1[2] - cpu0[2]) / wall:.0%}, this process (executor and watchers) {(cpu1[0] - cpu0[0]) / wall:.0%}"
              " of one core")
        half = next(r for t, r in samples if t >= started + wall / 2)
        print(f"server RSS: {rss_before:.1f} MB before, {half:.1f} MB halfway, peak {peak[0]:.1f} MB "
              f"(+{peak[0] - rss_before:.1f}), {rss_after:.1f} MB after (+{rss_after - rss_before:.1f}); "
              f"second half of the run: {rss_after - half:+.1f} MB")
        print(f"stalled watcher: {'told to resync from seq ' + str(told[0]['from_seq']) if told else 'NOT told'}; "
              f"it had {sum(1 for n, _ in stalled_events if n == 'execution:log')} batches queued")
        print(json.dumps({"lines_per_s": round(ours), "p99_ms": round(percentile(latencies, 99), 1),
                          "copy_per_batch": round(per_batch), "copy_at_once": round(at_once),
                          "ratio": round(ours / per_batch, 3), "rss_growth_mb": round(peak[0] - rss_before, 1),
                          "rss_second_half_mb": round(rss_after - half, 1)}))
        return 0
    finally:
        for w in watchers:
            await w.close()
        if stalled is not None:
            stalled.close()
        await executor.close()
        with contextlib.suppress(Exception):
            await sio.disconnect()
        server.stop()
        rd.stop()
        pg.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--watchers", type=int, default=10)
    parser.add_argument("--window", type=int, default=4, help="batches in flight at once")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="arena-bench-logs-") as tmp:
        return asyncio.run(run(args, Path(tmp)))


if __name__ == "__main__":
    sys.exit(main())
