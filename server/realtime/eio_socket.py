"""The Engine.IO socket, lighter on memory: an idle connection holds two tasks, not five.

python-engineio's ``AsyncSocket`` keeps, for every idle websocket, a writer task waiting in
``asyncio.wait_for(queue.get(), ...)`` (on Python 3.11 that wraps the get in a task of its own), a
reader that wraps each ``ws.wait()`` in a task and then in ``wait_for`` again, and a third task that
sleeps out the ping interval. Tasks, their futures and their timer handles were about 5 KB of the
34 KB an idle socket cost (bench/ws_memory.py), now 29 KB. This class does the same work with
``asyncio.timeout`` (no task of its own) and one timer per server for every socket's next ping, so
an idle socket is the request's handler task (the reader) and the writer task.

The behaviour is the library's, line for line where it is not about tasks: the same timeouts, the
same upgrade handshake, the same order of packets. Sockets take this class from the Engine.IO
connect handler (``install``), per server: nothing is patched into the library.
"""

from __future__ import annotations

import asyncio
import math
import time
from typing import Any

from engineio import exceptions, packet
from engineio.async_socket import AsyncSocket


class PingWheel:
    """When each socket of one server gets its next ping: sockets in slots of ``SLOT`` seconds, one
    timer for the earliest slot. A ping goes out at most ``SLOT`` late; clients allow far more (the
    interval's grace period and the ping timeout)."""

    SLOT = 0.25

    def __init__(self, eio: Any) -> None:
        self.eio = eio  # its ping_interval, read at each add
        self.slots: dict[int, list[ArenaEioSocket]] = {}
        self.timer: asyncio.TimerHandle | None = None
        self.at: int | None = None  # the slot the timer is set for

    def add(self, sock: ArenaEioSocket) -> None:
        loop = asyncio.get_running_loop()
        slot = math.ceil((loop.time() + self.eio.ping_interval) / self.SLOT)
        self.slots.setdefault(slot, []).append(sock)
        if self.at is None or slot < self.at:
            self._arm(loop, slot)

    def _arm(self, loop: asyncio.AbstractEventLoop, slot: int) -> None:
        if self.timer is not None:
            self.timer.cancel()
        self.at = slot
        self.timer = loop.call_at(slot * self.SLOT, self._tick)

    def _tick(self) -> None:
        loop = asyncio.get_running_loop()
        self.timer = self.at = None
        now = loop.time()
        for slot in sorted(s for s in self.slots if s * self.SLOT <= now):
            for sock in self.slots.pop(slot):
                sock.ping_due()
        if self.slots:
            self._arm(loop, min(self.slots))

    def stop(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
        self.timer = self.at = None
        self.slots.clear()


class ArenaEioSocket(AsyncSocket):
    def schedule_ping(self) -> None:
        # Only after the previous ping was answered (the library's rule); in the server's wheel.
        if self.last_ping:
            self.last_ping = None
            self.server.arena_pings.add(self)

    def ping_due(self) -> None:
        if not self.closing and not self.closed:
            self.last_ping = time.time()
            self.queue.put_nowait(packet.Packet(packet.PING))  # the queue is unbounded

    async def close(self, wait: bool = True, abort: bool = False, reason: Any = None) -> None:
        """The library's, and a polling socket's pending GET is answered now: the library leaves it
        waiting for packets until its timeout (a ping interval and timeout, 45 s by default), so a
        client that closed, or a server that stops, held an open request that long."""
        await super().close(wait=wait, abort=abort, reason=reason)
        if abort and not self.upgraded:
            self.queue.put_nowait(None)  # poll() answers with no packets; a websocket's writer is gone

    async def poll(self, timeout: bool = True) -> list[packet.Packet]:
        """Wait for packets to send to the client: at most a ping interval and timeout, unless
        ``timeout`` is false (the websocket writer, which the reader stops: see below)."""
        try:
            if timeout:
                async with asyncio.timeout(self.server.ping_interval + self.server.ping_timeout):
                    packets = [await self.queue.get()]
            else:
                packets = [await self.queue.get()]
            self.queue.task_done()
        except (TimeoutError, asyncio.CancelledError):
            raise exceptions.QueueEmpty() from None
        if packets == [None]:
            return []
        while True:
            try:
                pkt = self.queue.get_nowait()
                self.queue.task_done()
                if pkt is None:
                    self.queue.put_nowait(None)
                    break
                packets.append(pkt)
            except asyncio.QueueEmpty:
                break
        return packets

    async def _websocket_handler(self, ws: Any) -> None:
        """Engine.IO handler for the websocket transport (the library's, without the extra tasks)."""
        server = self.server

        async def websocket_wait() -> Any:
            data = await ws.wait()
            if data and len(data) > server.max_http_buffer_size:
                raise ValueError("packet is too large")
            return data

        if self.connected:
            # the socket was already connected, so this is an upgrade
            self.upgrading = True  # hold packet sends during the upgrade
            try:
                pkt = await websocket_wait()
            except OSError:
                return
            decoded = packet.Packet(encoded_packet=pkt)
            if decoded.packet_type != packet.PING or decoded.data != "probe":
                server.logger.info("%s: Failed websocket upgrade, no PING packet", self.sid)
                self.upgrading = False
                return
            await ws.send(packet.Packet(packet.PONG, data="probe").encode())
            await self.queue.put(packet.Packet(packet.NOOP))  # end poll
            try:
                pkt = await websocket_wait()
            except OSError:
                self.upgrading = False
                return
            decoded = packet.Packet(encoded_packet=pkt)
            if decoded.packet_type != packet.UPGRADE:
                self.upgraded = False
                server.logger.info("%s: Failed websocket upgrade, expected UPGRADE packet, received %s instead.",
                                   self.sid, pkt)
                self.upgrading = False
                return
            self.upgraded = True
            self.upgrading = False
        else:
            self.connected = True
            self.upgraded = True

        # The writer waits without a timer of its own: it ends when the reader does (which puts
        # None on the queue below), and the reader gives up after the same interval the library's
        # writer would. One timer per socket instead of two.
        async def writer() -> None:
            while True:
                try:
                    packets = await self.poll(timeout=False)
                except exceptions.QueueEmpty:
                    break
                if not packets:  # connection closed
                    break
                try:
                    for pkt in packets:
                        await ws.send(pkt.encode())
                except (Exception, asyncio.CancelledError):  # as the library: any failure ends the writer
                    break
            await ws.close()

        writer_task = asyncio.ensure_future(writer())
        server.logger.info("%s: Upgrade to websocket successful", self.sid)

        while True:
            try:
                async with asyncio.timeout(server.ping_interval + server.ping_timeout):
                    p = await websocket_wait()
            except (Exception, asyncio.CancelledError):  # as the library: closed, timed out or cancelled
                break
            if p is None:  # connection closed by client
                break
            pkt = packet.Packet(encoded_packet=p)
            try:
                await self.receive(pkt)
            except exceptions.UnknownPacketError:
                pass
            except exceptions.SocketIsClosedError:
                server.logger.info("Receive error -- socket is closed")
                break
            except Exception:
                # an unexpected error is logged and the connection closed properly
                server.logger.exception("Unknown receive error")

        await self.queue.put(None)  # unlock the writer task so it can exit
        await writer_task
        await self.close(wait=False, abort=True, reason=server.reason.TRANSPORT_CLOSE)


def install(eio: Any) -> None:
    """Give every socket of this Engine.IO server the class above. The connect handler runs right
    after the socket is made, before its first ping is scheduled or its transport starts."""
    connect = eio.handlers["connect"]
    eio.arena_pings = PingWheel(eio)

    async def on_connect(sid: str, environ: dict, *args: Any) -> Any:
        sock = eio.sockets.get(sid)
        if sock is not None and type(sock) is AsyncSocket:
            sock.__class__ = ArenaEioSocket
        return await connect(sid, environ, *args)

    eio.on("connect", on_connect)
