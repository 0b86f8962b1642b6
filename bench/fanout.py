"""Fan-out benchmark: how fast battle events reach spectators, against a bare python-socketio baseline.

    .venv/bin/python bench/fanout.py [--n 100 1000] [--seconds 10] [--workers 2] [--content-bytes 200]

For each N it measures two servers with the same client code, one after the other:

- ``arena``: ``python -m server serve`` on a fresh temporary data dir (embedded PostgreSQL and Redis);
- ``baseline``: bench/baseline_server.py, a bare python-socketio AsyncServer that only broadcasts
  (in-memory rooms, no database, no Redis).

N spectators (light websocket clients in ``--workers`` separate processes, see bench/spectators.py)
watch one battle; two agents (python-socketio AsyncClients in this process) take turns as fast as the
server lets them: a turn is submitted as soon as its ``battle:your_turn`` prompt arrives. A battle has
at most 200 turns, so a measurement chains battles: spectators watch each new battle before its first
turn, and only the time from a battle's first submission to the last delivery of its events counts.
Each measurement plays for about ``--seconds`` of such time.

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


async def play_battle(target: Target, pool: WorkerPool, budget: float, pad: str, res: Result) -> float:
    """One battle: create, join, let the spectators watch, play until done or out of budget.

    Returns the measured window (seconds).
    """
    a, b = target.agents
    setup_started = time.monotonic()
    view = await a.call("battle:create", {"topic": "bench", "max_turns": MAX_TURNS,
                                          "turn_duration_ms": TURN_DURATION_MS, "voting_duration_ms": 0})
    await b.call("battle:join", {"room_code": view["room_code"]})
    battle_id = str(view["id"])
    agent, prompt = await target.next_prompt(battle_id)
    await pool.all({"cmd": "watch", "event": "battle:watch", "payload": {"battle_id": battle_id}})
    await pool.all({"cmd": "arm"})
    res.setup += time.monotonic() - setup_started

    pending: list[asyncio.Task] = []
    started = time.time()
    deadline = started + budget
    turns = 0
    while True:
        sent = time.time()
        content = f"@T{sent:.6f}@ " + pad
        pending.append(asyncio.create_task(agent.turn(battle_id, content, sent)))
        turns += 1
        if prompt["turn_number"] >= MAX_TURNS or sent >= deadline:
            break
        agent, prompt = await target.next_prompt(battle_id)
    res.acks.extend(await asyncio.gather(*pending))

    drains = await pool.all({"cmd": "drain", "turns": turns, "quiet": 0.1, "timeout": 60}, timeout=120)
    last = max(d["last"] for d in drains)
    window = max(0.0, last - started)
    res.battles += 1
    res.turns += turns
    res.window += window
    for d in drains:
        for name, count in d["counts"].items():
            if name in COUNTED:
                res.events += count
            else:
                res.other[name] = res.other.get(name, 0) + count
        res.missing += max(0, d["expected_turns"] - d["turns"])
        res.latencies.extend(d["latencies"])
    return window


async def measure(target: Target, n: int, seconds: float, workers: int, pad: str) -> Result:
    res = Result(target.name, n)
    pool = WorkerPool()
    try:
        t = time.monotonic()
        await pool.start(min(workers, n))
        await pool.all([{"cmd": "connect", "url": target.server.url.replace("http", "ws", 1), "n": k,
                         "namespace": "/spectate"} for k in split(n, len(pool.procs))])
        res.setup += time.monotonic() - t
        while seconds - res.window > 0.5 or res.battles == 0:
            await play_battle(target, pool, seconds - res.window, pad, res)
    finally:
        await pool.close()
    return res


# -- output ----------------------------------------------------------------------------------------


def row(cells: list[str], widths: list[int]) -> str:
    return "  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=True)))


def report(results: list[Result], baseline: dict[int, Result]) -> str:
    head = ["N", "server", "events/s", "turns/s", "p50 ms", "p99 ms", "ack p50 ms", "battles", "window s",
            "vs baseline"]
    lines = []
    for r in results:
        base = baseline.get(r.n)
        ratio = f"{r.events_per_s / base.events_per_s:.2f}" if base and base is not r and base.events_per_s else ""
        lines.append([str(r.n), r.target, f"{r.events_per_s:,.0f}", f"{r.turns_per_s:,.1f}",
                      f"{percentile(r.latencies, 50):.1f}", f"{percentile(r.latencies, 99):.1f}",
                      f"{percentile(r.acks, 50):.1f}", str(r.battles), f"{r.window:.1f}", ratio])
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
        print(f"fan-out benchmark: N = {' '.join(map(str, args.n))}, ~{args.seconds:g} s of play per server and N, "
              f"{args.workers} spectator processes, {args.content_bytes}-char turns ({pids})", flush=True)

        results: list[Result] = []
        baseline: dict[int, Result] = {}
        for n in args.n:
            for t in targets:
                r = await measure(t, n, args.seconds, args.workers, pad)
                results.append(r)
                if t.name == "baseline":
                    baseline[n] = r
                notes = []
                if r.missing:
                    notes.append(f"{r.missing} battle:turn deliveries MISSING")
                if r.other:
                    notes.append("also delivered, not counted: " + ", ".join(f"{k} {v}" for k, v in r.other.items()))
                print(f"  N={n} {t.name}: {r.turns} turns in {r.battles} battle(s), {r.events:,} events in "
                      f"{r.window:.2f} s (setup {r.setup:.1f} s, not counted){'; ' if notes else ''}"
                      + "; ".join(notes), flush=True)

        print()
        print(report(results, baseline))
        print()
        print("events/s: battle:turn + battle:turn_started deliveries per second, summed over spectators "
              "(2 room events per turn on both servers).")
        print("p50/p99: turn submission -> battle:turn arrival at a spectator; ack p50: submission -> ack at the "
              "agent.")
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
