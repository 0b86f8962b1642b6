"""A spectator worker: many light Socket.IO spectators in one process, driven over stdin/stdout.

Run by bench/fanout.py, one OS process per share of the spectators. The load generator has to stay
cheaper than the fastest server it measures (the Node socket.io baseline), so a spectator is a bare
asyncio protocol on a TCP socket: it does the websocket upgrade itself, splits the server's
(unmasked) frames in the bytes it receives and speaks just enough Engine.IO v4 / Socket.IO v5 text
protocol (open, namespace connect, ping/pong, emit with ack, events) to watch a battle. Per frame the
hot path is a couple of ``bytes.startswith`` at an offset and a counter increment: no decoding to str,
no JSON, no message object, one ``time.time()`` per read. Only the sampled spectators (one in
``sample_every``) also look for the turn's timestamp to record a latency.

Commands, one JSON object per line on stdin; each gets one JSON line on stdout. Spectators belong to
a named group (one per server under test), so one worker can hold spectators of every server:

- ``{"cmd": "connect", "group": g, "url": ..., "n": ..., "namespace": "/spectate", "sample_every": k}``:
  open n spectators; every k-th records latencies.
- ``{"cmd": "watch", "group": g, "event": "battle:watch", "payload": {...}}``: every spectator of the
  group emits it and waits for its ack (``{"ok": true, ...}``).
- ``{"cmd": "arm", "group": g}``: forget what the group counted so far.
- ``{"cmd": "drain", "group": g, "turns": T, "quiet": s, "timeout": s}``: wait until every spectator
  of the group has T ``battle:turn`` events since ``arm`` (then ``quiet`` seconds without a counted
  event, or the timeout), then report counts, the last arrival of a counted event and the latencies.
- ``{"cmd": "close"}``: close every socket and exit.

Latency: a turn's content starts with ``@T<unix time of submission>@`` (client and server on one
machine, one clock); the spectator subtracts it from its own arrival time.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import signal
import sys
import time
from urllib.parse import urlsplit

POLL = 0.005  # seconds between two looks at the counters while draining

# First byte of a final frame (FIN set) by opcode; the servers neither fragment nor send binary.
TEXT, CLOSE, PING, PONG = 0x81, 0x88, 0x89, 0x8A


class Stats:
    """Shared by every spectator of one group in this process (one counter, not one per socket)."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.turns = 0  # battle:turn deliveries
        self.started = 0  # battle:turn_started deliveries
        self.other: dict[str, int] = {}  # any other event, by name
        self.latencies: list[float] = []  # ms, battle:turn only, sampled spectators only
        self.last = 0.0  # arrival of the last battle:turn or battle:turn_started
        self.errors = 0  # unreadable timestamps, unexpected frames

    def counts(self) -> dict[str, int]:
        return {"battle:turn": self.turns, "battle:turn_started": self.started, **self.other}


def frame(first: int, payload: bytes) -> bytes:
    """A client frame: always masked (RFC 6455), here with a fresh random key."""
    n = len(payload)
    if n < 126:
        head = bytes((first, 0x80 | n))
    elif n < 1 << 16:
        head = bytes((first, 0x80 | 126)) + n.to_bytes(2, "big")
    else:
        head = bytes((first, 0x80 | 127)) + n.to_bytes(8, "big")
    mask = os.urandom(4)
    key = (mask * (n // 4 + 1))[:n]
    return head + mask + (int.from_bytes(payload, "big") ^ int.from_bytes(key, "big")).to_bytes(n, "big")


class Spectator(asyncio.Protocol):
    """One websocket, one namespace, minimal Socket.IO."""

    def __init__(self, stats: Stats, namespace: str, sampled: bool) -> None:
        self.stats = stats
        self.ns = namespace
        self.sampled = sampled
        prefix = f"42{namespace},[\"".encode()
        self.event_prefix = prefix
        self.turn_prefix = prefix + b'battle:turn",'
        self.started_prefix = prefix + b'battle:turn_started",'
        self.ack_prefix = f"43{namespace},".encode()
        self.joined_prefix = f"40{namespace},".encode()
        self.refused_prefix = f"44{namespace},".encode()
        self.transport: asyncio.Transport | None = None
        self.buf = b""
        self.upgraded = False
        loop = asyncio.get_running_loop()
        self.opened = loop.create_future()  # the Engine.IO open packet arrived
        self.joined = loop.create_future()  # the namespace accepted us
        self.acks: dict[int, asyncio.Future] = {}
        self.next_id = 0

    # -- driving it ----------------------------------------------------------------------------

    async def connect(self, url: str) -> None:
        u = urlsplit(url)
        await asyncio.get_running_loop().create_connection(lambda: self, u.hostname, u.port)
        key = base64.b64encode(os.urandom(16)).decode()
        self.transport.write(
            f"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: {u.netloc}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode())
        await asyncio.wait_for(self.opened, 30)
        self.send(f"40{self.ns},")
        await asyncio.wait_for(self.joined, 30)

    def send(self, text: str) -> None:
        self.transport.write(frame(TEXT, text.encode()))

    async def emit_ack(self, event: str, payload: object, timeout: float = 120) -> object:
        self.next_id += 1
        fut = asyncio.get_running_loop().create_future()
        self.acks[self.next_id] = fut
        self.send(f"42{self.ns},{self.next_id}" + json.dumps([event, payload], separators=(",", ":")))
        return await asyncio.wait_for(fut, timeout)

    def close(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(frame(CLOSE, (1000).to_bytes(2, "big")))
            self.transport.close()

    # -- asyncio.Protocol --------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def connection_lost(self, exc: Exception | None) -> None:
        for fut in (self.opened, self.joined, *self.acks.values()):
            if not fut.done():
                fut.set_exception(ConnectionError("socket closed"))

    def data_received(self, data: bytes) -> None:
        buf = self.buf + data if self.buf else data
        if not self.upgraded:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                self.buf = buf
                return
            if not buf.startswith((b"HTTP/1.1 101 ", b"HTTP/1.0 101 ")):
                self.opened.set_exception(RuntimeError(f"no websocket upgrade: {buf[:end].decode(errors='replace')}"))
                self.transport.close()
                return
            self.upgraded = True
            buf = buf[end + 4:]
        self.buf = self.frames(buf, time.time())

    # -- reading -----------------------------------------------------------------------------------

    def frames(self, buf: bytes, now: float) -> bytes:
        """Handle every complete frame in ``buf``; returns the incomplete rest."""
        pos, size = 0, len(buf)
        while size - pos >= 2:
            length = buf[pos + 1]  # a server's frames are not masked: no mask bit, no key
            head = pos + 2
            if length == 126:
                if size - head < 2:
                    break
                length = int.from_bytes(buf[head:head + 2], "big")
                head += 2
            elif length == 127:
                if size - head < 8:
                    break
                length = int.from_bytes(buf[head:head + 8], "big")
                head += 8
            end = head + length
            if end > size:
                break
            first = buf[pos]
            if first == TEXT:
                self.text(buf, head, end, now)
            elif first == PING:
                self.transport.write(frame(PONG, buf[head:end]))
            elif first == CLOSE:
                self.transport.close()
            elif first != PONG:
                self.stats.errors += 1
                self.transport.close()
            pos = end
        return buf[pos:]

    def text(self, buf: bytes, start: int, end: int, now: float) -> None:
        """One Engine.IO packet, buf[start:end]; the counted events first, they are nearly all the traffic."""
        stats = self.stats
        if buf.startswith(self.turn_prefix, start):
            stats.turns += 1
            stats.last = now
            if self.sampled:
                self.latency(buf, start, end, now)
        elif buf.startswith(self.started_prefix, start):
            stats.started += 1
            stats.last = now
        elif buf.startswith(self.event_prefix, start):
            i = start + len(self.event_prefix)
            name = buf[i:buf.index(b'"', i, end)].decode()
            stats.other[name] = stats.other.get(name, 0) + 1
        elif buf[start:end] == b"2":
            self.send("3")
        elif buf.startswith(self.ack_prefix, start):
            rest = buf[start + len(self.ack_prefix):end]
            k = rest.index(b"[")
            fut = self.acks.pop(int(rest[:k]), None)
            if fut is not None and not fut.done():
                fut.set_result(json.loads(rest[k:])[0])
        elif buf.startswith(self.joined_prefix, start):
            if not self.joined.done():
                self.joined.set_result(None)
        elif buf.startswith(self.refused_prefix, start):
            if not self.joined.done():
                self.joined.set_exception(RuntimeError(f"namespace refused: {buf[start:end]!r}"))
        elif buf.startswith(b"0", start):
            if not self.opened.done():
                self.opened.set_result(None)
        elif buf.startswith(b"1", start):
            self.transport.close()

    def latency(self, buf: bytes, start: int, end: int, now: float) -> None:
        i = buf.find(b"@T", start, end)
        j = buf.find(b"@", i + 2, end) if i >= 0 else -1
        try:
            self.stats.latencies.append((now - float(buf[i + 2:j])) * 1000.0)
        except ValueError:
            self.stats.errors += 1


class Group:
    """The spectators of one server, with their shared counters."""

    def __init__(self) -> None:
        self.stats = Stats()
        self.spectators: list[Spectator] = []


class Worker:
    def __init__(self) -> None:
        self.groups: dict[str, Group] = {}

    async def connect(self, group: str, url: str, n: int, namespace: str, sample_every: int) -> dict:
        g = self.groups.setdefault(group, Group())
        sem = asyncio.Semaphore(50)

        async def one(i: int) -> Spectator:
            s = Spectator(g.stats, namespace, sampled=i % sample_every == 0)
            async with sem:
                await s.connect(url)
            return s

        g.spectators += await asyncio.gather(*(one(i) for i in range(n)))
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
            await asyncio.sleep(POLL)
        while time.monotonic() < end:  # let the events that follow the last turn arrive too
            last = st.last
            await asyncio.sleep(quiet)
            if st.last == last:
                break
        return {"ok": st.turns >= want, "turns": st.turns, "expected_turns": want, "counts": st.counts(),
                "last": st.last, "errors": st.errors, "latencies": [round(x, 3) for x in st.latencies]}

    async def close(self) -> dict:
        for g in self.groups.values():
            for s in g.spectators:
                s.close()
        await asyncio.sleep(0)  # let the transports flush their close frames
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
                    reply(await worker.connect(cmd["group"], cmd["url"], cmd["n"], cmd.get("namespace", "/spectate"),
                                               cmd.get("sample_every", 1)))
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
