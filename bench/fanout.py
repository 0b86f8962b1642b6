"""Fan-out benchmark: how fast battle events reach spectators, against Node socket.io and bare python-socketio.

    .venv/bin/python bench/fanout.py [--n 100 1000] [--seconds 10] [--workers 2] [--rate R] [--targets ...]

For each N it measures up to three servers with the same client code, in the same run:

- ``node``: bench/node/baseline_server.js, the official Node socket.io 4.8 server speaking the same
  battle subset (the reference: ratios are to it);
- ``baseline``: bench/baseline_server.py, a bare python-socketio AsyncServer that only broadcasts
  (in-memory rooms, no database, no Redis);
- ``arena``: ``python -m server serve`` on a fresh temporary data dir (embedded PostgreSQL and Redis).

N spectators per server (light websocket clients in ``--workers`` separate processes, see
bench/spectators.py) watch one battle; two agents per server (python-socketio AsyncClients in this
process) take turns as fast as the server lets them: a turn is submitted as soon as its
``battle:your_turn`` prompt arrives. With ``--rate R`` turns are paced instead so that R events per
second reach the spectators (R / (2 N) turns per second), to compare latencies at the same load.

The servers play in alternating slices of ``--slice`` seconds (node, baseline, arena, node, ...)
until each has played ``--seconds``, so a slow drift of the machine's speed (other tenants, a 2-core
VM) hits all alike instead of whichever ran last. Between slices a server's battle waits (turn
deadlines are an hour). A slice counts from its first submission to the last arrival of its events
at a spectator; the next slice starts only once everything was delivered. A battle has at most 200
turns, so battles are chained: spectators watch each new battle before its first turn (not counted).

Figures, per server and N:

- events/s: ``battle:turn`` + ``battle:turn_started`` events delivered to spectators per second, summed
  over all spectators (each turn produces these two room events on every server; the few
  ``battle:status`` events when a battle ends are counted apart and left out);
- turns/s: turns played per second;
- p50/p99: from a turn's submission (the agent's clock, written into its content) to its
  ``battle:turn`` event's arrival at a spectator, over every (turn, sampled spectator) pair;
- ack p50: from a turn's submission to its ack at the agent;
- server CPU, and server CPU µs per delivered event (server CPU time in its slices / events);
- spectators' CPU: the spectator workers' CPU in the same slices, to tell a load-generator bottleneck;
- ratios: events/s and CPU µs per event divided by Node's, p99 divided by Node's, and events/s
  divided by the python-socketio baseline's, for the same N.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import psutil
import socketio

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
NODE_DIR = BENCH / "node"
TARGETS = ("node", "baseline", "arena")  # the reference first; also the order of play on a tie
HOST = "127.0.0.1"
COUNTED = ("battle:turn", "battle:turn_started")
MAX_TURNS = 200  # the arena's limit per battle
TURN_DURATION_MS = 3_600_000  # no deadline fires while a run lasts, even in a battle left unfinished


# -- processes -------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds used so far by a process (all its threads); 0 once it is gone."""
    try:
        return sum(psutil.Process(pid).cpu_times()[:2])
    except psutil.Error:
        return 0.0


def _die_with_parent() -> None:
    """In the child: receive SIGTERM when this benchmark dies, so nothing outlives it (Linux)."""
    if sys.platform.startswith("linux"):
        import ctypes

        with contextlib.suppress(Exception):
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class ServerProcess:
    """A server started as a child process; stopped with SIGTERM (then SIGKILL) at the end."""

    def __init__(self, name: str, argv: list[str], port: int, env: dict[str, str], log_dir: Path) -> None:
        self.name = name
        self.port = port
        self.url = f"http://{HOST}:{port}"
        self.log_path = log_dir / f"{name}.log"
        self._log = open(self.log_path, "wb")  # closed in stop()
        self.proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=self._log,
                                     stderr=subprocess.STDOUT, preexec_fn=_die_with_parent)

    async def wait_ready(self, timeout: float) -> None:
        end = time.monotonic() + timeout
        async with aiohttp.ClientSession() as http:
            while time.monotonic() < end:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"{self.name} exited with {self.proc.returncode}; see {self.log_path}:\n"
                                       + self.log_tail())
                with contextlib.suppress(aiohttp.ClientError, OSError):
                    async with http.get(f"{self.url}/readyz", timeout=aiohttp.ClientTimeout(total=2)) as r:
                        if r.status == 200:
                            return
                await asyncio.sleep(0.2)
        raise RuntimeError(f"{self.name} not ready after {timeout:.0f} s; see {self.log_path}:\n" + self.log_tail())

    def cpu(self) -> tuple[float, float]:
        """CPU seconds used so far by the server process, and by its children (PostgreSQL, Redis)."""
        try:
            children = psutil.Process(self.proc.pid).children(recursive=True)
        except psutil.Error:
            return 0.0, 0.0
        return cpu_seconds(self.proc.pid), sum(cpu_seconds(c.pid) for c in children)

    def log_tail(self, lines: int = 30) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        return ""

    def stop(self, timeout: float = 30) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self._log.close()


class WorkerPool:
    """Spectator worker processes (bench/spectators.py), each holding a share of the N spectators."""

    def __init__(self) -> None:
        self.procs: list[asyncio.subprocess.Process] = []

    async def start(self, count: int) -> None:
        for _ in range(count):
            self.procs.append(await asyncio.create_subprocess_exec(
                sys.executable, str(BENCH / "spectators.py"), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                limit=1 << 27, preexec_fn=_die_with_parent,
            ))

    async def _call(self, proc: asyncio.subprocess.Process, cmd: dict, timeout: float) -> dict:
        proc.stdin.write((json.dumps(cmd) + "\n").encode())
        await proc.stdin.drain()
        line = await asyncio.wait_for(proc.stdout.readline(), timeout)
        if not line:
            raise RuntimeError(f"spectator worker {proc.pid} exited during {cmd['cmd']}")
        answer = json.loads(line)
        if not answer.get("ok") and cmd["cmd"] != "drain":
            raise RuntimeError(f"spectator worker {proc.pid}: {cmd['cmd']} failed: {answer}")
        return answer

    def cpu(self) -> list[float]:
        """CPU seconds used so far by each worker."""
        return [cpu_seconds(p.pid) for p in self.procs]

    async def all(self, cmds: dict | list[dict], timeout: float = 180) -> list[dict]:
        if isinstance(cmds, dict):
            cmds = [cmds] * len(self.procs)
        return list(await asyncio.gather(*(self._call(p, c, timeout) for p, c in zip(self.procs, cmds,
                                                                                       strict=True))))

    async def close(self) -> None:
        for p in self.procs:
            if p.returncode is None:
                with contextlib.suppress(Exception):
                    await self._call(p, {"cmd": "close"}, 10)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(p.wait(), 5)
            if p.returncode is None:
                p.kill()
                await p.wait()
        self.procs = []


# -- agents ----------------------------------------------------------------------------------------


class Agent:
    """One fighter: a python-socketio client on /agent that forwards its prompts to the driver."""

    def __init__(self, name: str, auth: dict, prompts: asyncio.Queue) -> None:
        self.name = name
        self.auth = auth
        self.prompts = prompts
        self.sio = socketio.AsyncClient(reconnection=False)
        self.sio.on("battle:your_turn", self._on_prompt, namespace="/agent")

    async def _on_prompt(self, data: dict) -> None:
        self.prompts.put_nowait((self, data))

    async def connect(self, url: str) -> None:
        await self.sio.connect(url, namespaces=["/agent"], auth=self.auth, transports=["websocket"],
                               wait_timeout=15)

    async def call(self, event: str, payload: dict, timeout: float = 60) -> dict:
        ack = await self.sio.call(event, payload, namespace="/agent", timeout=timeout)
        if not isinstance(ack, dict) or not ack.get("ok"):
            raise RuntimeError(f"{self.name}: {event} failed: {ack}")
        return ack["data"]

    async def turn(self, battle_id: str, content: str, sent: float) -> float:
        """Submit a turn; returns the ack latency in ms."""
        await self.call("battle:turn", {"battle_id": battle_id, "content": content})
        return (time.time() - sent) * 1000.0

    async def close(self) -> None:
        if self.sio.connected:
            with contextlib.suppress(Exception):
                await self.sio.disconnect()


class Target:
    """A server under test and its two agents."""

    def __init__(self, name: str, server: ServerProcess) -> None:
        self.name = name
        self.server = server
        self.prompts: asyncio.Queue = asyncio.Queue()
        self.agents: list[Agent] = []

    async def setup_agents(self) -> None:
        tag = uuid.uuid4().hex[:8]
        auths = [{}, {}]
        if self.name == "arena":
            async with aiohttp.ClientSession() as http:
                for i, seat in enumerate("ab"):
                    async with http.post(f"{self.server.url}/api/agents", json={"name": f"bench-{seat}-{tag}"}) as r:
                        body = await r.json()
                        if r.status != 201:
                            raise RuntimeError(f"registering an agent failed: {r.status} {body}")
                        auths[i] = {"api_key": body["api_key"]}
        for i, seat in enumerate("ab"):
            agent = Agent(f"{self.name}-{seat}", auths[i], self.prompts)
            await agent.connect(self.server.url)
            self.agents.append(agent)

    async def next_prompt(self, battle_id: str, timeout: float = 30) -> tuple[Agent, dict]:
        end = time.monotonic() + timeout
        while True:
            agent, data = await asyncio.wait_for(self.prompts.get(), max(0.01, end - time.monotonic()))
            if data.get("battle_id") == battle_id:
                return agent, data

    async def close(self) -> None:
        for a in self.agents:
            await a.close()


# -- measuring -------------------------------------------------------------------------------------


@dataclass
class Result:
    target: str
    n: int
    turns: int = 0
    window: float = 0.0  # seconds: per slice, first submission -> last delivery, summed
    events: int = 0  # counted events delivered (battle:turn + battle:turn_started), all spectators
    other: dict[str, int] = field(default_factory=dict)
    missing: int = 0  # battle:turn deliveries that never came
    errors: int = 0  # what the spectators could not read
    latencies: list[float] = field(default_factory=list)
    acks: list[float] = field(default_factory=list)
    battles: int = 0
    slices: int = 0
    cpu_wall: float = 0.0  # seconds of wall time over which CPU was sampled (each slice's play + drain)
    cpu_own: float = 0.0  # CPU seconds of the server process in that time
    cpu_deps: float = 0.0  # ... of its child processes (the arena's embedded PostgreSQL and Redis)
    cpu_workers: list[float] = field(default_factory=list)  # ... of each spectator worker
    cpu_driver: float = 0.0  # ... of this process (the agents)
    setup: float = 0.0  # seconds spent connecting and watching (not measured)

    @property
    def events_per_s(self) -> float:
        return self.events / self.window if self.window else 0.0

    @property
    def turns_per_s(self) -> float:
        return self.turns / self.window if self.window else 0.0

    @property
    def cpu_us_per_event(self) -> float:
        return self.cpu_own * 1e6 / self.events if self.events else float("nan")

    @property
    def p99(self) -> float:
        return percentile(self.latencies, 99)


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    k = min(len(s) - 1, max(0, round(q / 100 * (len(s) - 1))))
    return s[k]


def split(n: int, parts: int) -> list[int]:
    return [n // parts + (1 if i < n % parts else 0) for i in range(parts)]


@dataclass
class Play:
    """Where one server's play stands between its slices."""

    battle_id: str | None = None  # None: start a new battle (none yet, or the last one is over)
    first: tuple[Agent, dict] | None = None  # a new battle's first prompt


@dataclass
class Sampler:
    """CPU seconds of everything measured, read at a slice's start and again at its end."""

    target: Target
    pool: WorkerPool
    wall: float = 0.0
    server: tuple[float, float] = (0.0, 0.0)
    workers: list[float] = field(default_factory=list)
    driver: float = 0.0

    def start(self) -> None:
        self.wall = time.monotonic()
        self.server = self.target.server.cpu()
        self.workers = self.pool.cpu()
        self.driver = time.process_time()

    def stop(self, res: Result) -> None:
        server = self.target.server.cpu()
        res.cpu_wall += time.monotonic() - self.wall
        res.cpu_own += server[0] - self.server[0]
        res.cpu_deps += server[1] - self.server[1]
        res.cpu_driver += time.process_time() - self.driver
        spent = [after - before for before, after in zip(self.workers, self.pool.cpu(), strict=True)]
        totals = res.cpu_workers or [0.0] * len(spent)
        res.cpu_workers = [total + x for total, x in zip(totals, spent, strict=True)]


async def new_battle(target: Target, pool: WorkerPool, play: Play, res: Result) -> None:
    """Create and join a battle, wait for its first prompt, and let every spectator watch it."""
    a, b = target.agents
    view = await a.call("battle:create", {"topic": "bench", "max_turns": MAX_TURNS,
                                          "turn_duration_ms": TURN_DURATION_MS, "voting_duration_ms": 0})
    await b.call("battle:join", {"room_code": view["room_code"]})
    play.battle_id = str(view["id"])
    play.first = await target.next_prompt(play.battle_id)
    await pool.all({"cmd": "watch", "group": target.name, "event": "battle:watch",
                    "payload": {"battle_id": play.battle_id}})
    res.battles += 1


async def sleep_until(when: float) -> None:
    delay = when - time.time()
    if delay > 0:
        await asyncio.sleep(delay)


async def play_slice(target: Target, pool: WorkerPool, play: Play, budget: float, interval: float, pad: str,
                     res: Result) -> None:
    """Play turns for about ``budget`` seconds (or to the end of the battle), then wait for every delivery.

    Turns follow each other as fast as the server prompts them, or, when ``interval`` > 0, one per
    ``interval`` seconds from the slice's start (as soon as possible when late). Counts the time from
    the slice's first submission to the last arrival of its events.
    """
    setup_started = time.monotonic()
    if play.battle_id is None:
        await new_battle(target, pool, play, res)
    await pool.all({"cmd": "arm", "group": target.name})
    res.setup += time.monotonic() - setup_started

    battle_id = play.battle_id
    if play.first is not None:
        (agent, prompt), play.first = play.first, None
    else:  # the prompt that followed the previous slice's last turn
        agent, prompt = await target.next_prompt(battle_id)
    pending: list[asyncio.Task] = []
    cpu = Sampler(target, pool)
    cpu.start()
    started = time.time()
    deadline = started + budget
    turns = 0
    while True:
        await sleep_until(started + turns * interval)
        sent = time.time()
        content = f"@T{sent:.6f}@ " + pad
        pending.append(asyncio.create_task(agent.turn(battle_id, content, sent)))
        turns += 1
        if prompt["turn_number"] >= MAX_TURNS:
            play.battle_id = None
            break
        if sent >= deadline:
            break
        agent, prompt = await target.next_prompt(battle_id)
    res.acks.extend(await asyncio.gather(*pending))

    drains = await pool.all({"cmd": "drain", "group": target.name, "turns": turns, "quiet": 0.1, "timeout": 60},
                            timeout=120)
    cpu.stop(res)
    res.slices += 1
    res.turns += turns
    res.window += max(0.0, max(d["last"] for d in drains) - started)
    for d in drains:
        for name, count in d["counts"].items():
            if name in COUNTED:
                res.events += count
            else:
                res.other[name] = res.other.get(name, 0) + count
        res.missing += max(0, d["expected_turns"] - d["turns"])
        res.errors += d["errors"]
        res.latencies.extend(d["latencies"])


async def measure(targets: list[Target], n: int, args: argparse.Namespace, pad: str) -> list[Result]:
    """Every server at N spectators, in alternating slices until each has played ``args.seconds``."""
    results = {t.name: Result(t.name, n) for t in targets}
    plays = {t.name: Play() for t in targets}
    interval = 2 * n / args.rate if args.rate else 0.0  # 2 counted events per turn and spectator
    sample_every = max(1, -(-n // args.sample)) if args.sample else 1
    pool = WorkerPool()
    try:
        await pool.start(min(args.workers, n))
        for t in targets:
            started = time.monotonic()
            await pool.all([{"cmd": "connect", "group": t.name, "url": t.server.url.replace("http", "ws", 1),
                             "n": k, "namespace": "/spectate", "sample_every": sample_every}
                            for k in split(n, len(pool.procs))])
            results[t.name].setup += time.monotonic() - started
        min_slice = min(0.5, args.slice / 2)
        while True:
            # The server with the least measured time plays next (in TARGETS order on a tie).
            todo = [t for t in targets if args.seconds - results[t.name].window >= min_slice]
            if not todo:
                break
            t = min(todo, key=lambda x: results[x.name].window)
            r = results[t.name]
            await play_slice(t, pool, plays[t.name], min(args.slice, args.seconds - r.window), interval, pad, r)
    finally:
        await pool.close()
    return [results[t.name] for t in targets]


# -- output ----------------------------------------------------------------------------------------


def pct(part: float, whole: float) -> str:
    return f"{100 * part / whole:.0f}%" if whole else "?"


def ratio(value: float, ref: Result | None, r: Result, attr: str) -> str:
    """``value`` / the reference's same figure; blank for the reference itself or when it is missing."""
    if ref is None or ref is r:
        return ""
    base = getattr(ref, attr)
    return "?" if not base or math.isnan(base) else f"{value / base:.2f}"


def row(cells: list[str], widths: list[int]) -> str:
    return "  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=True)))


HEAD = ["N", "server", "events/s", "turns/s", "p50 ms", "p99 ms", "ack p50 ms", "server CPU", "CPU µs/event",
        "PG+Redis CPU", "spect. CPU (max)", "window s", "events/s ÷node", "µs/event ÷node", "p99 ÷node",
        "events/s ÷baseline"]


def report_row(r: Result, node: Result | None, base: Result | None) -> list[str]:
    workers = f"{pct(sum(r.cpu_workers), r.cpu_wall)} ({pct(max(r.cpu_workers, default=0.0), r.cpu_wall)})"
    return [str(r.n), r.target, f"{r.events_per_s:,.0f}", f"{r.turns_per_s:,.1f}",
            f"{percentile(r.latencies, 50):.1f}", f"{r.p99:.1f}", f"{percentile(r.acks, 50):.1f}",
            pct(r.cpu_own, r.cpu_wall), f"{r.cpu_us_per_event:.1f}",
            pct(r.cpu_deps, r.cpu_wall) if r.target == "arena" else "-", workers, f"{r.window:.1f}",
            ratio(r.events_per_s, node, r, "events_per_s"), ratio(r.cpu_us_per_event, node, r, "cpu_us_per_event"),
            ratio(r.p99, node, r, "p99"), ratio(r.events_per_s, base, r, "events_per_s")]


def report(results: list[Result]) -> str:
    by = {(r.target, r.n): r for r in results}
    lines = [report_row(r, by.get(("node", r.n)), by.get(("baseline", r.n))) for r in results]
    widths = [max(len(x[i]) for x in [HEAD, *lines]) for i in range(len(HEAD))]
    out = [row(HEAD, widths), row(["-" * w for w in widths], widths)]
    out += [row(x, widths) for x in lines]
    return "\n".join(out)


def summary(r: Result, rate: float | None) -> str:
    """The line printed after each server's measure at one N."""
    notes = []
    if r.missing:
        notes.append(f"{r.missing} battle:turn deliveries MISSING")
    if r.errors:
        notes.append(f"{r.errors} frames the spectators could not read")
    if rate and r.events_per_s < 0.95 * rate:
        notes.append(f"could not keep the pace: {r.events_per_s:,.0f} of {rate:,.0f} events/s")
    if r.other:
        notes.append("also delivered, not counted: " + ", ".join(f"{k} {v}" for k, v in r.other.items()))
    return (f"  N={r.n} {r.target}: {r.turns} turns in {r.slices} slices, {r.battles} battle(s); {r.events:,} events "
            f"in {r.window:.2f} s (setup {r.setup:.1f} s, not counted); agents' process CPU "
            f"{pct(r.cpu_driver, r.cpu_wall)}" + "".join(f"; {x}" for x in notes))


LEGEND = """\
events/s: battle:turn + battle:turn_started deliveries per second, summed over spectators (2 room events per turn \
on every server).
p50/p99: turn submission -> battle:turn arrival at a spectator (sampled spectators); ack p50: submission -> ack at \
the agent.
server CPU: the server process's CPU time / wall time during play (100% = one core); CPU µs/event: its CPU time / \
events delivered.
PG+Redis CPU: the arena's embedded PostgreSQL and Redis processes, same measure. spect. CPU (max): the spectator \
workers' CPU, summed (the busiest worker's): with the busiest near 100%, or the sum near the cores the servers \
leave free, the load generator, not the server, set the pace.
÷node: the figure / Node socket.io's at the same N (with --rate, p99 ÷node is the one to read); events/s \
÷baseline: events/s / the bare python-socketio baseline's (the arena's target there: >= 0.90 at N = 1000).
Each arena turn also runs a PostgreSQL transaction (lock, insert the turn, two room events with their seq, update \
the battle, read the transcript for the next prompt) and Redis round trips (rate limit, session check, one pub/sub \
PUBLISH per emit). Both baselines keep everything in memory."""


# -- main ------------------------------------------------------------------------------------------


def server_command(name: str, port: int, data_dir: Path) -> tuple[list[str], dict[str, str]]:
    """The argv of one server under test, and the environment it needs on top of ours."""
    match name:
        case "node":
            return ["node", str(NODE_DIR / "baseline_server.js"), "--host", HOST, "--port", str(port)], {}
        case "baseline":
            return [sys.executable, str(BENCH / "baseline_server.py"), "--host", HOST, "--port", str(port)], {}
        case "arena":
            return ([sys.executable, "-m", "server", "serve", "--host", HOST, "--port", str(port), "--data-dir",
                     str(data_dir / "arena")],
                    {"RATE_SOCKET_EVENT": "100000/1", "RATE_REGISTER": "100000/60", "RATE_REST_WRITE": "100000/1",
                     "BATTLE_START_DELAY_MS": "0", "LOG_LEVEL": "WARNING"})
    raise ValueError(name)


def start_servers(targets: list[str], data_dir: Path) -> dict[str, ServerProcess]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    servers: dict[str, ServerProcess] = {}
    for name in TARGETS:
        if name in targets:
            port = free_port()
            argv, extra = server_command(name, port, data_dir)
            servers[name] = ServerProcess(name, argv, port, {**env, **extra}, data_dir)
    return servers


def ensure_node() -> None:
    """Node on the PATH and bench/node's dependencies installed (``npm ci`` once, from the lock file)."""
    if shutil.which("node") is None:
        raise SystemExit("the node target needs Node.js (node on the PATH); or leave it out with --targets")
    if not (NODE_DIR / "node_modules").is_dir():
        print("bench/node/node_modules is missing: running npm ci --prefix bench/node", flush=True)
        subprocess.run(["npm", "ci", "--prefix", str(NODE_DIR), "--no-audit", "--no-fund"], cwd=ROOT, check=True)


def make_pad(content_bytes: int) -> str:
    """Filler for a turn's content after its ``@T<time>@`` stamp, to reach ``content_bytes`` characters."""
    pad_len = max(0, content_bytes - len(f"@T{time.time():.6f}@ "))
    return ("lorem ipsum dolor sit amet " * (pad_len // 27 + 1))[:pad_len]


def banner(args: argparse.Namespace, servers: dict[str, ServerProcess]) -> str:
    pace = f"paced at {args.rate:,.0f} events/s" if args.rate else "as fast as each server goes"
    sample = f"latency from ~{args.sample} spectators per server" if args.sample else "latency from every spectator"
    pids = ", ".join(f"{s.name} pid {s.proc.pid}" for s in servers.values())
    return (f"fan-out benchmark: N = {' '.join(map(str, args.n))}, ~{args.seconds:g} s of play per server and N "
            f"in alternating {args.slice:g} s slices, {pace}, {args.workers} spectator processes, {sample}, "
            f"{args.content_bytes}-char turns ({pids})")


async def run(args: argparse.Namespace, data_dir: Path) -> int:
    # SIGTERM stops the benchmark like Ctrl-C does: the cleanup below still runs.
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, asyncio.current_task().cancel)
    servers = start_servers(args.targets, data_dir)
    targets: list[Target] = []
    try:
        for s in servers.values():
            await s.wait_ready(180)
        for name, server in servers.items():
            t = Target(name, server)
            await t.setup_agents()
            targets.append(t)
        pad = make_pad(args.content_bytes)
        print(banner(args, servers), flush=True)

        results: list[Result] = []
        for n in args.n:
            for r in await measure(targets, n, args, pad):
                results.append(r)
                print(summary(r, args.rate), flush=True)
        print()
        print(report(results))
        print()
        print(LEGEND)
        return 0
    finally:
        for t in targets:
            await t.close()
        for s in servers.values():
            s.stop()


def run_in_temp_dir(run, args: argparse.Namespace, prefix: str) -> int:
    """``asyncio.run(run(args, data_dir))`` on uvloop when installed, in a temporary data dir that is
    removed afterwards unless ``args.keep``; Ctrl-C exits 130. Every bench script's ``main`` ends here."""
    data_dir = Path(tempfile.mkdtemp(prefix=prefix))
    with contextlib.suppress(ImportError):
        import uvloop

        uvloop.install()
    try:
        return asyncio.run(run(args, data_dir))
    except (KeyboardInterrupt, asyncio.CancelledError):
        print("interrupted", file=sys.stderr)
        return 130
    finally:
        if args.keep:
            print(f"kept {data_dir}")
        else:
            shutil.rmtree(data_dir, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Battle event fan-out to spectators: arena vs Node socket.io and bare python-socketio")
    parser.add_argument("--n", type=int, nargs="+", default=[100, 1000], help="spectator counts (default 100 1000)")
    parser.add_argument("--seconds", type=float, default=10.0, help="measured play time per server and N")
    parser.add_argument("--slice", type=float, default=2.0,
                        help="seconds of play before switching to the next server (default 2)")
    parser.add_argument("--rate", type=float, default=None, metavar="R",
                        help="pace turns so that R events/s reach the spectators (R / (2 N) turns/s); "
                             "default: as fast as the server goes")
    parser.add_argument("--workers", type=int, default=2, help="spectator processes (default 2)")
    parser.add_argument("--sample", type=int, default=100,
                        help="record latencies on about this many spectators per server (default 100; 0: all)")
    parser.add_argument("--content-bytes", type=int, default=200, help="length of each turn's content")
    parser.add_argument("--targets", nargs="+", choices=TARGETS, default=list(TARGETS),
                        help="servers to measure (default all three)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (server logs)")
    args = parser.parse_args(argv)
    if "node" in args.targets:
        ensure_node()

    return run_in_temp_dir(run, args, "arena-bench-")

if __name__ == "__main__":
    sys.exit(main())
