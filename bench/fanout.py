"""Fan-out benchmark: how fast battle events reach spectators, against a bare python-socketio baseline.

    .venv/bin/python bench/fanout.py [--n 100 1000] [--seconds 10] [--workers 2] [--content-bytes 200]

For each N it measures two servers with the same client code, in the same run:

- ``arena``: ``python -m server serve`` on a fresh temporary data dir (embedded PostgreSQL and Redis);
- ``baseline``: bench/baseline_server.py, a bare python-socketio AsyncServer that only broadcasts
  (in-memory rooms, no database, no Redis).

N spectators per server (light websocket clients in ``--workers`` separate processes, see
bench/spectators.py) watch one battle; two agents per server (python-socketio AsyncClients in this
process) take turns as fast as the server lets them: a turn is submitted as soon as its
``battle:your_turn`` prompt arrives.

The two servers play in alternating slices of ``--slice`` seconds (baseline, arena, baseline, ...)
until each has played ``--seconds``, so a slow drift of the machine's speed (other tenants, a 2-core
VM) hits both alike instead of whichever ran second. Between slices a server's battle waits (turn
deadlines are an hour). A slice counts from its first submission to the last arrival of its events
at a spectator; the next slice starts only once everything was delivered. A battle has at most 200
turns, so battles are chained: spectators watch each new battle before its first turn (not counted).

Figures, per server and N:

- events/s: ``battle:turn`` + ``battle:turn_started`` events delivered to spectators per second, summed
  over all spectators (each turn produces these two room events on both servers; the few
  ``battle:status`` events when a battle ends are counted apart and left out);
- turns/s: turns played per second;
- p50/p99: from a turn's submission (the agent's clock, written into its content) to its
  ``battle:turn`` event's arrival at a spectator, over every (turn, spectator) pair;
- ack p50: from a turn's submission to its ack at the agent;
- ratio: arena events/s divided by the baseline's events/s for the same N.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
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
HOST = "127.0.0.1"
COUNTED = ("battle:turn", "battle:turn_started")
MAX_TURNS = 200  # the arena's limit per battle
TURN_DURATION_MS = 3_600_000  # no deadline fires while a run lasts, even in a battle left unfinished


# -- processes -------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


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
            me = psutil.Process(self.proc.pid)
            own = sum(me.cpu_times()[:2])
            deps = 0.0
            for child in me.children(recursive=True):
                with contextlib.suppress(psutil.Error):
                    deps += sum(child.cpu_times()[:2])
            return own, deps
        except psutil.Error:
            return 0.0, 0.0

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
    window: float = 0.0  # seconds: per battle, first submission -> last delivery, summed
    events: int = 0  # counted events delivered (battle:turn + battle:turn_started), all spectators
    other: dict[str, int] = field(default_factory=dict)
    missing: int = 0  # battle:turn deliveries that never came
    latencies: list[float] = field(default_factory=list)
    acks: list[float] = field(default_factory=list)
    battles: int = 0
    slices: int = 0
    cpu_wall: float = 0.0  # seconds of wall time over which CPU was sampled (each slice's play + drain)
    cpu_own: float = 0.0  # CPU seconds of the server process in that time
    cpu_deps: float = 0.0  # ... of its child processes (the arena's embedded PostgreSQL and Redis)
    setup: float = 0.0  # seconds spent connecting and watching (not measured)

    @property
    def events_per_s(self) -> float:
        return self.events / self.window if self.window else 0.0

    @property
    def turns_per_s(self) -> float:
        return self.turns / self.window if self.window else 0.0


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


async def play_slice(target: Target, pool: WorkerPool, play: Play, budget: float, pad: str, res: Result) -> None:
    """Play turns for about ``budget`` seconds (or to the end of the battle), then wait for every delivery.

    Counts the time from the slice's first submission to the last arrival of its events.
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
    cpu_before, wall_before = target.server.cpu(), time.monotonic()
    started = time.time()
    deadline = started + budget
    turns = 0
    while True:
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
    cpu_after = target.server.cpu()
    res.cpu_wall += time.monotonic() - wall_before
    res.cpu_own += cpu_after[0] - cpu_before[0]
    res.cpu_deps += cpu_after[1] - cpu_before[1]
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
        res.latencies.extend(d["latencies"])


async def measure(targets: list[Target], n: int, seconds: float, slice_s: float, workers: int,
                  pad: str) -> list[Result]:
    """Both servers at N spectators, in alternating slices until each has played ``seconds``."""
    results = {t.name: Result(t.name, n) for t in targets}
    plays = {t.name: Play() for t in targets}
    pool = WorkerPool()
    try:
        await pool.start(min(workers, n))
        for t in targets:
            started = time.monotonic()
            await pool.all([{"cmd": "connect", "group": t.name, "url": t.server.url.replace("http", "ws", 1),
                             "n": k, "namespace": "/spectate"} for k in split(n, len(pool.procs))])
            results[t.name].setup += time.monotonic() - started
        min_slice = min(0.5, slice_s / 2)
        while True:
            # The server with the least measured time plays next (the baseline first on a tie).
            todo = [t for t in targets if seconds - results[t.name].window >= min_slice]
            if not todo:
                break
            t = min(todo, key=lambda x: results[x.name].window)
            r = results[t.name]
            await play_slice(t, pool, plays[t.name], min(slice_s, seconds - r.window), pad, r)
    finally:
        await pool.close()
    return [results[t.name] for t in targets]


# -- output ----------------------------------------------------------------------------------------


def pct(part: float, whole: float) -> str:
    return f"{100 * part / whole:.0f}%" if whole else "?"


def row(cells: list[str], widths: list[int]) -> str:
    return "  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=True)))


def report(results: list[Result], baseline: dict[int, Result]) -> str:
    head = ["N", "server", "events/s", "turns/s", "p50 ms", "p99 ms", "ack p50 ms", "server CPU", "PG+Redis CPU",
            "window s", "vs baseline"]
    lines = []
    for r in results:
        base = baseline.get(r.n)
        ratio = f"{r.events_per_s / base.events_per_s:.2f}" if base and base is not r and base.events_per_s else ""
        lines.append([str(r.n), r.target, f"{r.events_per_s:,.0f}", f"{r.turns_per_s:,.1f}",
                      f"{percentile(r.latencies, 50):.1f}", f"{percentile(r.latencies, 99):.1f}",
                      f"{percentile(r.acks, 50):.1f}", pct(r.cpu_own, r.cpu_wall),
                      pct(r.cpu_deps, r.cpu_wall) if r.target == "arena" else "-", f"{r.window:.1f}", ratio])
    widths = [max(len(x[i]) for x in [head, *lines]) for i in range(len(head))]
    out = [row(head, widths), row(["-" * w for w in widths], widths)]
    out += [row(x, widths) for x in lines]
    return "\n".join(out)


# -- main ------------------------------------------------------------------------------------------


def start_servers(targets: list[str], data_dir: Path) -> dict[str, ServerProcess]:
    servers: dict[str, ServerProcess] = {}
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    if "baseline" in targets:
        port = free_port()
        servers["baseline"] = ServerProcess(
            "baseline", [sys.executable, str(BENCH / "baseline_server.py"), "--port", str(port)], port, env, data_dir)
    if "arena" in targets:
        port = free_port()
        arena_env = {**env, "RATE_SOCKET_EVENT": "100000/1", "RATE_REGISTER": "100000/60",
                     "RATE_REST_WRITE": "100000/1", "BATTLE_START_DELAY_MS": "0", "LOG_LEVEL": "WARNING"}
        servers["arena"] = ServerProcess(
            "arena", [sys.executable, "-m", "server", "serve", "--host", HOST, "--port", str(port), "--data-dir",
                      str(data_dir / "arena")], port, arena_env, data_dir)
    return servers


async def run(args: argparse.Namespace, data_dir: Path) -> int:
    # SIGTERM stops the benchmark like Ctrl-C does: the cleanup below still runs.
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, asyncio.current_task().cancel)
    servers = start_servers(args.targets, data_dir)
    targets: list[Target] = []
    try:
        for s in servers.values():
            await s.wait_ready(180)
        for name in ("baseline", "arena"):  # the baseline first: its figure is the reference
            if name in servers:
                t = Target(name, servers[name])
                await t.setup_agents()
                targets.append(t)
        pad_len = max(0, args.content_bytes - len(f"@T{time.time():.6f}@ "))
        pad = ("lorem ipsum dolor sit amet " * (pad_len // 27 + 1))[:pad_len]
        pids = ", ".join(f"{s.name} pid {s.proc.pid}" for s in servers.values())
        print(f"fan-out benchmark: N = {' '.join(map(str, args.n))}, ~{args.seconds:g} s of play per server and N "
              f"in alternating {args.slice:g} s slices, "
              f"{args.workers} spectator processes, {args.content_bytes}-char turns ({pids})", flush=True)

        results: list[Result] = []
        baseline: dict[int, Result] = {}
        for n in args.n:
            for r in await measure(targets, n, args.seconds, args.slice, args.workers, pad):
                results.append(r)
                if r.target == "baseline":
                    baseline[n] = r
                notes = []
                if r.missing:
                    notes.append(f"{r.missing} battle:turn deliveries MISSING")
                if r.other:
                    notes.append("also delivered, not counted: " + ", ".join(f"{k} {v}" for k, v in r.other.items()))
                print(f"  N={n} {r.target}: {r.turns} turns in {r.slices} slices, {r.battles} battle(s); "
                      f"{r.events:,} events in "
                      f"{r.window:.2f} s (setup {r.setup:.1f} s, not counted){'; ' if notes else ''}"
                      + "; ".join(notes), flush=True)

        print()
        print(report(results, baseline))
        print()
        print("events/s: battle:turn + battle:turn_started deliveries per second, summed over spectators "
              "(2 room events per turn on both servers).")
        print("p50/p99: turn submission -> battle:turn arrival at a spectator; ack p50: submission -> ack at the "
              "agent.")
        print("server CPU: the server process's CPU time / wall time during play (100% = one core); PG+Redis CPU: "
              "the arena's embedded PostgreSQL and Redis processes, same measure.")
        print("vs baseline: arena events/s / baseline events/s at the same N (target: >= 0.90 at N = 1000).")
        print("Each arena turn also runs a PostgreSQL transaction (lock, insert the turn, two room events with "
              "their seq, update the battle, read the transcript for the next prompt) and Redis round trips "
              "(rate limit, session check, one pub/sub PUBLISH per emit). The baseline keeps everything in memory.")
        return 0
    finally:
        for t in targets:
            await t.close()
        for s in servers.values():
            s.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Battle event fan-out to spectators: arena vs bare python-socketio")
    parser.add_argument("--n", type=int, nargs="+", default=[100, 1000], help="spectator counts (default 100 1000)")
    parser.add_argument("--seconds", type=float, default=10.0, help="measured play time per server and N")
    parser.add_argument("--slice", type=float, default=2.0,
                        help="seconds of play before switching to the other server (default 2)")
    parser.add_argument("--workers", type=int, default=2, help="spectator processes (default 2)")
    parser.add_argument("--content-bytes", type=int, default=200, help="length of each turn's content")
    parser.add_argument("--targets", nargs="+", choices=["baseline", "arena"], default=["baseline", "arena"],
                        help="servers to measure (default both)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (server logs)")
    args = parser.parse_args(argv)

    data_dir = Path(tempfile.mkdtemp(prefix="arena-bench-"))
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
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


if __name__ == "__main__":
    sys.exit(main())
