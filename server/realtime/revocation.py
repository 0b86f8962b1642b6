"""Revocation reaches every socket at once, on every process, even sockets that never send an event.

Each process knows which of its own sockets stand on which credential (a connection lives on one
process, so this map is rightly in memory). A revocation is committed in PostgreSQL first, then
pushed through the Socket.IO Redis channel; every process cuts off its matching sockets: they leave
every room at once (so nothing more reaches them), get ``auth:revoked``, and are disconnected.

A push can be missed (Redis away at that moment, or a process whose listener was reconnecting).
Then a socket that sends an event is refused anyway, by the revocation marks in Redis that every
event reads (realtime/handlers.py), and a silent one is cut off when its process re-checks all its
sockets' credentials against PostgreSQL: after its listener resubscribes, and every
``revalidate_seconds``. Subjects revoked in the last minute are remembered,
so a socket whose credential was checked just before the revocation committed, but registered just
after the push arrived, is refused rather than kept.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from ..auth.actor import Actor
from ..errors import AppError

log = logging.getLogger(__name__)

REMEMBER_SECONDS = 60.0
Socket = tuple[str, str]  # (sid, namespace)
# Given actors, answer which of their credential subjects are no longer valid.
Checker = Callable[[list[Actor]], Awaitable[set[str]]]


def revoked_error() -> AppError:
    return AppError("auth.session_revoked", "the credential of this connection has been revoked", 401)


class SocketCredentials:
    """This process's sockets, indexed by the credentials they stand on."""

    def __init__(self, sio: Any) -> None:
        self.sio = sio
        self.checker: Checker | None = None
        self._actors: dict[Socket, Actor] = {}
        self._by_subject: dict[str, set[Socket]] = defaultdict(set)
        self._recent: dict[str, float] = {}
        self._tasks: set[asyncio.Task] = set()

    def __len__(self) -> int:
        return len(self._actors)

    def add(self, sid: str, namespace: str, actor: Actor) -> None:
        """Register a socket that has just authenticated. Raises ``auth.session_revoked`` if one of
        its credentials was revoked moments ago (the push arrived before the socket registered)."""
        self._forget_old()
        subjects = actor.credentials
        if any(s in self._recent for s in subjects):
            raise revoked_error()
        self._actors[(sid, namespace)] = actor
        for s in subjects:
            self._by_subject[s].add((sid, namespace))

    def remove(self, sid: str, namespace: str) -> None:
        actor = self._actors.pop((sid, namespace), None)
        if actor is None:
            return
        for s in actor.credentials:
            socks = self._by_subject.get(s)
            if socks is not None:
                socks.discard((sid, namespace))
                if not socks:
                    del self._by_subject[s]

    async def revoke(self, subjects: Iterable[str]) -> int:
        """Cut off every local socket standing on one of ``subjects``; returns how many."""
        victims = self._take(subjects)
        for sid, namespace in victims:
            await self._disconnect(sid, namespace)
        return len(victims)

    def revoke_soon(self, subjects: Iterable[str]) -> int:
        """``revoke`` for callers that must not wait (the pub/sub listener, an event being refused):
        the sockets are out of every room before this returns, so nothing the caller handles next
        reaches them; telling and disconnecting them (which runs their disconnect hooks, database
        work) happens in a task."""
        victims = self._take(subjects)
        if victims:
            task = asyncio.get_running_loop().create_task(self._disconnect_all(victims))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return len(victims)

    def _take(self, subjects: Iterable[str]) -> list[Socket]:
        """Remember the subjects as revoked, and take their sockets out of the registry and of every
        room, synchronously."""
        now = time.monotonic()
        victims: set[Socket] = set()
        for s in subjects:
            self._recent[s] = now
            victims |= self._by_subject.get(s, set())
        manager = self.sio.manager if victims else None
        for sid, namespace in victims:
            self.remove(sid, namespace)
            for room in list(manager.get_rooms(sid, namespace)):
                if room not in (None, sid):
                    manager.basic_leave_room(sid, namespace, room)
        if victims:
            log.info("revocation cut off %d socket(s)", len(victims))
        return list(victims)

    async def _disconnect_all(self, victims: list[Socket]) -> None:
        for sid, namespace in victims:
            await self._disconnect(sid, namespace)

    async def revalidate(self) -> int:
        """Ask PostgreSQL which credentials of the local sockets are dead, and cut those off."""
        if self.checker is None or not self._actors:
            return 0
        dead = await self.checker(list(set(self._actors.values())))
        return await self.revoke(dead) if dead else 0

    async def _disconnect(self, sid: str, namespace: str) -> None:
        try:
            err = revoked_error()
            await self.sio.emit("auth:revoked", {"error": err.payload()}, to=sid, namespace=namespace,
                                ignore_queue=True)
            await self.sio.disconnect(sid, namespace=namespace, ignore_queue=True)
        except Exception:  # the socket may be gone already; it is out of every room either way
            log.debug("could not disconnect revoked socket %s", sid, exc_info=True)

    def _forget_old(self) -> None:
        if not self._recent:
            return
        cutoff = time.monotonic() - REMEMBER_SECONDS
        for s in [s for s, t in self._recent.items() if t < cutoff]:
            del self._recent[s]
