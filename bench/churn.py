"""Many small rooms with connect/disconnect churn, the shape Centrifugo publishes its figures in.

    .venv/bin/python bench/churn.py [--sockets 10000] [--rooms 1000] [--rate 0.1] [--churn 2] [--seconds 30]

One ``arena serve`` (embedded PostgreSQL and Redis, on a fresh temporary data dir, started as
bench/fanout.py starts it). ``--rooms`` battles, each watched by ``--sockets / --rooms`` spectators:
light websocket clients in ``--workers`` processes (bench/room_spectators.py, built on
bench/spectators.py) that offer permessage-deflate as browsers do and each watch one battle on
``/spectate`` with ``battle:watch {snapshot_only: true}``, as the page does on a first visit.

Every battle is played at ``--rate`` turns per second (spread evenly, each room on its own schedule),
by two agents over REST (``POST /api/battles/{id}/turns``): no agent socket, so a room's members are
its spectators only. The same two agents sit in every battle (an agent may fight in any number of
battles at once). Meanwhile ``--churn`` percent of the sockets per second leave (a close frame) and as
many new ones connect in the same rooms and watch.

Measured over ``--seconds`` after ``--warmup`` seconds of play and churn:

- events/s: ``battle:turn`` + ``battle:turn_started`` events delivered to spectators per second;
- p50/p99 latency: a turn's submission (its content starts with ``@T<unix time>@``) to its
  ``battle:turn`` at a sampled spectator;
- turn POST p50/p99: the turn request's round trip;
- server RSS per socket: RSS growth of the server process from before the spectators connected to
  after (÷ sockets), as bench/ws_memory.py measures it; again after the churn;
- connects/s: replacement spectators that connected and had their watch acknowledged, per second,
  against the target; connect p50/p99 (TCP connect to watch ack);
- server CPU, its PostgreSQL + Redis CPU, the spectator workers' CPU and this process's CPU.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fanout import (  # noqa: E402
    BENCH,
    COUNTED,
    MAX_TURNS,
    TURN_DURATION_MS,
    ServerProcess,
    WorkerPool,
    _die_with_parent,
    free_port,
    make_pad,
    percentile,
    run_in_temp_dir,
    server_command,
)
from room_spectators import BrowserSpectator  # noqa: E402
from spectators import Stats  # noqa: E402

# On top of fanout.py's arena settings: every spectator comes from 127.0.0.1, so the per-address
# ceiling of anonymous spectators' events (5000/10 s) would refuse the watches of a big run.
LIFTED = {"RATE_SPECTATOR_ADDRESS": "100000000/1", "RATE_REST_WRITE": "100000000/1",
          "RATE_SOCKET_EVENT": "100000000/1", "RATE_REGISTER": "100000000/60"}


# -- processes -------------------------------------------------------------------------------------


class RoomWorkers(WorkerPool):
    """fanout.WorkerPool, running bench/room_spectators.py instead of bench/spectators.py."""

    async def start(self, count: int) -> None:
        for _ in range(count):
            self.procs.append(await asyncio.create_subprocess_exec(
                sys.executable, str(BENCH / "room_spectators.py"), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                limit=1 << 27, preexec_fn=_die_with_parent,
            ))


def start_arena(name: str, data_dir: Path, env: dict[str, str] | None = None) -> ServerProcess:
    """``python -m server serve`` as fanout.py starts it (its settings, our environment without
    DATABASE_URL / REDIS_URL: embedded services), on a free port, with LIFTED and ``env`` on top. Its
    data dir is ``arena_dir(data_dir, name)``, its log ``<data_dir>/<name>.log``."""
    port = free_port()
    argv, extra = server_command("arena", port, data_dir / name)
    base = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    return ServerProcess(name, argv, port, {**base, **extra, **LIFTED, **(env or {})}, data_dir)


def arena_dir(data_dir: Path, name: str) -> Path:
    return data_dir / name / "arena"  # where server_command puts it


def rss(pid: int) -> int:
    try:
        return psutil.Process(pid).memory_info().rss
    except psutil.Error:
        return 0


# -- agents and battles (REST) ---------------------------------------------------------------------


async def rest(http: aiohttp.ClientSession, method: str, url: str, key: str | None = None,
               json: dict | None = None) -> tuple[int, dict]:
    headers = {"Authorization": f"Bearer {key}"} if key else None
    async with http.request(method, url, json=json, headers=headers) as r:
        return r.status, await r.json(content_type=None)


async def register_agents(http: aiohttp.ClientSession, url: str) -> dict[str, str]:
    """Two agents; their API keys by the seat each takes in every battle (A creates, B joins)."""
    tag = uuid.uuid4().hex[:8]
    keys = {}
    for seat in "AB":
        status, body = await rest(http, "POST", f"{url}/api/agents", json={"name": f"churn-{seat.lower()}-{tag}"})
        if status != 201:
            raise RuntimeError(f"registering an agent failed: {status} {body}")
        keys[seat] = body["api_key"]
    return keys


async def create_battles(http: aiohttp.ClientSession, url: str, keys: dict[str, str], count: int,
                         concurrency: int = 8) -> list[str]:
    """``count`` head-to-head battles with both agents seated (they start after BATTLE_START_DELAY_MS)."""
    sem = asyncio.Semaphore(concurrency)

    async def one(_: int) -> str:
        async with sem:
            status, b = await rest(http, "POST", f"{url}/api/battles", keys["A"], {
                "topic": "churn bench", "max_turns": MAX_TURNS, "turn_duration_ms": TURN_DURATION_MS,
                "voting_duration_ms": 0})
            if status != 201:
                raise RuntimeError(f"creating a battle failed: {status} {b}")
            status, body = await rest(http, "POST", f"{url}/api/battles/join", keys["B"], {"room_code": b["room_code"]})
            if status != 200:
                raise RuntimeError(f"joining a battle failed: {status} {body}")
            return b["id"]

    return list(await asyncio.gather(*(one(i) for i in range(count))))


@dataclass
class Player:
    """Plays every battle over REST at ``rate`` turns per second each, until stopped.

    Each room has its own schedule (a random phase, then one turn every 1 / rate seconds; as soon as
    possible when late). A turn's content starts with ``@T<unix time of submission>@``.
    """

    keys: dict[str, str]
    urls: dict[str, str]  # battle id -> the server process its turns go to
    rate: float
    pad: str
    turns: list[tuple[float, float, str]] = field(default_factory=list)  # (sent, POST ms, battle id)
    errors: Counter = field(default_factory=Counter)
    ended: int = 0  # battles that reached MAX_TURNS
    _tasks: list[asyncio.Task] = field(default_factory=list)

    def start(self, http: aiohttp.ClientSession) -> None:
        period = 1.0 / self.rate
        t0 = time.time() + 0.1
        for battle_id, url in self.urls.items():
            self._tasks.append(asyncio.create_task(self._play(http, battle_id, url, period,
                                                              t0 + random.random() * period)))

    async def _play(self, http: aiohttp.ClientSession, battle_id: str, url: str, period: float, start: float) -> None:
        seat, k = "A", 0
        while True:
            delay = start + k * period - time.time()
            if delay > 0:
                await asyncio.sleep(delay)
            sent = time.time()
            try:
                status, body = await rest(http, "POST", f"{url}/api/battles/{battle_id}/turns", self.keys[seat],
                                          {"content": f"@T{sent:.6f}@ " + self.pad})
            except (aiohttp.ClientError, TimeoutError, ValueError) as exc:  # ValueError: a body not JSON
                self.errors[type(exc).__name__] += 1
                await asyncio.sleep(period)
                continue
            if status == 201:
                self.turns.append((sent, (time.time() - sent) * 1000, battle_id))
                seat, k = "B" if seat == "A" else "A", k + 1
                if body.get("turn_number", 0) >= MAX_TURNS:
                    self.ended += 1
                    return
                continue
            err = body.get("error", {}) if isinstance(body, dict) else {}
            code = err.get("code", str(status))
            if code == "battle.not_your_turn" and (err.get("details") or {}).get("current_seat") in self.keys:
                seat = err["details"]["current_seat"]
                continue
            if code != "battle.wrong_state" or k:  # wrong_state before the first turn: still STARTING
                self.errors[code] += 1
            await asyncio.sleep(min(0.2, period))
            start = time.time() - k * period  # re-base: no burst to catch up after waiting

    def window(self, t0: float, t1: float) -> list[tuple[float, float, str]]:
        return [t for t in self.turns if t0 <= t[0] < t1]

    async def stop(self) -> None:
        for t in self._tasks:
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []


def split_rooms(battles: list[str], parts: int) -> list[list[str]]:
    """Rooms dealt round-robin to ``parts`` workers (a room's spectators all live in one worker)."""
    return [battles[i::parts] for i in range(parts)]


async def open_warm(url: str, battle_id: str, n: int) -> list[BrowserSpectator]:
    """A few spectators in this process, opened before the baseline RSS (as ws_memory.py does): the
    server's first connections pay for lazy imports and caches, not per socket."""
    stats, out = Stats(), []
    for _ in range(n):
        s = BrowserSpectator(stats, "/spectate", False)
        await s.connect(url)
        await s.emit_ack("battle:watch", {"battle_id": battle_id, "snapshot_only": True})
        out.append(s)
    return out


def merge_reports(reports: list[dict], group: str) -> dict:
    """The workers' reports of one group, summed."""
    out: dict = {"counts": Counter(), "latencies": [], "connect_ms": [], "connects": 0, "failed": 0, "closed": 0,
                 "behind": 0, "errors": 0, "open": 0, "last": 0.0}
    for rep in reports:
        g = rep["groups"].get(group)
        if g is None:
            continue
        out["counts"].update(g["counts"])
        for k in ("latencies", "connect_ms"):
            out[k] += g[k]
        for k in ("connects", "failed", "closed", "behind", "errors", "open"):
            out[k] += g[k]
        out["last"] = max(out["last"], g["last"])
    return out


def ms(values: list[float], q: float) -> str:
    return "-" if not values else f"{percentile(values, q):.1f}"


# -- the run ---------------------------------------------------------------------------------------


async def run(args: argparse.Namespace, data_dir: Path) -> int:
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, asyncio.current_task().cancel)
    per_room = args.sockets // args.rooms
    sockets = per_room * args.rooms
    turns_per_battle = args.rate * (args.warmup + args.seconds + 5)
    if turns_per_battle > MAX_TURNS - 10:
        raise SystemExit(f"--rate {args.rate:g} for {args.warmup + args.seconds:g} s would play "
                         f"~{turns_per_battle:.0f} turns per battle; a battle has at most {MAX_TURNS}: lower --rate "
                         "or --seconds")
    server = start_arena("arena", data_dir, {"WS_COMPRESSION": "true" if args.compression else "false"})
    pool = RoomWorkers()
    player: Player | None = None
    warm: list[BrowserSpectator] = []
    ws_url = server.url.replace("http", "ws", 1)
    try:
        await server.wait_ready(180)
        conn = aiohttp.TCPConnector(limit=args.http_connections)
        async with aiohttp.ClientSession(connector=conn, timeout=aiohttp.ClientTimeout(total=60)) as http:
            t = time.monotonic()
            keys = await register_agents(http, server.url)
            battles = await create_battles(http, server.url, keys, args.rooms)
            made = time.monotonic() - t
            print(f"churn benchmark: {sockets:,} sockets in {args.rooms:,} rooms of {per_room}, {args.rate:g} turns/s "
                  f"per room ({args.rate * args.rooms:,.0f}/s in all), churn {args.churn:g}%/s "
                  f"({sockets * args.churn / 100:,.0f} connects/s), {args.seconds:g} s measured after "
                  f"{args.warmup:g} s, {args.workers} spectator processes, WS_COMPRESSION="
                  f"{'true' if args.compression else 'false'} (server pid {server.proc.pid}); "
                  f"{args.rooms} battles created in {made:.1f} s", flush=True)

            warm = await open_warm(ws_url, battles[0], 20)
            await asyncio.sleep(0.5)
            rss0 = rss(server.proc.pid)
            await pool.start(min(args.workers, args.rooms))
            sample_every = max(1, -(-sockets // args.sample)) if args.sample else 1
            t = time.monotonic()
            answers = await pool.all([
                {"cmd": "connect", "group": "s", "url": ws_url, "rooms": {b: per_room for b in share},
                 "sample_every": sample_every, "concurrency": args.connect_concurrency}
                for share in split_rooms(battles, len(pool.procs))], timeout=1800)
            took = time.monotonic() - t
            connected = sum(a["connected"] for a in answers)
            failed = sum(a["failed"] for a in answers)
            ext = Counter()
            for a in answers:
                ext.update(a["extensions"])
            await asyncio.sleep(1.0)
            rss1 = rss(server.proc.pid)
            print(f"  {connected:,} spectators connected and watching in {took:.1f} s ({connected / took:,.0f}/s)"
                  + (f", {failed} FAILED" if failed else "") + "; server answered Sec-WebSocket-Extensions: "
                  + ", ".join(f"{k or '(none)'} ×{v}" for k, v in ext.items()), flush=True)

            player = Player(keys, dict.fromkeys(battles, server.url), args.rate, make_pad(args.content_bytes))
            player.start(http)
            shares = [len(s) * per_room for s in split_rooms(battles, len(pool.procs))]
            await pool.all([{"cmd": "churn", "group": "s", "per_second": n * args.churn / 100,
                             "max_inflight": args.max_inflight} for n in shares])
            await asyncio.sleep(args.warmup)

            await pool.all({"cmd": "arm"})
            cpu0, deps0 = server.cpu()
            workers0 = pool.cpu()
            own0 = time.process_time()
            t0, m0 = time.time(), time.monotonic()
            await asyncio.sleep(args.seconds)
            reports = await pool.all({"cmd": "report"})
            t1, wall = time.time(), time.monotonic() - m0
            cpu1, deps1 = server.cpu()
            workers = [b - a for a, b in zip(workers0, pool.cpu(), strict=True)]
            own = time.process_time() - own0

            await pool.all({"cmd": "churn", "group": "s", "per_second": 0})
            await player.stop()
            await asyncio.sleep(1.0)
            rss2 = rss(server.proc.pid)

        r = merge_reports(reports, "s")
        events = sum(r["counts"].get(k, 0) for k in COUNTED)
        other = {k: v for k, v in r["counts"].items() if k not in COUNTED and v}
        played = player.window(t0, t1)
        post_ms = [p[1] for p in played]
        target_connects = sockets * args.churn / 100
        rows = [
            ("sockets × rooms", f"{sockets:,} in {args.rooms:,} rooms of {per_room} (open at the end: {r['open']:,})"),
            ("turns/s", f"{len(played) / wall:,.1f} (target {args.rate * args.rooms:,.1f})"),
            ("events/s delivered", f"{events / wall:,.0f}"),
            ("latency p50 / p99 ms", f"{ms(r['latencies'], 50)} / {ms(r['latencies'], 99)} "
                                     f"({len(r['latencies']):,} samples)"),
            ("turn POST p50 / p99 ms", f"{ms(post_ms, 50)} / {ms(post_ms, 99)}"),
            ("connects/s", f"{r['connects'] / wall:,.1f} (target {target_connects:,.1f}; {r['failed']} failed, "
                           f"{r['behind']} skipped behind)"),
            ("connect→watched p50 / p99 ms", f"{ms(r['connect_ms'], 50)} / {ms(r['connect_ms'], 99)}"),
            ("server RSS / socket", f"{(rss1 - rss0) / sockets / 1024:.1f} KB after connecting, "
                                    f"{(rss2 - rss0) / sockets / 1024:.1f} KB after the churn "
                                    f"(RSS {rss0 / 2**20:.0f} → {rss1 / 2**20:.0f} → {rss2 / 2**20:.0f} MB)"),
            ("server CPU", f"{100 * (cpu1 - cpu0) / wall:.0f}%"),
            ("PG+Redis CPU", f"{100 * (deps1 - deps0) / wall:.0f}%"),
            ("spect. CPU (max)", f"{100 * sum(workers) / wall:.0f}% ({100 * max(workers) / wall:.0f}%)"),
            ("agents' process CPU", f"{100 * own / wall:.0f}%"),
            ("window s", f"{wall:.1f}"),
        ]
        notes = []
        if len(played) < 0.95 * args.rate * args.rooms * wall:
            notes.append("could not keep the turn pace")
        if r["connects"] < 0.95 * target_connects * wall:
            notes.append("could not keep the churn pace")
        if player.errors:
            notes.append("turn errors: " + ", ".join(f"{k} ×{v}" for k, v in player.errors.items()))
        if player.ended:
            notes.append(f"{player.ended} battles reached {MAX_TURNS} turns and stopped")
        if r["errors"]:
            notes.append(f"{r['errors']} frames the spectators could not read")
        if other:
            notes.append("also delivered, not counted: " + ", ".join(f"{k} {v}" for k, v in other.items()))
        width = max(len(k) for k, _ in rows)
        print()
        for k, v in rows:
            print(f"{k.ljust(width)}  {v}")
        for n in notes:
            print(f"note: {n}")
        return 0
    finally:
        if player is not None:
            await player.stop()
        for s in warm:
            s.close()
        with contextlib.suppress(Exception):
            await pool.close()
        server.stop()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Many small battle rooms on one arena with connect/disconnect churn")
    p.add_argument("--sockets", type=int, default=10_000, help="spectator sockets in all (default 10000)")
    p.add_argument("--rooms", type=int, default=1_000, help="battles, sockets/rooms spectators each (default 1000)")
    p.add_argument("--rate", type=float, default=0.1, help="turns per second in each battle (default 0.1)")
    p.add_argument("--churn", type=float, default=2.0,
                   help="percent of the sockets replaced per second: closed, and as many new ones connect (default 2)")
    p.add_argument("--seconds", type=float, default=30.0, help="measured time (default 30)")
    p.add_argument("--warmup", type=float, default=5.0, help="play and churn before measuring (default 5)")
    p.add_argument("--workers", type=int, default=4, help="spectator processes (default 4)")
    p.add_argument("--sample", type=int, default=1000,
                   help="record latencies on about this many spectators (default 1000; 0: all)")
    p.add_argument("--content-bytes", type=int, default=200, help="length of each turn's content (default 200)")
    p.add_argument("--compression", action="store_true",
                   help="run the server with WS_COMPRESSION=true (it then accepts the spectators' deflate offer)")
    p.add_argument("--max-inflight", type=int, default=200,
                   help="replacement connects under way at once per worker; more are skipped (default 200)")
    p.add_argument("--connect-concurrency", type=int, default=50,
                   help="initial connects under way at once per worker (default 50)")
    p.add_argument("--http-connections", type=int, default=64, help="the agents' HTTP connections (default 64)")
    p.add_argument("--keep", action="store_true", help="keep the temporary directory (server log)")
    args = p.parse_args(argv)
    if args.rooms < 1 or args.sockets < args.rooms:
        p.error("need at least one room and one socket per room")

    return run_in_temp_dir(run, args, "arena-churn-")

if __name__ == "__main__":
    sys.exit(main())
