"""Signed, expiring, revocable sessions for users and agents.

The token is the session id signed with a timestamp (itsdangerous). The record lives in Redis with a
TTL, so every process sees a revocation at once, and in PostgreSQL, so sessions survive a Redis
restart: a Redis miss falls back to the row and re-caches it.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from uuid import UUID

from aiohttp import web
from redis.exceptions import RedisError

from ..core import Core
from ..errors import AppError
from . import store
from .actor import ANONYMOUS, Actor
from .credentials import TokenSigner, is_api_key, key_matches, key_prefix
from .models import AgentView, SessionIssued, SessionView

log = logging.getLogger(__name__)

SESSION_COOKIE = "arena_session"
CSRF_COOKIE = "arena_csrf"
CSRF_HEADER = "X-CSRF-Token"
TOUCH_EVERY = 300  # seconds between last_used_at writes for one session
# A session's record stays in Redis at most this long before it is read again from PostgreSQL, so a
# revocation whose Redis delete was lost (Redis away at that moment) takes effect within a minute.
CACHE_SECONDS = 60
# How long a revoked credential stays marked in Redis: far longer than any process takes to
# revalidate its sockets (REVALIDATE_SECONDS), after which nothing can still stand on it.
REVOKED_MARK_SECONDS = 3600


def signer(core: Core) -> TokenSigner:
    return TokenSigner(core.secret_key, core.settings.session_ttl_seconds)


def _revoked() -> AppError:
    return AppError("auth.session_revoked", "the session has been revoked", 401)


def _actor_record(actor: Actor, expires_at: datetime) -> dict:
    return {
        "kind": actor.kind,
        "id": str(actor.id),
        "name": actor.name,
        "owner": str(actor.owner_id) if actor.owner_id else None,
        "admin": actor.is_admin,
        "key": str(actor.api_key_id) if actor.api_key_id else None,
        "exp": expires_at.timestamp(),
        "touched": time.time(),
    }


def _actor_from_record(session_id: UUID, rec: dict, ip: str | None) -> Actor:
    return Actor(
        kind=rec["kind"],
        id=UUID(rec["id"]),
        name=rec["name"],
        session_id=session_id,
        api_key_id=UUID(rec["key"]) if rec.get("key") else None,
        owner_id=UUID(rec["owner"]) if rec.get("owner") else None,
        is_admin=bool(rec.get("admin")),
        ip=ip,
    )


async def _cache(core: Core, session_id: UUID, rec: dict) -> None:
    ttl = min(CACHE_SECONDS, int(rec["exp"] - time.time()))
    if ttl <= 0:
        return
    try:
        await core.redis.set(core.keys.session(str(session_id)), json.dumps(rec), ex=ttl)
    except (RedisError, OSError) as exc:
        log.warning("could not cache session %s in Redis: %s", session_id, exc)


async def issue(
    core: Core,
    actor: Actor,
    *,
    device_info: str | None = None,
    user_agent: str | None = None,
    ttl: int | None = None,
) -> SessionIssued:
    """Create a session for ``actor`` (a user or agent) in PostgreSQL and Redis; return its token."""
    expires_at = datetime.now(UTC) + timedelta(seconds=ttl or core.settings.session_ttl_seconds)
    async with core.db.acquire() as conn:
        row = await store.insert_session(
            conn,
            subject_type=actor.kind,
            user_id=actor.id if actor.is_user else None,
            agent_id=actor.id if actor.is_agent else None,
            api_key_id=actor.api_key_id,
            device_info=device_info,
            ip_address=actor.ip,
            user_agent=user_agent,
            expires_at=expires_at,
        )
    await _cache(core, row.id, _actor_record(actor, expires_at))
    s = signer(core)
    return SessionIssued(
        token=s.sign(str(row.id)), session_id=row.id, expires_at=expires_at, csrf_token=s.csrf_token(str(row.id))
    )


async def _load_from_db(core: Core, session_id: UUID) -> dict:
    async with core.db.acquire() as conn:
        found = await store.session_by_id(conn, session_id)
        if found is None:
            raise AppError("auth.invalid_token", "the session token is not valid", 401)
        row, api_key_id = found
        if row.revoked_at is not None:
            raise _revoked()
        if row.expires_at <= datetime.now(UTC):
            raise AppError("auth.token_expired", "the session has expired", 401)
        if row.subject_type == "user":
            user = await store.user_by_id(conn, row.user_id)
            if user is None or not user.is_active:
                raise _revoked()
            actor = Actor("user", user.id, user.username, session_id, is_admin=user.is_admin)
        else:
            agent = await store.agent_by_id(conn, row.agent_id)
            if agent is None or not agent.is_active:
                raise _revoked()
            actor = Actor("agent", agent.id, agent.name, session_id, api_key_id, owner_id=agent.owner_id)
    rec = _actor_record(actor, row.expires_at)
    rec["touched"] = row.last_used_at.timestamp()  # so a session in use is touched every TOUCH_EVERY
    await _cache(core, session_id, rec)
    return rec


async def _record(core: Core, session_id: UUID, raw: bytes | None = None) -> dict:
    """The session's record from Redis (or ``raw``, already read), falling back to PostgreSQL (and
    re-caching) on a miss."""
    if raw is None:
        try:
            raw = await core.redis.get(core.keys.session(str(session_id)))
        except (RedisError, OSError) as exc:
            log.warning("Redis unavailable for session lookup, using PostgreSQL: %s", exc)
    rec = json.loads(raw) if raw else await _load_from_db(core, session_id)
    if rec["exp"] <= time.time():
        raise AppError("auth.token_expired", "the session has expired", 401)
    if time.time() - rec.get("touched", 0) > TOUCH_EVERY:
        rec["touched"] = time.time()
        async with core.db.acquire() as conn:
            await store.touch_session(conn, session_id)
        await _cache(core, session_id, rec)
    return rec


async def from_token(core: Core, token: str, ip: str | None = None) -> Actor:
    """The actor a session token stands for. Raises auth.invalid_token / token_expired / session_revoked."""
    sid = signer(core).unsign(token)
    try:
        session_id = UUID(sid)
    except ValueError:
        raise AppError("auth.invalid_token", "the session token is not valid", 401) from None
    return _actor_from_record(session_id, await _record(core, session_id), ip)


async def check_alive(core: Core, session_id: UUID, raw: bytes | None = None) -> None:
    """Raise unless the session is still valid (used before each socket event; ``raw`` is the
    Redis record when the caller already read it)."""
    await _record(core, session_id, raw)


async def from_api_key(core: Core, api_key: str, ip: str | None = None) -> tuple[Actor, AgentView]:
    """The agent an API key belongs to. Raises auth.invalid_api_key."""
    bad = AppError("auth.invalid_api_key", "the API key is not valid", 401)
    prefix = key_prefix(api_key)
    if prefix is None:
        raise bad
    async with core.db.acquire() as conn:
        found = await store.key_for_auth(conn, prefix)
        if found is None:
            raise bad
        key_id, key_hash, revoked_at, agent = found
        if revoked_at is not None or not agent.is_active or not key_matches(api_key, key_hash):
            raise bad
        await store.touch_key(conn, key_id)
    return Actor("agent", agent.id, agent.name, api_key_id=key_id, owner_id=agent.owner_id, ip=ip), agent


async def from_credential(core: Core, credential: str, ip: str | None = None) -> Actor:
    """An API key (``ak_…``) or a session token."""
    if is_api_key(credential):
        actor, _ = await from_api_key(core, credential, ip)
        return actor
    return await from_token(core, credential, ip)


async def revoked(
    core: Core,
    *,
    sessions: Sequence[UUID] = (),
    keys: Sequence[UUID] = (),
    agents: Sequence[UUID] = (),
    users: Sequence[UUID] = (),
) -> None:
    """After a revocation committed in PostgreSQL: forget the sessions in Redis, mark every credential
    revoked there (each socket event checks the marks), and cut off every socket standing on any of
    them, on every process."""
    subjects = ([f"session:{s}" for s in sessions] + [f"key:{k}" for k in keys]
                + [f"agent:{a}" for a in agents] + [f"user:{u}" for u in users])
    try:
        async with core.redis.pipeline(transaction=False) as pipe:
            if sessions:
                pipe.delete(*(core.keys.session(str(s)) for s in sessions))
            for subject in subjects:
                pipe.set(core.keys.revoked(subject), "1", ex=REVOKED_MARK_SECONDS)
            await pipe.execute()
    except (RedisError, OSError) as exc:  # the rows say revoked; cached copies expire within a minute
        log.warning("could not mark revoked credentials in Redis: %s", exc)
    await core.realtime.revoke(subjects)


async def dead_subjects(core: Core, actors: list[Actor]) -> set[str]:
    """Which credential subjects of these actors PostgreSQL says are revoked, expired or inactive."""
    ids: dict[str, set[UUID]] = {"session": set(), "key": set(), "agent": set(), "user": set()}
    for actor in actors:
        for subject in actor.credentials:
            kind, _, value = subject.partition(":")
            ids[kind].add(UUID(value))
    async with core.db.acquire() as conn:
        return await store.dead_credentials(conn, *(list(ids[k]) for k in ("session", "key", "agent", "user")))


async def actor_for_request(core: Core, request: web.Request, mode: str) -> Actor:
    """Resolve the caller from ``Authorization: Bearer`` or the session cookie, as ``mode`` demands.

    ``mode`` is none | optional | required | user | agent. Raises auth.required or auth.forbidden.
    """
    ip = request.remote
    if mode == "none":
        return Actor("anonymous", ip=ip)
    header = request.headers.get("Authorization", "")
    actor = Actor("anonymous", ip=ip)
    if header:
        scheme, _, credential = header.partition(" ")
        if scheme.lower() != "bearer" or not credential.strip():
            raise AppError("auth.invalid_token", "use 'Authorization: Bearer <api key or token>'", 401)
        actor = await from_credential(core, credential.strip(), ip)
    elif cookie := request.cookies.get(SESSION_COOKIE):
        a = await from_token(core, cookie, ip)
        actor = dataclasses.replace(a, via_cookie=True)
    if mode in ("required", "user", "agent") and actor.kind == "anonymous":
        raise AppError("auth.required", "authentication required", 401)
    if mode == "user" and not actor.is_user:
        raise AppError("auth.forbidden", "this needs a user's session", 403)
    if mode == "agent" and not actor.is_agent:
        raise AppError("auth.forbidden", "this needs an agent's credentials", 403)
    return actor


def check_csrf(core: Core, request: web.Request, actor: Actor) -> None:
    """Cookie-authenticated writes must echo the CSRF token in a header (double-submit)."""
    expected = signer(core).csrf_token(str(actor.session_id))
    if request.headers.get(CSRF_HEADER) != expected:
        raise AppError("auth.csrf_failed", f"missing or wrong {CSRF_HEADER} header", 403)


def set_cookies(response: web.StreamResponse, core: Core, issued: SessionIssued) -> None:
    max_age = int((issued.expires_at - datetime.now(UTC)).total_seconds())
    secure = core.settings.cookie_secure
    response.set_cookie(
        SESSION_COOKIE, issued.token, max_age=max_age, httponly=True, samesite="Lax", secure=secure, path="/"
    )
    response.set_cookie(
        CSRF_COOKIE, issued.csrf_token or "", max_age=max_age, samesite="Lax", secure=secure, path="/"
    )


def clear_cookies(response: web.StreamResponse) -> None:
    response.del_cookie(SESSION_COOKIE, path="/")
    response.del_cookie(CSRF_COOKIE, path="/")


__all__ = [
    "ANONYMOUS",
    "SessionView",
    "actor_for_request",
    "check_alive",
    "check_csrf",
    "from_api_key",
    "from_credential",
    "from_token",
    "issue",
    "revoked",
]
