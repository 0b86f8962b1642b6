"""Two arena processes on one PostgreSQL and Redis: the pub/sub room-channel bytes each one reads.

    .venv/bin/python bench/crossproc.py [--rooms 20] [--n 10] [--rate 2] [--seconds 8] [--cross 0.5]

Process 1 is ``arena serve`` with its embedded PostgreSQL and Redis (a fresh temporary data dir);
process 2 is a second ``arena serve`` on the same PostgreSQL, Redis and SECRET_KEY. The URLs come
from process 1: the ports it logs ("embedded PostgreSQL ready on 127.0.0.1:<port>", the same for
Redis) and the passwords and session key it keeps in its data dir (``postgres.password``,
``redis.password``, ``secret_key``), made into URLs by server/embedded.py's own classes.

``--rooms`` battles: half are rooms A, played over REST through process 1 and watched by ``--n``
spectators each on process 1; the other half are rooms B, played through process 2 and watched on
process 2. Every battle gets ``--rate`` turns per second. Each process listens to a room's Redis
channel only while it has members in the room, so:

- phase ``split``: each process should read only its own rooms' channels (its own publications,
  which come back to it because it listens to them: dropped by their head, counted all the same);
- phase ``cross``: ``--cross-n`` more spectators of each of a ``--cross`` share of the A rooms watch
  on process 2, which now has members in those rooms: its counter should grow by those rooms'
  traffic, and process 2 delivers their events to its spectators.

Per phase and process, over ``--seconds`` after ``--warmup``: the growth of the Prometheus counter
``arena_pubsub_room_bytes_total`` (read from ``/metrics`` before and after; "n/a" when the server
does not have it), the events delivered to the spectators connected there, and turns per second.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import re
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import aiohttp

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(BENCH.parent))
from churn import (  # noqa: E402
    Player,
    RoomWorkers,
    arena_dir,
    create_battles,
    merge_reports,
    ms,
    register_agents,
    split_rooms,
    start_arena,
)
from fanout import COUNTED, MAX_TURNS, ServerProcess, make_pad, run_in_temp_dir  # noqa: E402

from server.embedded import EmbeddedPostgres, EmbeddedRedis  # noqa: E402

METRIC = "arena_pubsub_room_bytes_total"
_METRIC_LINE = re.compile(rf"^{METRIC}(?:{{([^}}]*)}})?\s+(\S+)\s*$", re.M)
_READY = re.compile(r"embedded (PostgreSQL|Redis) ready on 127\.0\.0\.1:(\d+)")


def shared_settings(p1: ServerProcess, data: Path) -> dict[str, str]:
    """DATABASE_URL, REDIS_URL and SECRET_KEY of process 1's embedded services, for process 2."""
    ports = dict(_READY.findall(p1.log_path.read_text(errors="replace")))
    if set(ports) != {"PostgreSQL", "Redis"}:
        raise RuntimeError(f"process 1 did not log its embedded services' ports; see {p1.log_path}")
    pg, redis = EmbeddedPostgres(data), EmbeddedRedis(data)
    pg.port, redis.port = int(ports["PostgreSQL"]), int(ports["Redis"])
    pg.password = (data / "postgres.password").read_text().strip()
    redis.password = (data / "redis.password").read_text().strip()
    return {"DATABASE_URL": pg.url, "REDIS_URL": redis.url, "SECRET_KEY": (data / "secret_key").read_text().strip()}


async def room_bytes(http: aiohttp.ClientSession, server: ServerProcess) -> tuple[float, float] | None:
    """The process's ``arena_pubsub_room_bytes_total``: (all of it, the part other processes
    published, ``source="other"``), or None without it."""
    try:
        async with http.get(f"{server.url}/metrics") as r:
            text = await r.text()
    except aiohttp.ClientError:
        return None
    values = _METRIC_LINE.findall(text)
    if not values:
        return None
    return sum(float(v) for _, v in values), sum(float(v) for labels, v in values if 'source="other"' in labels)


async def measure(http: aiohttp.ClientSession, servers: list[ServerProcess], pool: RoomWorkers, player: Player,
                  args: argparse.Namespace) -> tuple[float, list[float | None], dict, float, float]:
    """One window: (seconds, room-channel bytes per process or None, worker report per group, t0, t1)."""
    await asyncio.sleep(args.warmup)
    await pool.all({"cmd": "arm"})
    before = [await room_bytes(http, s) for s in servers]
    t0, m0 = time.time(), time.monotonic()
    await asyncio.sleep(args.seconds)
    after = [await room_bytes(http, s) for s in servers]
    reports = await pool.all({"cmd": "report"})
    t1, wall = time.time(), time.monotonic() - m0
    grown = [None if a is None or b is None else (b[0] - a[0], b[1] - a[1]) for a, b in zip(before, after, strict=True)]
    groups = {g: merge_reports(reports, g) for g in ("p1", "p2", "x")}
    return wall, grown, groups, t0, t1


def fmt(value: float | None, spec: str) -> str:
    return "n/a" if value is None or math.isnan(value) else format(value, spec)


HEAD = ["phase", "process", "rooms played", "rooms watched", "turns/s played", "turns/s watched",
        "events/s delivered", "p50 / p99 ms", "room-channel KB/s", "of it from others", "bytes / watched turn",
        "expected KB/s"]


@dataclass
class Phase:
    """One phase's figures per process (index 0: process 1)."""

    name: str
    played: list[tuple[int, float]]  # (rooms, turns/s) played through the process
    watched: list[tuple[int, float]]  # (rooms, turns/s) of the rooms with spectators on the process
    all_turns: float  # turns/s of every room
    bytes_per_s: list[float | None]  # growth of the counter / wall time (None: no counter)
    others_per_s: list[float | None]  # the part of it other processes published
    events: list[float]  # counted events/s delivered to the spectators on the process
    latencies: list[list[float]]

    def per_turn(self, i: int) -> float | None:
        b, t = self.bytes_per_s[i], self.watched[i][1]
        return None if b is None or not t else b / t


def phase(name: str, wall: float, grown: list[tuple[float, float] | None], groups: dict, turns: dict[str, int],
          a: list[str], b: list[str], cross: list[str]) -> Phase:
    """A phase's figures from the window's counter growth, worker reports and turns per battle."""
    rate = {k: sum(turns.get(x, 0) for x in rooms) / wall for k, rooms in (("a", a), ("b", b), ("x", cross))}
    delivered = [[groups["p1"]], [groups["p2"], groups["x"]]]
    return Phase(
        name, [(len(a), rate["a"]), (len(b), rate["b"])],
        [(len(a), rate["a"]), (len(b) + len(cross), rate["b"] + rate["x"])], rate["a"] + rate["b"],
        [None if g is None else g[0] / wall for g in grown],
        [None if g is None else g[1] / wall for g in grown],
        [sum(g["counts"].get(k, 0) for g in d for k in COUNTED) / wall for d in delivered],
        [[x for g in d for x in g["latencies"]] for d in delivered])


def rows(p: Phase, per_turn: float | None) -> list[list[str]]:
    """Two table rows (process 1, process 2). ``per_turn``: the split phase's bytes per watched turn, both
    processes together, from which a process's expected bytes/s follow from the rooms it has members in."""
    out = []
    for i in range(2):
        per_s = p.bytes_per_s[i]
        expected = None if per_turn is None else per_turn * p.watched[i][1]
        lat = p.latencies[i]
        out.append([p.name, f"{i + 1}", str(p.played[i][0]), str(p.watched[i][0]), f"{p.played[i][1]:.1f}",
                    f"{p.watched[i][1]:.1f}", f"{p.events[i]:,.0f}", f"{ms(lat, 50)} / {ms(lat, 99)}",
                    fmt(None if per_s is None else per_s / 1024, ".1f"),
                    fmt(None if p.others_per_s[i] is None else p.others_per_s[i] / 1024, ".1f"),
                    fmt(p.per_turn(i), ",.0f"),
                    fmt(None if expected is None else expected / 1024, ".1f")])
    return out


def table(rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in [HEAD, *rows]) for i in range(len(HEAD))]

    def line(cells: list[str]) -> str:
        return "  ".join(c.rjust(w) if i > 1 else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths,
                                                                                            strict=True)))

    return "\n".join([line(HEAD), line(["-" * w for w in widths]), *(line(r) for r in rows)])


async def run(args: argparse.Namespace, data_dir: Path) -> int:
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, asyncio.current_task().cancel)
    if args.rate * (2 * (args.warmup + args.seconds) + 10) > MAX_TURNS - 10:
        raise SystemExit(f"--rate {args.rate:g} over two phases would pass {MAX_TURNS} turns per battle: "
                         "lower --rate or --seconds")
    p1 = start_arena("p1", data_dir, {"LOG_LEVEL": "INFO"})  # INFO: it logs its services' ports
    servers = [p1]
    pool = RoomWorkers()
    player: Player | None = None
    try:
        await p1.wait_ready(180)
        shared = shared_settings(p1, arena_dir(data_dir, "p1"))
        p2 = start_arena("p2", data_dir, {**shared, "MIGRATE_ON_START": "false"})
        servers.append(p2)
        await p2.wait_ready(180)
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as http:
            if await room_bytes(http, p1) is None:
                print(f"note: {METRIC} is not in /metrics: the byte columns say n/a", flush=True)
            keys = await register_agents(http, p1.url)
            half = max(1, args.rooms // 2)
            a = await create_battles(http, p1.url, keys, half)
            b = await create_battles(http, p2.url, keys, args.rooms - half)
            cross = a[:max(0, round(args.cross * len(a)))]
            print(f"two arena processes (pids {p1.proc.pid}, {p2.proc.pid}) on one PostgreSQL and Redis: "
                  f"{len(a)} rooms A (played and watched on 1), {len(b)} rooms B (on 2), {args.n} spectators "
                  f"each, {args.rate:g} turns/s per room, {args.seconds:g} s per phase; phase cross adds "
                  f"{args.cross_n} spectators on process 2 to each of {len(cross)} A rooms", flush=True)

            await pool.start(args.workers)
            ws = [s.url.replace("http", "ws", 1) for s in servers]
            cmds = []
            for group, url, rooms in (("p1", ws[0], a), ("p2", ws[1], b)):
                cmds.append([{"cmd": "connect", "group": group, "url": url, "rooms": dict.fromkeys(share, args.n)}
                             for share in split_rooms(rooms, len(pool.procs))])
            for group_cmds in cmds:
                for answer in await pool.all(group_cmds):
                    if answer["failed"]:
                        raise RuntimeError(f"{answer['failed']} spectators could not connect")

            urls = {**dict.fromkeys(a, p1.url), **dict.fromkeys(b, p2.url)}
            player = Player(keys, urls, args.rate, make_pad(args.content_bytes))
            player.start(http)
            wall, grown, groups, t0, t1 = await measure(http, servers, pool, player, args)
            phases = [phase("split", wall, grown, groups, count_turns(player, t0, t1), a, b, [])]

            if cross:
                answers = await pool.all([{"cmd": "connect", "group": "x", "url": ws[1],
                                           "rooms": dict.fromkeys(share, args.cross_n)}
                                          for share in split_rooms(cross, len(pool.procs))])
                if any(x["failed"] for x in answers):
                    raise RuntimeError("cross spectators could not connect")
                wall, grown, groups, t0, t1 = await measure(http, servers, pool, player, args)
                phases.append(phase("cross", wall, grown, groups, count_turns(player, t0, t1), a, b, cross))
                x = groups["x"]
            await player.stop()

        split = phases[0]
        per_turn = None
        if None not in split.bytes_per_s and split.watched[0][1] + split.watched[1][1]:
            per_turn = sum(split.bytes_per_s) / (split.watched[0][1] + split.watched[1][1])
        print()
        print(table([r for p in phases for r in rows(p, per_turn)]))
        print()
        if cross:
            print(f"cross spectators (A rooms, on process 2): {sum(x['counts'].get(k, 0) for k in COUNTED) / wall:,.0f}"
                  f" events/s, p50 / p99 {ms(x['latencies'], 50)} / {ms(x['latencies'], 99)} ms")
            c = phases[1]
            if per_turn is not None and c.bytes_per_s[1] is not None:
                own = per_turn * c.played[1][1]
                print(f"process 2 in phase cross read {c.bytes_per_s[1] / 1024:.1f} KB/s of room channels: "
                      f"{per_turn * c.watched[1][1] / 1024:.1f} KB/s expected from the rooms it has members in, "
                      f"{own / 1024:.1f} KB/s if it still read only its own rooms, "
                      f"{per_turn * c.all_turns / 1024:.1f} KB/s if it read every room's channel")
        if player.errors:
            print("turn errors: " + ", ".join(f"{k} ×{v}" for k, v in player.errors.items()))
        print(LEGEND)
        return 0
    finally:
        if player is not None:
            await player.stop()
        with contextlib.suppress(Exception):
            await pool.close()
        for s in reversed(servers):  # process 1 last: it runs PostgreSQL and Redis
            s.stop()


def count_turns(player: Player, t0: float, t1: float) -> dict[str, int]:
    out: dict[str, int] = {}
    for _, _, battle_id in player.window(t0, t1):
        out[battle_id] = out.get(battle_id, 0) + 1
    return out


LEGEND = """\
rooms played / turns/s played: the battles whose turns go through this process (REST) and their turns per second.
rooms watched / turns/s watched: the battles with spectators connected to this process, and their turns per second.
events/s delivered, p50 / p99: battle:turn + battle:turn_started delivered to the spectators connected here; a turn's \
submission to its battle:turn at a spectator.
room-channel KB/s: growth of arena_pubsub_room_bytes_total over the window: room-channel bytes this process read \
from Redis, its own publications included (they come back on the channels it listens to); n/a without the counter.
of it from others: the part other processes published (source="other"): the other process's rooms; near zero in \
the split phase, where no room is watched on both.
bytes / watched turn: room-channel bytes / turns of the rooms watched here: the same on both processes and in both \
phases when a process reads exactly the channels of the rooms it has members in.
expected KB/s: turns/s watched x the split phase's bytes per watched turn (both processes together)."""


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Two arena processes on one PostgreSQL and Redis: room-channel bytes")
    p.add_argument("--rooms", type=int, default=20, help="battles, half on each process (default 20)")
    p.add_argument("--n", type=int, default=10, help="spectators per room (default 10)")
    p.add_argument("--rate", type=float, default=2.0, help="turns per second in each battle (default 2)")
    p.add_argument("--seconds", type=float, default=8.0, help="measured time per phase (default 8)")
    p.add_argument("--warmup", type=float, default=2.0, help="play before each phase's window (default 2)")
    p.add_argument("--cross", type=float, default=0.5,
                   help="share of the A rooms that also get spectators on process 2 in phase cross (default 0.5; "
                        "0: no cross phase)")
    p.add_argument("--cross-n", type=int, default=5, help="spectators per such room on process 2 (default 5)")
    p.add_argument("--workers", type=int, default=2, help="spectator processes (default 2)")
    p.add_argument("--content-bytes", type=int, default=200, help="length of each turn's content (default 200)")
    p.add_argument("--keep", action="store_true", help="keep the temporary directory (server logs)")
    args = p.parse_args(argv)
    if args.rooms < 2:
        p.error("--rooms: at least 2 (one per process)")

    return run_in_temp_dir(run, args, "arena-crossproc-")

if __name__ == "__main__":
    sys.exit(main())
