"""A watcher that stops reading: a websocket over a TCP socket with a tiny receive buffer, spoken by
hand, which watches an execution and then reads nothing at all (not even pings). The server's
writes to it back up quickly, as they would for a client on a dead network or a frozen tab.

Used by the slow-watcher tests and by bench/logs.py.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
import struct
from typing import Any


def _frame(text: str) -> bytes:
    """One masked client text frame."""
    payload = text.encode()
    mask = os.urandom(4)
    n = len(payload)
    if n < 126:
        head = struct.pack("!BB", 0x81, 0x80 | n)
    elif n < 65536:
        head = struct.pack("!BBH", 0x81, 0x80 | 126, n)
    else:
        head = struct.pack("!BBQ", 0x81, 0x80 | 127, n)
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


class StalledWatcher:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, host: str, port: int, rcvbuf: int = 4096) -> StalledWatcher:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        sock.setblocking(False)
        await asyncio.get_running_loop().sock_connect(sock, (host, port))
        reader, writer = await asyncio.open_connection(sock=sock, limit=2**20)
        key = base64.b64encode(os.urandom(16)).decode()
        writer.write((f"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: {host}:{port}\r\n"
                      f"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                      "Sec-WebSocket-Version: 13\r\n\r\n").encode())
        await writer.drain()
        head = await reader.readuntil(b"\r\n\r\n")
        assert b" 101 " in head.split(b"\r\n", 1)[0], head
        return cls(reader, writer)

    async def _text(self) -> str:
        b1, b2 = await self.reader.readexactly(2)
        n = b2 & 0x7F
        if n == 126:
            (n,) = struct.unpack("!H", await self.reader.readexactly(2))
        elif n == 127:
            (n,) = struct.unpack("!Q", await self.reader.readexactly(8))
        return (await self.reader.readexactly(n)).decode()

    async def _until(self, wanted) -> str:
        while True:
            msg = await asyncio.wait_for(self._text(), 10)
            if msg == "2":
                self.writer.write(_frame("3"))
            elif wanted(msg):
                return msg

    async def watch(self, namespace: str, execution_id: str, auth: Any = None) -> dict:
        """Connect the namespace and watch an execution; returns the watch ack. Then read nothing more."""
        return await self.call(namespace, "execution:watch", {"execution_id": execution_id}, auth)

    async def call(self, namespace: str, event: str, payload: Any, auth: Any = None) -> dict:
        """Connect the namespace and send one event (a watch); returns its ack. Then read nothing more."""
        await self._until(lambda m: m.startswith("0"))
        self.writer.write(_frame(f"40{namespace}," + (json.dumps(auth) if auth else "")))
        await self._until(lambda m: m.startswith(f"40{namespace},"))
        self.writer.write(_frame(f"42{namespace},1" + json.dumps([event, payload])))
        reply = await self._until(lambda m: m.startswith(f"43{namespace},1"))
        return json.loads(reply[len(f"43{namespace},1"):])[0]

    async def drain_events(self, timeout: float = 10) -> list[tuple[str, Any]]:
        """Read again: every event that was waiting for this watcher, until none comes for a while."""
        out = []
        try:
            while True:
                msg = await asyncio.wait_for(self._text(), timeout)
                if msg == "2":
                    self.writer.write(_frame("3"))
                elif msg.startswith("42/"):
                    name, data = json.loads(msg[msg.index(",") + 1:])
                    out.append((name, data))
                    if name.endswith(":resync"):
                        return out
        except (TimeoutError, asyncio.IncompleteReadError):
            pass
        return out

    def close(self) -> None:
        self.writer.close()
