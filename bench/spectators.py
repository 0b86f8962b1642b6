"""A spectator worker: many light Socket.IO spectators in one process, driven over stdin/stdout.

Run by bench/fanout.py, one OS process per share of the spectators. Each spectator is a bare aiohttp
websocket that speaks just enough Engine.IO v4 / Socket.IO v5 text protocol (open, namespace connect,
ping/pong, emit with ack, events) to watch a battle: a python-socketio AsyncClient per spectator
costs far more CPU, and on a small machine the clients would be measured instead of the server.

Commands, one JSON object per line on stdin; each gets one JSON line on stdout. Spectators belong to
a named group (one per server under test), so one worker can hold spectators of both servers:

- ``{"cmd": "connect", "group": g, "url": ..., "n": ..., "namespace": "/spectate"}``: open n spectators.
- ``{"cmd": "watch", "group": g, "event": "battle:watch", "payload": {...}}``: every spectator of the
  group emits it and waits for its ack (``{"ok": true, ...}``).
- ``{"cmd": "arm", "group": g}``: forget what the group counted so far.
- ``{"cmd": "drain", "group": g, "turns": T, "quiet": s, "timeout": s}``: wait until every spectator
  of the group has T ``battle:turn`` events since ``arm`` (then ``quiet`` seconds without a counted
  event, or the timeout), then report counts, the first/last arrival of a counted event and the
  latencies.
- ``{"cmd": "close"}``: close every socket and exit.

Latency: a turn's content starts with ``@T<unix time of submission>@`` (client and server on one
machine, one clock); the spectator subtracts it from its own arrival time.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
import time

import aiohttp

COUNTED = ("battle:turn", "battle:turn_started")
TURN = "battle:turn"


class Stats:
    """Shared by every spectator of this process (one counter, not one per socket)."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.counts: dict[str, int] = {}
        self.turns = 0
        self.latencies: list[float] = []  # ms, battle:turn only
        self.first = 0.0
        self.last = 0.0
        self.errors = 0
        self.changed = asyncio.Event()

    def event(self, name: str, raw: str, now: float) -> None:
        self.counts[name] = self.counts.get(name, 0) + 1
        if name not in COUNTED:
            return
        if not self.first:
            self.first = now
        self.last = now
        if name == TURN:
            self.turns += 1
            i = raw.find("@T")
            if i >= 0:
                j = raw.find("@", i + 2)
                try:
                    self.latencies.append((now - float(raw[i + 2:j])) * 1000.0)
                except ValueError:
                    self.errors += 1
        self.changed.set()


class Spectator:
    """One websocket, one namespace, minimal Socket.IO."""

    def __init__(self, stats: Stats, namespace: str) -> None:
        self.stats = stats
        self.ns = namespace
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        self.event_prefix = f"42{namespace},["
        self.ack_prefix = f"43{namespace},"
        self.acks: dict[int, asyncio.Future] = {}
        self.next_id = 0
        self.connected: asyncio.Future | None = None
        self.reader: asyncio.Task | None = None

    async def connect(self, session: aiohttp.ClientSession, url: str) -> None:
        loop = asyncio.get_running_loop()
        self.ws = await session.ws_connect(f"{url}/socket.io/?EIO=4&transport=websocket", autoping=True,
                                           max_msg_size=0, compress=0)
        msg = await self.ws.receive(timeout=30)
        if msg.type != aiohttp.WSMsgType.TEXT or not msg.data.startswith("0"):
            raise RuntimeError(f"no Engine.IO open packet: {msg!r}")
        self.connected = loop.create_future()
        self.reader = asyncio.create_task(self.read())
        await self.ws.send_str(f"40{self.ns},")
        await asyncio.wait_for(self.connected, 30)

    async def emit_ack(self, event: str, payload: object, timeout: float = 120) -> object:
        self.next_id += 1
        fut = asyncio.get_running_loop().create_future()
        self.acks[self.next_id] = fut
        await self.ws.send_str(f"42{self.ns},{self.next_id}" + json.dumps([event, payload], separators=(",", ":")))
        return await asyncio.wait_for(fut, timeout)

    async def read(self) -> None:
        ws = self.ws
        stats = self.stats
        ev_prefix = self.event_prefix
        skip = len(ev_prefix) + 1  # past the opening quote of the event name
        try:
            async for msg in ws:
                if msg.type != aiohttp.WSMsgType.TEXT:
                    break
                data = msg.data
                if data.startswith(ev_prefix):
                    now = time.time()
                    stats.event(data[skip:data.index('"', skip)], data, now)
                elif data == "2":
                    await ws.send_str("3")
                elif data.startswith(self.ack_prefix):
                    rest = data[len(self.ack_prefix):]
                    k = rest.index("[")
                    fut = self.acks.pop(int(rest[:k]), None)
                    if fut is not None and not fut.done():
                        fut.set_result(json.loads(rest[k:])[0])
                elif data.startswith(f"40{self.ns},"):
                    if self.connected is not None and not self.connected.done():
                        self.connected.set_result(None)
                elif data.startswith(f"44{self.ns},"):
                    if self.connected is not None and not self.connected.done():
                        self.connected.set_exception(RuntimeError(f"namespace refused: {data}"))
                elif data.startswith("1"):
                    break
        except (aiohttp.ClientError, ConnectionError):
            pass
        finally:
            for fut in self.acks.values():
                if not fut.done():
                    fut.set_exception(ConnectionError("socket closed"))

    async def close(self) -> None:
        if self.ws is not None and not self.ws.closed:
            await self.ws.close()
        if self.reader is not None:
            self.reader.cancel()


class Group:
    """The spectators of one server, with their shared counters."""

    def __init__(self) -> None:
        self.stats = Stats()
        self.spectators: list[Spectator] = []


class Worker:
    def __init__(self) -> None:
        self.session: aiohttp.ClientSession | None = None
        self.groups: dict[str, Group] = {}

    async def connect(self, group: str, url: str, n: int, namespace: str) -> dict:
        if self.session is None:
            self.session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0, force_close=True))
        g = self.groups.setdefault(group, Group())
        sem = asyncio.Semaphore(50)

        async def one() -> Spectator:
            s = Spectator(g.stats, namespace)
            async with sem:
                await s.connect(self.session, url)
            return s

        g.spectators += await asyncio.gather(*(one() for _ in range(n)))
        return {"ok": True, "connected": len(g.spectators)}

    async def watch(self, group: str, event: str, payload: object) -> dict:
        sem = asyncio.Semaphore(100)

        async def one(s: Spectator) -> bool:
            async with sem:
                ack = await s.emit_ack(event, payload)
            return isinstance(ack, dict) and ack.get("ok") is True

        oks = await asyncio.gather(*(one(s) for s in self.groups[group].spectators))
        return {"ok": all(oks), "failed": oks.count(False)}

    async def drain(self, group: str, turns: int, quiet: float, timeout: float) -> dict:
        g = self.groups[group]
        st = g.stats
        want = turns * len(g.spectators)
        end = time.monotonic() + timeout
        while st.turns < want and time.monotonic() < end:
            st.changed.clear()
            try:
                await asyncio.wait_for(st.changed.wait(), max(0.01, end - time.monotonic()))
            except TimeoutError:
                break
        while time.monotonic() < end:  # let the events that follow the last turn arrive too
            st.changed.clear()
            try:
                await asyncio.wait_for(st.changed.wait(), quiet)
            except TimeoutError:
                break
        return {"ok": st.turns >= want, "turns": st.turns, "expected_turns": want, "counts": st.counts,
                "first": st.first, "last": st.last, "parse_errors": st.errors,
                "latencies": [round(x, 3) for x in st.latencies]}

    async def close(self) -> dict:
        spectators = [s for g in self.groups.values() for s in g.spectators]
        await asyncio.gather(*(s.close() for s in spectators), return_exceptions=True)
        if self.session is not None:
            await self.session.close()
        return {"ok": True}


async def main() -> None:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=1 << 24)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    worker = Worker()

    def reply(obj: dict) -> None:
        sys.stdout.write(json.dumps(obj, separators=(",", ":")) + "\n")
        sys.stdout.flush()

    while True:
        line = await reader.readline()
        if not line:  # the parent went away
            await worker.close()
            return
        cmd = json.loads(line)
        try:
            match cmd["cmd"]:
                case "connect":
                    reply(await worker.connect(cmd["group"], cmd["url"], cmd["n"], cmd.get("namespace", "/spectate")))
                case "watch":
                    reply(await worker.watch(cmd["group"], cmd["event"], cmd["payload"]))
                case "arm":
                    worker.groups[cmd["group"]].stats.reset()
                    reply({"ok": True})
                case "drain":
                    reply(await worker.drain(cmd["group"], cmd["turns"], cmd.get("quiet", 0.1),
                                             cmd.get("timeout", 30)))
                case "close":
                    reply(await worker.close())
                    return
                case other:
                    reply({"ok": False, "error": f"unknown command {other!r}"})
        except Exception as exc:  # report to the parent, which decides to stop
            reply({"ok": False, "error": f"{type(exc).__name__}: {exc}"})


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole group; the parent closes us
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    asyncio.run(main())
