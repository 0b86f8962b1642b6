"""Socket.IO event plumbing: every handler is checked, rate-limited, authenticated and acked the same
way. A domain's events.py declares ``@events.on("battle:turn", Turn)`` and returns a model.

Every event gets an ack, including events nobody handles: an unknown name answers ``event.unknown``,
an event of the other namespace ``event.wrong_namespace``, an undecodable packet its validation error
(packets.py). A client never waits out its own timeout.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from ..auth import sessions
from ..auth.actor import Actor
from ..core import Core
from ..errors import AppError, error_ack, ok_ack
from ..faults import answer_for
from ..inputs import Checked, check_payload, clean_size
from ..ratelimit import Limit, Rate
from ..wire import dump, parse
from .hub import AGENT_NS, NAMESPACES
from .packets import MALFORMED
from .revocation import revoked_error

log = logging.getLogger(__name__)


@dataclass
class EventCall:
    """One socket event as a handler sees it."""

    core: Core
    sid: str
    namespace: str
    actor: Actor
    # Binary attachments the event declares (EventTable.on(files=...)), by field name.
    files: dict[str, bytes] = field(default_factory=dict)


Handler = Callable[..., Awaitable[Any]]


@dataclass
class EventSpec:
    event: str
    namespace: str
    model: type[BaseModel] | None
    handler: Handler
    summary: str
    response: Any = None
    max_bytes: str | None = None  # a Settings field with this event's size limit (default: socket_max_message_bytes)
    # Top-level fields that may carry a Socket.IO binary attachment; they reach the handler as
    # call.files (the handler checks their size and content) and the model never sees them.
    files: tuple[str, ...] = ()


class EventTable:
    """A domain's socket events, registered on each app's Socket.IO server by ``mount``."""

    def __init__(self) -> None:
        self.specs: list[EventSpec] = []

    def on(self, event: str, model: type[BaseModel] | None = None, *, namespace: str = AGENT_NS,
           response: Any = None, max_bytes: str | None = None,
           files: tuple[str, ...] = ()) -> Callable[[Handler], Handler]:
        def deco(fn: Handler) -> Handler:
            summary = (fn.__doc__ or event).strip().splitlines()[0]
            self.specs.append(EventSpec(event, namespace, model, fn, summary, response, max_bytes, files))
            return fn

        return deco

    def mount(self, sio: Any, core_getter: Callable[[], Core]) -> None:
        for spec in self.specs:
            sio.on(spec.event, namespace=spec.namespace)(_adapter(spec, sio, core_getter))


def payload_size(payload: Any) -> int:
    if isinstance(payload, bytes | bytearray):
        return len(payload)
    # The same measure as inputs.clean_size: compact JSON, UTF-8 bytes.
    return len(json.dumps(payload, separators=(",", ":"), ensure_ascii=False, default=str).encode(
        "utf-8", "surrogatepass"))


def limits_for(core: Core, sid: str, actor: Actor) -> list[Limit]:
    """An agent or user is limited as itself, on all its sockets together. An anonymous spectator is
    limited per connection, and all anonymous spectators of one address by a looser ceiling, so
    a thousand people behind one NAT can all watch at once."""
    rate = Rate.parse(core.settings.rate_socket_event)
    if actor.id is not None:
        return [Limit("event", str(actor.id), rate)]
    return [Limit("event", f"conn:{sid}", rate),
            Limit("spectators", f"ip:{actor.ip}", Rate.parse(core.settings.rate_spectator_address))]


async def _gate(core: Core, sio: Any, sid: str, namespace: str, actor: Actor, payload: Any,
                limit: int | None = None) -> None:
    """What every event passes before its handler: rate limits, live credentials, size and shape.

    The limits come first, so even malformed events are counted. The same Redis round trip reads the
    session record and the revocation markers of the socket's credentials: a socket whose
    revocation push was missed is refused (and cut off) at its next event.
    """
    subjects = actor.credentials
    session_key = [core.keys.session(str(actor.session_id))] if actor.session_id else []
    found = await core.limiter.check(*limits_for(core, sid, actor),
                                     also_get=[*session_key, *(core.keys.revoked(s) for s in subjects)])
    markers = found[len(session_key):]
    try:
        if any(markers):
            raise revoked_error()
        if actor.session_id is not None:
            await sessions.check_alive(core, actor.session_id, found[0])
    except AppError:
        # Cut off what is dead: the revoked credentials, or else this socket's own session.
        dead = [s for s, m in zip(subjects, markers, strict=True) if m] or [f"session:{actor.session_id}"]
        core.realtime.credentials.revoke_soon(dead)
        raise
    limit = limit or core.settings.socket_max_message_bytes
    if payload is not None:
        size = payload.size if type(payload) is Checked else \
            clean_size(payload) if isinstance(payload, dict | list) else None
        if size is None:
            check_payload(payload)
            size = payload_size(payload)
        if size > limit:
            raise AppError("validation.payload_too_large", f"a socket message may be at most {limit} bytes", 413)


async def _answer(core: Core, sio: Any, event: str, namespace: str, sid: str, payload: Any,
                  run: Callable[[EventCall], Awaitable[Any]], max_bytes: str | None = None) -> dict:
    """Gate the event, run it, and turn the outcome into an ack (never a missing one)."""
    m = core.metrics
    m.events_in.labels(namespace, event).inc()
    started = time.perf_counter()
    actor: Actor | None = None
    status = 200
    try:
        actor = (await sio.get_session(sid, namespace=namespace))["actor"]
        await _gate(core, sio, sid, namespace, actor, payload,
                    getattr(core.settings, max_bytes) if max_bytes else None)
        return ok_ack(dump(await run(EventCall(core, sid, namespace, actor))))
    except AppError as err:
        status = err.status
        m.errors.labels("socket", err.code).inc()
        return error_ack(err)
    except Exception as exc:
        err = await answer_for(exc, core.db, f"{namespace} {event} (sid {sid}, {actor.label if actor else '?'})")
        status = err.status
        m.errors.labels("socket", err.code).inc()
        return error_ack(err)
    finally:
        elapsed = time.perf_counter() - started
        m.event_latency.labels(namespace, event).observe(elapsed)
        if core.usage is not None:
            user_id, agent_id = actor.principals if actor is not None else (None, None)
            core.usage.record(user_id, agent_id, f"{namespace} {event}", "EVENT", status, elapsed)


def _adapter(spec: EventSpec, sio: Any, core_getter: Callable[[], Core]) -> Callable[..., Awaitable[dict]]:
    async def handle(sid: str, *args: Any) -> dict:
        payload = args[0] if args else None
        files: dict[str, bytes] = {}
        if spec.files and type(payload) is dict:  # a Checked payload came as plain JSON: no attachments
            files = {k: bytes(v) for k in spec.files if isinstance(v := payload.get(k), bytes | bytearray)}
            if files:
                payload = {k: v for k, v in payload.items() if k not in files}

        async def run(call: EventCall) -> Any:
            # _gate checked the payload already (check_payload): parse only validates its shape.
            model = [parse(spec.model, payload, checked=True)] if spec.model is not None else []
            call.files = files
            return await spec.handler(call, *model)

        return await _answer(core_getter(), sio, spec.event, spec.namespace, sid, payload, run, spec.max_bytes)

    return handle


def mount_catch_all(sio: Any, core_getter: Callable[[], Core], tables: Iterable[EventTable]) -> None:
    """Answer every event no handler claims on our namespaces, with a stable code."""
    where: dict[str, set[str]] = {}
    for table in tables:
        for spec in table.specs:
            where.setdefault(spec.event, set()).add(spec.namespace)

    def refusal(event: str, namespace: str, payload: Any) -> AppError:
        if event == MALFORMED and isinstance(payload, AppError):  # made by packets.ArenaPacket
            return payload
        if event in where:
            others = ", ".join(sorted(where[event]))
            return AppError("event.wrong_namespace", f"{event} is an event of {others}, not {namespace}", 403,
                            details={"namespaces": sorted(where[event])})
        return AppError("event.unknown", f"no event {event!r} on {namespace}", 404)

    for namespace in NAMESPACES:
        def make(ns: str) -> Callable[..., Awaitable[dict]]:
            async def catch_all(event: str, sid: str, *args: Any) -> dict:
                payload = args[0] if args else None
                err = refusal(event, ns, payload)

                async def run(call: EventCall) -> Any:
                    raise err

                # Gate first (rate limit, session): an unknown event costs a client like any other.
                # A malformed packet's payload is our own error object, so it is not checked again.
                own = isinstance(payload, AppError)
                label = event if own or event in where else "<unknown>"
                return await _answer(core_getter(), sio, label, ns, sid, None if own else payload, run)

            return catch_all

        sio.on("*", namespace=namespace)(make(namespace))
