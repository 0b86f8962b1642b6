"""The Socket.IO server of one process, and how the rest of the code talks to clients."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable

import socketio
from aiohttp import web
from redis.exceptions import RedisError

from ..metrics import Metrics
from ..settings import Settings
from . import eio_socket
from .fanout import LocalFanout
from .manager import ArenaRedisManager
from .models import RoomEvent
from .packets import ArenaPacket
from .revocation import SocketCredentials
from .transport import close_all
from .transport import configure as configure_transport

log = logging.getLogger(__name__)

AGENT_NS = "/agent"
SPECTATE_NS = "/spectate"
NAMESPACES = (AGENT_NS, SPECTATE_NS)


CLOSE_TASKS_TIMEOUT = 5.0
# A call whose "reply" is LEAVE + a room name is not a call: each socket it reaches leaves that room
# (on the process that holds the socket), then gets the event (Outbox.user_leaves).
LEAVE = "leave:"
# Likewise ENTER + a room name: each socket it reaches enters that room, then gets the event
# (Outbox.agent_enters: an agent matched into a battle hears its room from then on).
ENTER = "enter:"


def agent_room(agent_id: object) -> str:
    """The private room every connection of one agent is in."""
    return f"agent:{agent_id}"


def user_room(user_id: object) -> str:
    """The private room every /spectate connection of one signed-in person is in."""
    return f"user:{user_id}"


class Realtime:
    """Owns the Socket.IO server. Domains publish room events through it, after their commit."""

    def __init__(self, settings: Settings, redis_url: str, metrics: Metrics) -> None:
        self.settings = settings
        self.metrics = metrics
        self.manager = ArenaRedisManager(redis_url, settings.socketio_channel, SPECTATE_NS, settings)
        self.sio = socketio.AsyncServer(
            async_mode="aiohttp",
            client_manager=self.manager,
            # Any page may open a socket with a token, an API key, or none; the session cookie is
            # the one ambient credential, and connections.py checks the origin of sockets using it.
            cors_allowed_origins="*",
            serializer=ArenaPacket,
            # The hard cap at the transport; the 64 KiB rule is checked per event with a clear error.
            max_http_buffer_size=max(settings.socket_max_message_bytes * 4, 256 * 1024,
                                     settings.execution_log_max_message_bytes + 64 * 1024,
                                     settings.tts_audio_max_bytes + 64 * 1024),
            logger=False,
            engineio_logger=False,
        )
        self.open_sockets = configure_transport(self.sio, settings.ws_compression)
        eio_socket.install(self.sio.eio)
        self.manager.fanout = LocalFanout(self.sio.eio.sockets, self.open_sockets.by_eio_sid,
                                          fast=settings.fanout_fast_path, write_limit=settings.ws_write_buffer_bytes,
                                          queue_limit=settings.socket_queue_limit)
        self.kinds: dict[str, object] = {}
        # Called as hook(core, actor, sid) when an agent's socket goes (e.g. to start a seat's grace).
        self.disconnect_hooks: list = []
        # Called as hook(core, actor, sid) when an agent connects (e.g. to give a seat back).
        self.connect_hooks: list = []
        self._tasks: set[asyncio.Task] = set()
        self._closing = False
        self.audience = None  # server.realtime.audience.Audience, once Redis is up
        # Which agents have a socket on any process: the same counting as the audience, over the
        # agent:<id> rooms of /agent (set with the audience).
        self.presence = None
        # Calls (Outbox.call): an emit to an agent whose ack is handled by the process holding the
        # socket, with replies[name](core, actor, sid, data, answer). core_getter is set by the app.
        self.replies: dict[str, Callable[..., Awaitable[None]]] = {}
        self.core_getter: Callable[[], object] | None = None
        self.credentials = SocketCredentials(self.sio)
        self.manager.on_revoke = self.credentials.revoke_soon
        self.manager.on_resubscribed = self._revalidate_soon
        self.manager.on_overflow = self._overflow
        self.manager.on_split = self.deliver_split
        self.manager.on_room_bytes = self._count_room_bytes
        self.manager.on_call = self._deliver_call

    def _cut_off(self, eio_sid: str | None) -> None:
        """Drop a connection that does not read, without waiting on it (a close waits for its queue to
        be written, which is what it does not do): a websocket's transport is aborted, which ends it;
        a polling socket is closed in the background."""
        if eio_sid is None:
            return
        open_ws = self.open_sockets.by_eio_sid.get(eio_sid)
        if open_ws is not None:
            open_ws[1].abort()
            return
        sock = self.sio.eio.sockets.get(eio_sid)
        if sock is not None:
            task = asyncio.get_running_loop().create_task(sock.close(wait=False, abort=True))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    def _count_room_bytes(self, size: int, own: bool) -> None:
        self.metrics.pubsub_room_bytes.labels("own" if own else "other").inc(size)

    def add_kind(self, kind) -> None:
        """A room kind (realtime.rooms.RoomKind) this server serves."""
        self.kinds[kind.kind] = kind
        if kind.bounded:
            self.manager.bounded_kinds.add(kind.kind)

    async def _overflow(self, namespace: str, sid: str, room: str, event: dict) -> None:
        """A socket fell too far behind (fanout.py's bounds) while an event of ``room`` went out.

        A watcher of a room kind leaves every live room of the watched room and gets one resync
        event (after what it already has waiting), and catches up by seq from it. A socket behind
        on anything else (an agent's private messages) is disconnected: it reconnects and resumes.
        """
        base = room.partition("#")[0]
        kind = self.kinds.get(base.partition(":")[0])
        if kind is None:
            self.metrics.slow_watchers.labels("other").inc()
            log.info("socket %s fell behind on %s; disconnecting it", sid, room or "its namespace")
            self._cut_off(self.manager.eio_sid_from_sid(sid, namespace))
            return
        for name in kind.rooms_to_leave(base):
            await self.leave(sid, namespace, name)
        name, payload = kind.resync(base, event)
        self.metrics.slow_watchers.labels(kind.kind).inc()
        log.info("watcher %s of %s fell behind; sent %s", sid, base, name)
        self.manager.send_forced(namespace, sid, name, payload)

    def attach(self, app: web.Application) -> None:
        self.sio.attach(app, socketio_path="socket.io")

        async def close_client_connections(app: web.Application) -> None:
            # on_shutdown, not a cleanup context: aiohttp waits for open handlers (a websocket is
            # one) before it runs cleanup contexts, so without this a stop waits out its timeout.
            await self.close_connections()

        app.on_shutdown.append(close_client_connections)

    async def publish(self, events: Iterable[RoomEvent],
                      private: Iterable[tuple] = (),
                      routed: Iterable[tuple[str, dict, list[str]]] = (),
                      to_users: Iterable[tuple] = ()) -> None:
        """Send committed room events to every watcher and member, then private agent messages, on
        every process, in order, with one Redis round trip.

        ``private`` are (agent_id, event, data) or, for a call, (agent_id, event, data, reply);
        ``to_users`` are (user_id, event, data), sent to the person's pages (``user:<id>`` on /spectate).
        ``routed`` are (event, payload, rooms): room events already dumped that go to some parts of
        a room only (an execution's log lines to the watchers of their level).
        Each payload is built once; python-socketio does the per-recipient work.
        """
        emits = []
        for event in events:
            payload = event.model_dump(mode="json")
            emits += [(event.type, payload, ns, event.room) for ns in NAMESPACES]
            self.metrics.events_out.labels(event.room.split(":", 1)[0]).inc()
        for name, payload, rooms in routed:
            emits += [(name, payload, ns, rooms) for ns in NAMESPACES]
            self.metrics.events_out.labels(rooms[0].split(":", 1)[0]).inc()
        emits += [(event, data, AGENT_NS, agent_room(agent_id), *call) for agent_id, event, data, *call in private]
        emits += [(event, data, SPECTATE_NS, user_room(user_id), *leave) for user_id, event, data, *leave in to_users]
        if emits:
            await self.manager.emit_batch(emits)

    async def _deliver_call(self, namespace: str, room: str, event: str, data: object, reply: str) -> None:
        """A call reached this process: send it to each local socket in ``room`` with an ack; the
        answer goes to the reply handler here, where the socket is (no cross-process callback)."""
        sids = list(self.sio.manager.rooms.get(namespace, {}).get(room, {}))
        if reply.startswith(LEAVE):  # not a call: these sockets leave a room, then hear why
            for sid in sids:
                await self.leave(sid, namespace, reply[len(LEAVE):])
                await socketio.AsyncManager.emit(self.sio.manager, event, data, namespace=namespace, room=sid)
            return
        if reply.startswith(ENTER):
            # Entering waits for Redis to confirm the room's channel, which the pub/sub listener (that
            # may be running this very delivery) has to read: the entering runs beside it.
            task = asyncio.create_task(self._enter_then_tell(namespace, sids, reply[len(ENTER):], event, data))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            return
        for sid in sids:
            async def answered(*args: object, _sid: str = sid) -> None:
                await self._on_reply(namespace, _sid, reply, data, args[0] if args else None)

            await socketio.AsyncManager.emit(self.sio.manager, event, data, namespace=namespace, room=sid,
                                             callback=answered)

    async def _enter_then_tell(self, namespace: str, sids: list[str], room: str, event: str, data: object) -> None:
        try:
            await asyncio.gather(*(self.enter(sid, namespace, room) for sid in sids))
            for sid in sids:
                await socketio.AsyncManager.emit(self.sio.manager, event, data, namespace=namespace, room=sid)
        except Exception as exc:  # a socket gone meanwhile: it finds its battles again when it reconnects
            log.info("entering %s for %s: %r", room, event, exc)

    async def _on_reply(self, namespace: str, sid: str, reply: str, data: object, answer: object) -> None:
        handler = self.replies.get(reply)
        if handler is None or self.core_getter is None:
            return
        try:
            session = await self.sio.get_session(sid, namespace=namespace)
        except KeyError:
            return  # the socket went meanwhile: the deadline in the row decides
        actor = session.get("actor")
        if actor is None:
            return
        try:
            await handler(self.core_getter(), actor, sid, data, answer)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # an answer that cannot be used: the deadline in the row decides
            log.info("reply %s from %s not used: %r", reply, sid, exc)

    async def connected(self, agent_ids: Iterable[object]) -> set[str]:
        """Which of ``agent_ids`` (as text) have a socket on some process now (this one is asked
        first; the others through the presence counts in Redis)."""
        wanted = [str(a) for a in agent_ids]
        held = self.sio.manager.rooms.get(AGENT_NS, {})
        here = {a for a in wanted if held.get(agent_room(a))}
        rest = [a for a in wanted if a not in here]
        if rest and self.presence is not None:
            counts = await self.presence.counts([agent_room(a) for a in rest], skip_own=True)
            here |= {a for a in rest if counts.get(agent_room(a), 0) > 0}
        return here

    def agents_held(self) -> dict[str, int]:
        """Sockets per agent (``agent:<id>`` room) on this process."""
        rooms = self.sio.manager.rooms.get(AGENT_NS, {})
        return {room: len(members) for room, members in rooms.items()
                if isinstance(room, str) and room.startswith("agent:") and len(members)}

    async def publish_split(self, event: str, payload: dict, room: str) -> None:
        """A committed room event whose watchers see different parts of it (an execution's log
        batch, by level): one message to the other processes, and every process (this one first)
        builds and encodes only the parts its own watchers are in (``RoomKind.split``)."""
        self.metrics.events_out.labels(room.split(":", 1)[0]).inc()
        await self.deliver_split(event, payload, room)
        await self.manager.publish_split(event, payload, room)

    async def deliver_split(self, event: str, payload: dict, room: str) -> None:
        kind = self.kinds.get(room.partition(":")[0])
        if kind is None:
            return
        parts = None
        for ns in NAMESPACES:
            held = self.sio.manager.rooms.get(ns, {})
            if not any(held.get(name) for name in kind.rooms_to_leave(room)):
                continue
            parts = parts if parts is not None else kind.split(room, payload)
            for data, names in parts:
                present = [name for name in names if held.get(name)]
                if present:
                    await self.manager.emit_local(event, data, ns, present)
        for ev in self.manager.waiters_of(room):
            ev.set()

    async def enter(self, sid: str, namespace: str, room: str) -> None:
        """Put a connection in a room (spectators on /spectate are counted, see audience.py)."""
        await self.sio.enter_room(sid, room, namespace=namespace)
        if namespace == SPECTATE_NS and self.audience is not None:
            self.audience.changed()
        # Before the caller reads what the socket should see: events other processes publish to
        # the room from now on reach this process (channels.py).
        await self.manager.channel_ready(room)

    async def leave(self, sid: str, namespace: str, room: str) -> None:
        await self.sio.leave_room(sid, room, namespace=namespace)
        if namespace == SPECTATE_NS and self.audience is not None:
            self.audience.changed()

    def spectators_held(self) -> dict[str, int]:
        """Spectators per room on this process, as its Socket.IO manager holds them right now."""
        rooms = self.sio.manager.rooms.get(SPECTATE_NS, {})
        # "execution:<id>#info" is a part of a room, not a room: its watchers are counted in the room.
        # "user:<id>" is a person's private room: their pages, not an audience.
        return {room: len(members) for room, members in rooms.items()
                if isinstance(room, str) and ":" in room and "#" not in room and len(members)
                and not room.startswith("user:")}

    async def revoke(self, subjects: list[str]) -> None:
        """Cut off every socket, on every process, that stands on one of ``subjects`` (call after the
        revocation committed and its markers were written, see auth.sessions.revoked). A push that
        cannot be published is retried; a socket it misses anyway is refused at its next event (the
        markers) and cut off at its process's next revalidation."""
        if not subjects:
            return
        await asyncio.gather(self.manager.publish_revocation(subjects), self.credentials.revoke(subjects))

    def _revalidate_soon(self) -> None:
        task = asyncio.get_running_loop().create_task(self._revalidate())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _revalidate(self) -> None:
        try:
            await self.credentials.revalidate()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # PostgreSQL away: the next round tries again
            log.warning("could not re-check socket credentials: %s", exc)

    async def _revalidate_every(self, interval: float) -> None:
        while not self._closing:
            await asyncio.sleep(interval)
            await self._revalidate()

    def waiter(self, room: str) -> asyncio.Event:
        """Register interest before reading the database, so nothing committed in between is missed."""
        return self.manager.add_waiter(room)

    def drop_waiter(self, room: str, ev: asyncio.Event) -> None:
        self.manager.remove_waiter(room, ev)

    async def channel_ready(self, room: str) -> bool:
        return await self.manager.channel_ready(room)

    async def pubsub_healthy(self, timeout: float = 1.0) -> bool:
        return await self.manager.probe(timeout)

    def start_watchdog(self, interval: float, revalidate_interval: float) -> None:
        self._tasks.add(asyncio.create_task(self._watch_listener(interval)))
        self._tasks.add(asyncio.create_task(self._revalidate_every(revalidate_interval)))

    async def _watch_listener(self, interval: float) -> None:
        """Restart the pub/sub listener when two probes in a row fail while Redis answers."""
        failures = 0
        while not self._closing:
            await asyncio.sleep(interval)
            try:
                if self.audience is not None:
                    await self.audience.heartbeat()
                if self.presence is not None:
                    await self.presence.flush(full=True)
            except (RedisError, OSError) as exc:
                log.warning("spectator heartbeat failed: %s", exc)
            try:
                if await self.manager.probe(2.0):
                    failures = 0
                    continue
                failures += 1
                if failures >= 2:
                    log.error("Redis pub/sub listener is not delivering; restarting it")
                    await self.manager.restart_listener()
                    failures = 0
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("pub/sub watchdog failed")

    async def close_connections(self) -> None:
        """Close every client websocket of this process (they reconnect, to any process) and answer
        every long poll (REST waits, and Engine.IO polling requests with a close packet)."""
        self.manager.release_waiters()
        for sock in list(self.sio.eio.sockets.values()):
            if not sock.upgraded and not sock.closed:
                await sock.close(wait=False)
        await close_all(self.open_sockets)

    async def close(self) -> None:
        self.sio.eio.arena_pings.stop()
        # The loops also stop at their next turn: Python 3.11's asyncio.wait_for (in the probe, in
        # redis-py) can swallow a cancel that lands as its inner call completes, and a loop that lost
        # its cancel would hold the shutdown for ever (seen under load as a close stuck here).
        self._closing = True
        tasks, self._tasks = list(self._tasks), set()
        for task in tasks:
            task.cancel()
        _, stuck = await asyncio.wait(tasks, timeout=CLOSE_TASKS_TIMEOUT) if tasks else (set(), set())
        for task in stuck:  # a cancel swallowed: ask again, the loop ends at its next turn anyway
            task.cancel()
        if stuck:
            await asyncio.wait(stuck, timeout=CLOSE_TASKS_TIMEOUT)
        if self.audience is not None:
            await self.audience.close()
        if self.presence is not None:
            await self.presence.close()
        await self.manager.stop_listener()
        await self.manager.close_clients()
