"""A spectator worker for the room benchmarks (bench/churn.py, bench/crossproc.py), driven over stdin/stdout.

Many rooms, a few spectators each, as browsers would be: each spectator is bench/spectators.py's bare
asyncio websocket (reused by import: the same upgrade, frame splitting and Engine.IO / Socket.IO
handling), except that it offers permessage-deflate as browsers do
(``Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits``) and inflates the frames
the server compressed if the server accepted the offer (``WS_COMPRESSION=true``; by default the arena
declines it). A spectator watches one battle with ``battle:watch {battle_id, snapshot_only: true}``,
as the page does on a first visit.

Commands, one JSON object per line on stdin, each answered by one JSON line on stdout. Spectators
belong to a named group (e.g. one per server process):

- ``{"cmd": "connect", "group": g, "url": ..., "rooms": {battle_id: n, ...}, "sample_every": k}``: open
  n spectators per battle and let each watch it; every k-th records latencies. Answers how many
  connected, how many failed, and the extensions the server answered (``{value: count}``).
- ``{"cmd": "churn", "group": g, "per_second": r, "max_inflight": m}``: from now on close r random
  spectators of the group per second and open as many new ones in the same rooms (each connects and
  watches); at most m replacements under way at once (more are skipped and counted as ``behind``).
  ``per_second`` 0 stops churning.
- ``{"cmd": "arm"}``: forget what every group counted so far (events, latencies, connects).
- ``{"cmd": "report"}``: per group, the counts since ``arm``.
- ``{"cmd": "close"}``: close every socket and exit.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import random
import signal
import sys
import time
import zlib
from urllib.parse import urlsplit

from spectators import Spectator, Stats

OFFER = "permessage-deflate; client_max_window_bits"  # what Chrome and Firefox send
SYNC_FLUSH_TAIL = b"\x00\x00\xff\xff"  # RFC 7692 7.2.2: stripped by the sender, appended to inflate


def server_frame(first: int, payload: bytes) -> bytes:
    """An unmasked frame, as a server sends it (what ``Spectator.frames`` reads)."""
    n = len(payload)
    if n < 126:
        return bytes((first, n)) + payload
    if n < 1 << 16:
        return bytes((first, 126)) + n.to_bytes(2, "big") + payload
    return bytes((first, 127)) + n.to_bytes(8, "big") + payload


class BrowserSpectator(Spectator):
    """spectators.Spectator offering permessage-deflate like a browser, and inflating if it was accepted."""

    def __init__(self, stats: Stats, namespace: str, sampled: bool) -> None:
        super().__init__(stats, namespace, sampled)
        self.extensions = ""  # the server's Sec-WebSocket-Extensions answer ("" when it declined)
        self.inflater = None  # a zlib decompressobj once permessage-deflate is on
        self.no_takeover = False  # server_no_context_takeover: a fresh inflater per message

    async def connect(self, url: str) -> None:
        # Spectator.connect, plus the extension offer.
        u = urlsplit(url)
        await asyncio.get_running_loop().create_connection(lambda: self, u.hostname, u.port)
        key = base64.b64encode(os.urandom(16)).decode()
        self.transport.write(
            f"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: {u.netloc}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
            f"Sec-WebSocket-Extensions: {OFFER}\r\n\r\n".encode())
        await asyncio.wait_for(self.opened, 30)
        self.send(f"40{self.ns},")
        await asyncio.wait_for(self.joined, 30)

    def data_received(self, data: bytes) -> None:
        if not self.upgraded:  # look at the answer's headers before Spectator takes them off
            head = self.buf + data
            end = head.find(b"\r\n\r\n")
            if end >= 0:
                for line in head[:end].split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"sec-websocket-extensions":
                        self.extensions = value.strip().decode(errors="replace")
                if "permessage-deflate" in self.extensions:
                    self.inflater = zlib.decompressobj(-15)
                    self.no_takeover = "server_no_context_takeover" in self.extensions
        super().data_received(data)

    def frames(self, buf: bytes, now: float) -> bytes:
        if self.inflater is None:
            return super().frames(buf, now)
        plain, rest = self.inflate(buf)
        super().frames(plain, now)  # complete frames only: nothing is left over
        return rest

    def inflate(self, buf: bytes) -> tuple[bytes, bytes]:
        """The complete frames of ``buf`` with compressed ones (RSV1 set) inflated, and the incomplete rest."""
        out = []
        pos, size = 0, len(buf)
        while size - pos >= 2:
            length = buf[pos + 1]
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
            if first & 0x40:
                if self.no_takeover:
                    self.inflater = zlib.decompressobj(-15)
                payload = self.inflater.decompress(buf[head:end] + SYNC_FLUSH_TAIL)
                out.append(server_frame(first & ~0x40, payload))
            else:
                out.append(buf[pos:end])
            pos = end
        return b"".join(out), buf[pos:]


def percentiles(values: list[float], qs: tuple[float, ...] = (50, 99)) -> list[float | None]:
    if not values:
        return [None for _ in qs]
    s = sorted(values)
    return [s[min(len(s) - 1, max(0, round(q / 100 * (len(s) - 1))))] for q in qs]


class Group:
    """The spectators of one target (a server process), with their shared counters and churn."""

    def __init__(self, url: str, sample_every: int) -> None:
        self.url = url
        self.sample_every = sample_every
        self.stats = Stats()
        # One slot per spectator: (battle id, socket or None while it is being replaced or failed).
        self.slots: list[tuple[str, BrowserSpectator | None]] = []
        self.busy: set[int] = set()  # slots being replaced
        self.extensions: dict[str, int] = {}
        self.churn_task: asyncio.Task | None = None
        self.reset()

    def reset(self) -> None:
        self.stats.reset()
        self.connects = 0  # replacements that connected and watched
        self.connect_ms: list[float] = []
        self.failed = 0
        self.closed = 0
        self.behind = 0  # replacements skipped: max_inflight were under way

    async def open(self, battle_id: str, sampled: bool) -> BrowserSpectator:
        s = BrowserSpectator(self.stats, "/spectate", sampled)
        try:
            await s.connect(self.url)
            ack = await s.emit_ack("battle:watch", {"battle_id": battle_id, "snapshot_only": True}, timeout=60)
            if not (isinstance(ack, dict) and ack.get("ok") is True):
                raise RuntimeError(f"battle:watch refused: {ack}")
        except BaseException:
            s.close()
            raise
        self.extensions[s.extensions] = self.extensions.get(s.extensions, 0) + 1
        return s

    async def connect(self, rooms: dict[str, int], concurrency: int = 50) -> dict:
        sem = asyncio.Semaphore(concurrency)
        start = len(self.slots)
        for battle_id, n in rooms.items():
            self.slots += [(battle_id, None)] * n

        async def one(i: int) -> bool:
            battle_id = self.slots[i][0]
            async with sem:
                try:
                    self.slots[i] = (battle_id, await self.open(battle_id, i % self.sample_every == 0))
                    return True
                except Exception:
                    return False

        oks = await asyncio.gather(*(one(i) for i in range(start, len(self.slots))))
        return {"ok": True, "connected": oks.count(True), "failed": oks.count(False),
                "extensions": self.extensions}

    async def replace(self, i: int) -> None:
        battle_id, old = self.slots[i]
        if old is not None:
            old.close()
            self.closed += 1
        self.slots[i] = (battle_id, None)
        started = time.monotonic()
        try:
            new = await self.open(battle_id, i % self.sample_every == 0)
        except Exception:
            self.failed += 1
        else:
            self.slots[i] = (battle_id, new)
            self.connects += 1
            self.connect_ms.append((time.monotonic() - started) * 1000)
        finally:
            self.busy.discard(i)

    async def churn(self, per_second: float, max_inflight: int) -> None:
        tasks: set[asyncio.Task] = set()
        owed = 0.0
        last = time.monotonic()
        while True:
            await asyncio.sleep(0.02)
            now = time.monotonic()
            owed += per_second * (now - last)
            last = now
            while owed >= 1:
                owed -= 1
                if len(self.busy) >= max_inflight or len(self.busy) >= len(self.slots):
                    self.behind += 1
                    continue
                i = random.randrange(len(self.slots))
                while i in self.busy:
                    i = random.randrange(len(self.slots))
                self.busy.add(i)
                t = asyncio.create_task(self.replace(i))
                tasks.add(t)
                t.add_done_callback(tasks.discard)

    def set_churn(self, per_second: float, max_inflight: int) -> None:
        if self.churn_task is not None:
            self.churn_task.cancel()
            self.churn_task = None
        if per_second > 0:
            self.churn_task = asyncio.create_task(self.churn(per_second, max_inflight))

    def report(self) -> dict:
        st = self.stats
        return {"counts": st.counts(), "last": st.last, "errors": st.errors,
                "latencies": [round(x, 3) for x in st.latencies], "connects": self.connects,
                "connect_ms": [round(x, 2) for x in self.connect_ms], "failed": self.failed, "closed": self.closed,
                "behind": self.behind, "open": sum(1 for _, s in self.slots if s is not None and s.upgraded
                                                   and not s.transport.is_closing())}

    def close(self) -> None:
        if self.churn_task is not None:
            self.churn_task.cancel()
        for _, s in self.slots:
            if s is not None:
                s.close()


class Worker:
    def __init__(self) -> None:
        self.groups: dict[str, Group] = {}

    async def handle(self, cmd: dict) -> dict:
        match cmd["cmd"]:
            case "connect":
                g = self.groups.setdefault(cmd["group"], Group(cmd["url"], max(1, cmd.get("sample_every", 1))))
                return await g.connect(cmd["rooms"], cmd.get("concurrency", 50))
            case "churn":
                self.groups[cmd["group"]].set_churn(cmd["per_second"], cmd.get("max_inflight", 100))
                return {"ok": True}
            case "arm":
                for g in self.groups.values():
                    g.reset()
                return {"ok": True}
            case "report":
                return {"ok": True, "groups": {name: g.report() for name, g in self.groups.items()}}
            case "close":
                for g in self.groups.values():
                    g.close()
                await asyncio.sleep(0)  # let the transports flush their close frames
                return {"ok": True}
        return {"ok": False, "error": f"unknown command {cmd['cmd']!r}"}


async def main() -> None:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=1 << 24)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    worker = Worker()
    while True:
        line = await reader.readline()
        if not line:  # the parent went away
            await worker.handle({"cmd": "close"})
            return
        cmd = json.loads(line)
        try:
            answer = await worker.handle(cmd)
        except Exception as exc:  # report to the parent, which decides to stop
            answer = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
        sys.stdout.write(json.dumps(answer, separators=(",", ":")) + "\n")
        sys.stdout.flush()
        if cmd["cmd"] == "close":
            return


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole group; the parent closes us
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    asyncio.run(main())
