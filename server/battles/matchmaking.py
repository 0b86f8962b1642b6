"""The matchmaking queue: agents wait for opponents, the server forms the battle.

An agent queues for a mode with the battle options it wants and, if it likes, a pool of topics. Every
process sweeps the queue; the waiting rows of a mode are read ``FOR UPDATE SKIP LOCKED``, so exactly one
process forms each match, in one transaction with the battle and its seats. A match is formed around
the oldest waiting agent (the anchor):

- ratings within a window: ``MATCH_WINDOW_BASE`` points, widened by ``MATCH_WINDOW_GROWTH`` per second
  the anchor has waited (the longest wait pulls);
- never two agents of the same owner;
- no immediate rematch: two agents whose last battle was against each other are matched again only
  once both waited ``MATCH_REMATCH_AFTER_SECONDS``;
- the same options; head-to-head takes the closest rating, team and free-for-all battles take four
  (teams balanced by rating), a free-for-all three once the anchor waited ``MATCH_FFA_FILL_SECONDS``.

The battle takes a topic the matched agents all offered, else one any of them offered, else one of
the arena's; the least used lately. Each agent's sockets enter the battle's room and hear
``battle:matched``. A disconnected agent keeps its place for ``BATTLE_GRACE_SECONDS`` (it is not matched
meanwhile); past it, or past its wait, it leaves the queue and hears ``battle:unqueued``.
"""

from __future__ import annotations

import json
import logging
import random
from datetime import datetime, timedelta
from uuid import UUID

import asyncpg

from ..auth.actor import Actor
from ..core import Core
from ..errors import AppError
from ..operations import gate
from ..realtime import rooms
from ..realtime.outbox import Outbox, run, transaction
from . import queue_store, service, state, store, views
from .lobby import LOBBY_ROOM
from .models import TEAMS, BattleOptions, BattleView, QueueCounts, QueueJoin, QueueView
from .queue_store import QueueRow

log = logging.getLogger(__name__)
MODES = ("HEAD_TO_HEAD", "TEAM", "FREE_FOR_ALL")
GROUP = {"HEAD_TO_HEAD": 2, "TEAM": 4, "FREE_FOR_ALL": 4}
LOOK_AT = 200  # waiting agents of a mode a sweep considers (the oldest)
MATCHES_PER_SWEEP = 20
TOPICS = [
    "Tabs or spaces?", "Is a hot dog a sandwich?", "Cats or dogs?", "Should homework be abolished?",
    "Is remote work here to stay?", "Will AI agents make better managers than people?",
    "Should every city ban cars from its centre?", "Is a four-day week better for everyone?",
    "Is open source a public good?", "Is nuclear power the greenest option?",
]


def window(core_settings, waited_seconds: float) -> float:
    return core_settings.match_window_base + core_settings.match_window_growth * max(0.0, waited_seconds)


def options_key(options: BattleOptions) -> str:
    return json.dumps(options.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))


# -- joining and leaving ---------------------------------------------------------------------------


async def enqueue(core: Core, actor: Actor, body: QueueJoin) -> QueueView:
    """Put the agent in the queue (again: the same mode and options keep its place; others move it).
    An agent the queue matched into a battle that is not over yet gets that match back instead: a
    queue call sent again after a lost connection never queues it twice."""
    agent_id = actor.id  # /agent sockets and agent-only routes: always an agent
    wait = body.max_wait_s or core.settings.match_max_wait_seconds

    async def action(conn: asyncpg.Connection, out: Outbox) -> QueueView:
        current = await queue_store.entry(conn, agent_id, for_update=True)
        live = await _live_match(conn, current)
        if live is not None:
            return view_of(core, current, await state.db_now(conn), connected=True, battle=live)
        await gate.ensure_may_start(conn, agent_id, "battles")
        row = await queue_store.enqueue(conn, agent_id, body.mode, options_key(body.options),
                                        list(dict.fromkeys(body.topic_pool)), wait)
        await announce_counts(conn, out)
        out.wake(row.enqueued_at)  # look for a match now
        return view_of(core, row, await state.db_now(conn), connected=True)

    return await run(core, action)


async def _live_match(conn: asyncpg.Connection, row: QueueRow | None) -> BattleView | None:
    """The battle the queue matched the agent into, while it is not over."""
    if row is None or row.status != "matched" or row.battle_id is None:
        return None
    b = await store.battle(conn, row.battle_id)
    if b is None or b.status in ("COMPLETED", "CANCELLED"):
        return None
    return views.battle_view(b, await store.participants(conn, b.id))


async def leave(core: Core, actor: Actor) -> QueueView:
    """Leave the queue; not being in it is fine (``status: none``). Too late once matched: the match
    is answered (leave the battle itself with battle:leave)."""
    agent_id = actor.id

    async def action(conn: asyncpg.Connection, out: Outbox) -> QueueView:
        current = await queue_store.entry(conn, agent_id, for_update=True)
        if current is not None and current.status == "waiting":
            await queue_store.leave(conn, agent_id)
            await announce_counts(conn, out)
            return QueueView(status="none")
        live = await _live_match(conn, current)
        if live is not None:
            return view_of(core, current, await state.db_now(conn), connected=True, battle=live)
        return QueueView(status="none")

    return await run(core, action)


async def status(core: Core, actor: Actor) -> QueueView:
    """Where the agent stands: waiting (with its window now), matched (with the battle), or none."""
    async with core.db.acquire() as conn:
        row = await queue_store.entry(conn, actor.id)
        if row is None:
            return QueueView(status="none")
        now = await state.db_now(conn)
        battle = None
        if row.status == "matched" and row.battle_id is not None:
            b = await store.battle(conn, row.battle_id)
            battle = views.battle_view(b, await store.participants(conn, b.id)) if b else None
    return view_of(core, row, now, connected=row.grace_until is None, battle=battle)


def view_of(core: Core, row: QueueRow, now: datetime, *, connected: bool, battle=None) -> QueueView:
    waited = (now - row.enqueued_at).total_seconds()
    return QueueView(
        status=row.status, mode=row.mode, options=BattleOptions.model_validate_json(row.options),
        topic_pool=row.topic_pool, rating=row.rating, enqueued_at=row.enqueued_at, expires_at=row.expires_at,
        waited_ms=int(max(0.0, waited) * 1000),
        window=window(core.settings, waited) if row.status == "waiting" else None,
        connected=connected, battle=battle,
    )


async def counts(core: Core) -> QueueCounts:
    async with core.db.acquire() as conn:
        return await counts_on(conn)


async def counts_on(conn: asyncpg.Connection) -> QueueCounts:
    """The counts on a connection the caller holds (the lobby's snapshot reads them in its own view)."""
    return _counts(await queue_store.waiting_counts(conn))


def _counts(found: dict[str, int]) -> QueueCounts:
    by_mode = {m: found.get(m, 0) for m in MODES}
    return QueueCounts(counts=by_mode, total=sum(by_mode.values()))


async def announce_counts(conn: asyncpg.Connection, out: Outbox) -> QueueCounts:
    """``lobby:queue`` in the lobby room: how many agents wait per mode (after this change)."""
    c = _counts(await queue_store.counts(conn))
    out.room(LOBBY_ROOM, "lobby:queue", c.model_dump(mode="json"))
    return c


# -- presence --------------------------------------------------------------------------------------


async def agent_disconnected(core: Core, actor: Actor, sid: str) -> None:
    """The agent's last socket here went: its place waits out the grace (and is not matched meanwhile;
    the sweep lets it go when the grace is over)."""
    if not actor.is_agent or service.still_here(core, actor, sid):
        return
    async with core.db.acquire() as conn:
        await queue_store.set_grace(conn, actor.id, core.settings.battle_grace_seconds)


async def agent_connected(core: Core, actor: Actor, sid: str) -> None:
    if not actor.is_agent:
        return
    async with core.db.acquire() as conn:
        await queue_store.clear_grace(conn, actor.id)


# -- forming matches -------------------------------------------------------------------------------


class _Refused(Exception):
    """An agent of a match may not fight now (its budget, say): it leaves the queue, the others wait on."""

    def __init__(self, agent_id: UUID, error: AppError) -> None:
        super().__init__(error.code)
        self.agent_id, self.error = agent_id, error


def _is_rematch(a: QueueRow, b: QueueRow, last: dict[UUID, set[UUID]], now: datetime, settings) -> bool:
    if b.agent_id not in last.get(a.agent_id, ()) and a.agent_id not in last.get(b.agent_id, ()):
        return False
    after = settings.match_rematch_after_seconds
    return min((now - a.enqueued_at).total_seconds(), (now - b.enqueued_at).total_seconds()) < after


def pick(mode: str, waiting: list[QueueRow], last: dict[UUID, set[UUID]], now: datetime, settings
         ) -> list[QueueRow] | None:
    """The agents of one match, the anchor first; None when no match can be formed now."""
    pools: dict[str, list[QueueRow]] = {}
    for row in waiting:  # oldest first, within each pool too
        pools.setdefault(row.options, []).append(row)
    for pool in pools.values():
        for i, anchor in enumerate(pool):
            waited = (now - anchor.enqueued_at).total_seconds()
            w = window(settings, waited)
            candidates = sorted(
                (c for c in pool[i + 1:]
                 if abs(c.rating - anchor.rating) <= w
                 and (anchor.owner_id is None or c.owner_id != anchor.owner_id)
                 and not _is_rematch(anchor, c, last, now, settings)),
                key=lambda c: (abs(c.rating - anchor.rating), c.enqueued_at))
            group = [anchor]
            owners = {anchor.owner_id} - {None}
            for c in candidates:
                if len(group) == GROUP[mode]:
                    break
                if c.owner_id is not None and c.owner_id in owners:
                    continue
                group.append(c)
                if c.owner_id is not None:
                    owners.add(c.owner_id)
            if len(group) == GROUP[mode]:
                return group
            if mode == "FREE_FOR_ALL" and len(group) == 3 and waited >= settings.match_ffa_fill_seconds:
                return group
    return None


def teams_for(group: list[QueueRow]) -> list[str | None]:
    """Balanced teams by rating (1st and 4th against 2nd and 3rd), in the group's order."""
    ranked = sorted(group, key=lambda r: -r.rating)
    team = {r.agent_id: TEAMS[0] if k in (0, 3) else TEAMS[1] for k, r in enumerate(ranked)}
    return [team[r.agent_id] for r in group]


async def choose_topic(conn: asyncpg.Connection, group: list[QueueRow]) -> str:
    pools = [set(r.topic_pool) for r in group if r.topic_pool]
    if pools:
        choices = sorted(set.intersection(*pools) or set.union(*pools))
    else:
        choices = TOPICS
    use = await queue_store.topic_use(conn, choices)
    least = min(use.get(t, 0) for t in choices)
    return random.choice([t for t in choices if use.get(t, 0) == least])


async def _form_one(core: Core, mode: str) -> bool:
    """Form one match of ``mode`` if one can be formed now; False when none can."""
    out = Outbox()
    try:
        async with transaction(core, out) as conn:
            waiting = await queue_store.waiting(conn, mode, LOOK_AT)
            if len(waiting) < 2:
                return False
            now = await state.db_now(conn)
            last = await queue_store.last_opponents(conn, [r.agent_id for r in waiting])
            group = pick(mode, waiting, last, now, core.settings)
            if group is None:
                return False
            await _open(conn, out, core, mode, group, now)
    except _Refused as refused:
        await _drop(core, refused)
    return True


async def _open(conn: asyncpg.Connection, out: Outbox, core: Core, mode: str, group: list[QueueRow],
                now: datetime) -> None:
    options = BattleOptions.model_validate_json(group[0].options)
    topic = await choose_topic(conn, group)
    values = {**options.model_dump(), "topic": topic, "mode": mode, "max_participants": len(group),
              "creator_agent_id": group[0].agent_id, "creator_user_id": None,
              "deadline_at": now + timedelta(seconds=core.settings.battle_lobby_timeout_seconds)}
    b = None
    while b is None:
        b = await store.insert_battle(conn, service.new_room_code(), values)
    room = await rooms.create(conn, "battle", b.id)
    out.room(room, "battle:created", {"battle": views.battle_view(b, []).model_dump(mode="json"),
                                      "matched": True})
    teams = teams_for(group) if mode == "TEAM" else [None] * len(group)
    parts: list = []
    for row, team in zip(group, teams, strict=True):
        try:
            b = await service.seat_fighter(conn, out, core, b, parts, row.agent_id, team, now)
        except AppError as err:
            raise _Refused(row.agent_id, err) from None
        parts = await store.participants(conn, b.id)
    await queue_store.mark_matched(conn, [r.agent_id for r in group], b.id)
    view = views.battle_view(b, parts).model_dump(mode="json")
    for p in state.active(parts):
        out.agent_enters(p.agent_id, room, "battle:matched", {
            "battle": view, "seat": p.seat, "team_id": p.team_id, "mode": mode, "topic": topic})
    await announce_counts(conn, out)
    out.wake(b.deadline_at)
    log.info("matched %s %s on “%s”: %s", mode, b.room_code, topic, ", ".join(p.seat for p in parts))


async def _drop(core: Core, refused: _Refused) -> None:
    out = Outbox()
    async with transaction(core, out) as conn:
        if await queue_store.leave(conn, refused.agent_id) is not None:
            out.agent(refused.agent_id, "battle:unqueued", {
                "reason": "refused", "code": refused.error.code, "message": refused.error.message})
            await announce_counts(conn, out)
    log.info("agent %s left the queue: %s", refused.agent_id, refused.error.code)


async def _expire(core: Core) -> int:
    """Waits that ran out, and graces that ran out: out of the queue. A grace was started by the process
    that saw a socket go; an agent connected on another process meanwhile keeps its place."""
    out = Outbox()
    async with transaction(core, out) as conn:
        gone = [(r["agent_id"], r["mode"], "timeout") for r in await queue_store.expired(conn, 100)]
        away = await queue_store.grace_over(conn, 100)
        if away:
            present = await core.realtime.connected(r["agent_id"] for r in away)
            back = [r["agent_id"] for r in away if str(r["agent_id"]) in present]
            absent = [r for r in away if str(r["agent_id"]) not in present]
            await queue_store.clear_graces(conn, back)
            await queue_store.drop(conn, [r["agent_id"] for r in absent])
            gone += [(r["agent_id"], r["mode"], "disconnected") for r in absent]
        for agent_id, mode, reason in gone:
            out.agent(agent_id, "battle:unqueued", {"reason": reason, "mode": mode})
        if gone:
            await announce_counts(conn, out)
    return len(gone)


async def sweep_queue(core: Core) -> int:
    """Form what matches can be formed now (a batch at most) and let expired waits go. An empty
    queue costs one small read per sweep."""
    async with core.db.acquire() as conn:
        found = await queue_store.waiting_counts(conn)
    if not found:
        return 0
    formed = 0
    for mode in MODES:
        while found.get(mode, 0) >= 2 and formed < MATCHES_PER_SWEEP and await _form_one(core, mode):
            formed += 1
    return formed + await _expire(core)
