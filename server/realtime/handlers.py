"""Socket.IO event plumbing: every handler is validated, rate-limited, authenticated and acked the
same way. A domain's events.py declares ``@events.on("battle:turn", Turn)`` and returns a model."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from ..auth import sessions
from ..auth.actor import Actor
from ..core import Core
from ..errors import AppError, error_ack, internal, ok_ack
from ..ratelimit import Rate
from ..wire import dump, parse
from .hub import AGENT_NS

log = logging.getLogger(__name__)


@dataclass
class EventCall:
    """One socket event as a handler sees it."""

    core: Core
    sid: str
    namespace: str
    actor: Actor


Handler = Callable[..., Awaitable[Any]]


@dataclass
class EventSpec:
    event: str
    namespace: str
    model: type[BaseModel] | None
    handler: Handler
    summary: str
    response: Any = None


class EventTable:
    """A domain's socket events, registered on each app's Socket.IO server by ``mount``."""

    def __init__(self) -> None:
        self.specs: list[EventSpec] = []

    def on(self, event: str, model: type[BaseModel] | None = None, *, namespace: str = AGENT_NS,
           response: Any = None) -> Callable[[Handler], Handler]:
        def deco(fn: Handler) -> Handler:
            summary = (fn.__doc__ or event).strip().splitlines()[0]
            self.specs.append(EventSpec(event, namespace, model, fn, summary, response))
            return fn

        return deco

    def mount(self, sio: Any, core_getter: Callable[[], Core]) -> None:
        for spec in self.specs:
            sio.on(spec.event, namespace=spec.namespace)(_adapter(spec, sio, core_getter))


def payload_size(payload: Any) -> int:
    if isinstance(payload, bytes | bytearray):
        return len(payload)
    return len(json.dumps(payload, separators=(",", ":"), default=str).encode())


def _adapter(spec: EventSpec, sio: Any, core_getter: Callable[[], Core]) -> Callable[..., Awaitable[dict]]:
    async def handle(sid: str, *args: Any) -> dict:
        core = core_getter()
        m = core.metrics
        m.events_in.labels(spec.namespace, spec.event).inc()
        started = time.perf_counter()
        payload = args[0] if args else None
        actor: Actor | None = None
        try:
            conn_state = await sio.get_session(sid, namespace=spec.namespace)
            actor = conn_state["actor"]
            limit = core.settings.socket_max_message_bytes
            if payload is not None and payload_size(payload) > limit:
                raise AppError("validation.payload_too_large", f"a socket message may be at most {limit} bytes",
                               413)
            subject = str(actor.id) if actor.id else f"ip:{actor.ip}"
            session_key = core.keys.session(str(actor.session_id)) if actor.session_id else None
            # One Redis round trip: count the event and read the session record.
            raw = await core.limiter.hit("event", subject, Rate.parse(core.settings.rate_socket_event),
                                         also_get=session_key)
            if actor.session_id is not None:
                try:
                    await sessions.check_alive(core, actor.session_id, raw)
                except AppError:
                    asyncio.get_running_loop().call_soon(
                        lambda: asyncio.ensure_future(sio.disconnect(sid, namespace=spec.namespace))
                    )
                    raise
            args_ = [parse(spec.model, payload)] if spec.model is not None else []
            result = await spec.handler(EventCall(core, sid, spec.namespace, actor), *args_)
            return ok_ack(dump(result))
        except AppError as err:
            m.errors.labels("socket", err.code).inc()
            return error_ack(err)
        except Exception:
            log.exception("unhandled error in %s %s (sid %s, %s)", spec.namespace, spec.event, sid,
                          actor.label if actor else "?")
            err = internal()
            m.errors.labels("socket", err.code).inc()
            return error_ack(err)
        finally:
            m.event_latency.labels(spec.namespace, spec.event).observe(time.perf_counter() - started)

    return handle
