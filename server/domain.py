"""A domain plugs into the server with one object.

Each domain package (``server/battles``, later ``server/executions`` and the rest) exposes
``domain``: its REST routes, its socket events, its kinds of room, its sweeps of due deadlines, the
hooks it runs when an agent's socket connects or disconnects, its retention jobs, its background
workers, and the handlers
of the answers agents give to its calls. ``create_app`` mounts whatever the
listed domains bring: adding a domain is one line in ``server/app.py`` and touches nothing else of
the core.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from .realtime.handlers import EventTable
    from .realtime.rooms import RoomKind
    from .rest import RouteTable
    from .retention import RetentionJob
    from .sweeper import Sweep

# Called as hook(core, actor, sid) when an agent's socket connects or disconnects.
Hook = Callable[[Any, Any, str], Awaitable[None]]


class Worker(Protocol):
    """A domain's background work in each server process (e.g. speech synthesis), reached by its
    ``name`` as ``core.workers[name]``: started with the app, stopped before the pool closes."""

    name: str

    def start(self) -> None: ...

    async def stop(self) -> None: ...


@dataclass(frozen=True)
class Domain:
    """Everything one domain adds to the server."""

    name: str
    routes: RouteTable | None = None
    events: EventTable | None = None
    room_kinds: tuple[RoomKind, ...] = ()
    sweeps: tuple[Sweep, ...] = ()
    connect_hooks: tuple[Hook, ...] = ()
    disconnect_hooks: tuple[Hook, ...] = ()
    retention: tuple[RetentionJob, ...] = ()
    # Made once per process as factory(core) -> Worker.
    workers: tuple[Callable[[Any], Worker], ...] = ()
    # Handlers of the answers agents give to calls (Outbox.call): name -> fn(core, actor, sid, data, answer).
    replies: dict[str, Callable[..., Awaitable[None]]] = field(default_factory=dict)
