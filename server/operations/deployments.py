"""Deployments: numbered versions of an agent's config, rolled out to its live connections.

pending -> deploying: the config is pushed to every socket of the agent (``agent:config``) and a
deadline is set. The first socket to acknowledge completes it (deployed: it becomes the agent's config,
and the deployment before it is stopped); a refusal or the deadline fails it (the agent's status
becomes ``error``). A scheduled deployment stays pending until its time, when exactly one process
starts it (sweep). A newer deployment stops one still on its way. A rollback is a new deployment of
an earlier version's config: history is never rewritten.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

import asyncpg

from .. import audit
from ..auth.actor import Actor
from ..core import Core
from ..db import now as db_now
from ..errors import AppError, field_invalid
from ..faults import answer_for
from ..notifications.service import notify
from ..pagination import cut_page
from ..realtime.hub import AGENT_NS, agent_room
from ..realtime.outbox import Outbox
from ..wire import parse
from . import deployments_store as store
from . import fleet, fleet_store
from .models import ConfigAnswer, ConfigResult, DeploymentCreate, DeploymentPage, DeploymentQuery, DeploymentView
from .scope import acting, reading

EVENT = "agent:config"
SWEEP_BATCH = 50


def not_found() -> AppError:
    return AppError("deployment.not_found", "no such deployment (or not one you may see)", 404)


def view(row: asyncpg.Record | dict[str, Any]) -> DeploymentView:
    return DeploymentView.model_validate(dict(row))


def push_payload(row: asyncpg.Record) -> dict[str, Any]:
    """``agent:config``: what the agent's sockets receive (and acknowledge)."""
    return {"deployment_id": str(row["id"]), "version": row["version"], "config": row["config"],
            "deployment_config": row["deployment_config"]}


async def _announce(conn: asyncpg.Connection, out: Outbox, deployment_id: UUID) -> DeploymentView:
    row = await store.get(conn, deployment_id)
    deployment = view(row)
    await fleet.tell(conn, out, row["agent_id"], "ops:deployment", {"deployment": deployment.model_dump(mode="json")})
    return deployment


async def _roll_out(core: Core, conn: asyncpg.Connection, out: Outbox, deployment_id: UUID) -> None:
    """pending -> deploying, with the agent's row locked: push the config, stop what it replaces."""
    deadline = await store.start(conn, deployment_id, core.settings.deploy_ack_seconds)
    if deadline is None:
        return
    row = await store.get(conn, deployment_id)
    for gone in await store.supersede(conn, row["agent_id"], deployment_id, f"superseded by version {row['version']}"):
        await _announce(conn, out, gone)
    out.call(row["agent_id"], EVENT, push_payload(row), EVENT)
    out.wake(deadline)
    await _announce(conn, out, deployment_id)


async def start(core: Core, conn: asyncpg.Connection, out: Outbox, actor: Actor, agent_id: UUID,
                body: DeploymentCreate, *, rollback_of: asyncpg.Record | None = None) -> UUID:
    """A new deployment of the agent, in the caller's actor-bound transaction (the caller checked the
    actor may steer the agent)."""
    await fleet_store.lock(conn, agent_id)
    ops = await fleet.visible(conn, agent_id)
    if body.scheduled_at is not None and body.scheduled_at <= await db_now(conn):
        raise field_invalid(["scheduled_at"], "must be in the future")
    version = await fleet_store.next_version(conn, agent_id)
    trigger_config: dict[str, Any] = {}
    if rollback_of is not None:
        trigger_config = {"rollback_of": str(rollback_of["id"]), "rollback_to_version": rollback_of["version"]}
    deployment_config = body.deployment_config if body.deployment_config is not None else ops["deployment_config"]
    deployment_id = await store.insert(
        conn, agent_id, version, body.trigger_type, trigger_config, body.config, deployment_config,
        rollback_of["id"] if rollback_of is not None else None, body.deployment_url, body.scheduled_at,
        actor.id if actor.is_user else None)
    if body.scheduled_at is None:
        await _roll_out(core, conn, out, deployment_id)
    else:
        out.wake(body.scheduled_at)
        await _announce(conn, out, deployment_id)
    await audit.record(conn, actor, "deployment.created", resource_type="deployment", resource_id=deployment_id,
                       details={"agent_id": str(agent_id), "version": version, "trigger_type": body.trigger_type,
                                "rollback_of": trigger_config.get("rollback_of")})
    return deployment_id


def _users_only(actor: Actor) -> None:
    if actor.is_agent:
        raise AppError("ops.forbidden", "an agent does not deploy itself; its people do", 403)
    if not actor.is_user:
        raise AppError("auth.required", "sign in as a user to deploy", 401)


async def create(core: Core, actor: Actor, agent_id: UUID, body: DeploymentCreate) -> DeploymentView:
    """``POST /api/agents/{id}/deployments``."""
    _users_only(actor)
    out = Outbox()
    async with acting(core, out, actor) as conn:
        await fleet.visible(conn, agent_id)
        await fleet.require_manage(conn, agent_id, "deploying")
        deployment_id = await start(core, conn, out, actor, agent_id, body)
        return view(await store.get(conn, deployment_id))


async def _visible(conn: asyncpg.Connection, deployment_id: UUID) -> asyncpg.Record:
    row = await store.get(conn, deployment_id)
    if row is None:
        raise not_found()
    return row


async def rollback(core: Core, actor: Actor, deployment_id: UUID) -> DeploymentView:
    """``POST /api/deployments/{id}/rollback``: a new deployment of that one's config and version."""
    _users_only(actor)
    out = Outbox()
    async with acting(core, out, actor) as conn:
        target = await _visible(conn, deployment_id)
        await fleet.require_manage(conn, target["agent_id"], "rolling back")
        if target["deployed_at"] is None:
            raise AppError("deployment.never_deployed", "only a version that was deployed can be rolled back to",
                           409, details={"status": target["status"]})
        new_id = await start(core, conn, out, actor, target["agent_id"], DeploymentCreate(
            config=target["config"], deployment_config=target["deployment_config"], trigger_type="manual"),
            rollback_of=target)
        return view(await store.get(conn, new_id))


async def stop(core: Core, actor: Actor, deployment_id: UUID) -> DeploymentView:
    """``POST /api/deployments/{id}/stop``: a pending or deploying deployment will not happen."""
    _users_only(actor)
    out = Outbox()
    async with acting(core, out, actor) as conn:
        row = await _visible(conn, deployment_id)
        await fleet.require_manage(conn, row["agent_id"], "stopping a deployment")
        await fleet_store.lock(conn, row["agent_id"])
        if not await store.stop(conn, deployment_id, f"stopped by {actor.name}"):
            raise AppError("deployment.finished", "this deployment has ended already", 409,
                           details={"status": (await store.get(conn, deployment_id))["status"]})
        await audit.record(conn, actor, "deployment.stopped", resource_type="deployment", resource_id=deployment_id)
        return await _announce(conn, out, deployment_id)


async def get(core: Core, actor: Actor, deployment_id: UUID) -> DeploymentView:
    async with reading(core, actor) as conn:
        return view(await _visible(conn, deployment_id))


async def page(core: Core, actor: Actor, agent_id: UUID, q: DeploymentQuery) -> DeploymentPage:
    async with reading(core, actor) as conn:
        await fleet.visible(conn, agent_id)
        rows = await store.page(conn, agent_id, q.status, q.after, q.limit + 1)
    rows, cursor = cut_page(rows, q.limit)
    return DeploymentPage(items=[view(r) for r in rows], next_cursor=cursor)


# -- the agent's answer ------------------------------------------------------------------------------


async def _deployed(conn: asyncpg.Connection, out: Outbox, row: asyncpg.Record) -> None:
    agent_id = row["agent_id"]
    await store.deployed(conn, row["id"])
    for gone in await store.retire(conn, agent_id, row["id"]):
        await _announce(conn, out, gone)
    await fleet_store.set_deployed(conn, agent_id, row["config"], row["deployment_config"], row["version"])
    ops = await fleet_store.ops(conn, agent_id)
    if ops["status"] in ("inactive", "error"):
        await fleet.change_status(conn, out, agent_id, "active", f"version {row['version']} deployed")
    else:
        await fleet.announce(conn, out, agent_id)
    if ops["owner_id"] is not None:
        await notify(conn, out, user_id=ops["owner_id"], type_="deployment_success", title="Deployment succeeded",
                     message=f'Version {row["version"]} of "{ops["display_name"]}" is deployed',
                     data={"agent_id": str(agent_id), "deployment_id": str(row["id"]), "version": row["version"]},
                     priority="low")
    await _announce(conn, out, row["id"])


async def _failed(conn: asyncpg.Connection, out: Outbox, row: asyncpg.Record, error: str) -> None:
    agent_id = row["agent_id"]
    await store.fail(conn, row["id"], error)
    await fleet.change_status(conn, out, agent_id, "error", f"version {row['version']} failed: {error}")
    ops = await fleet_store.ops(conn, agent_id)
    if ops["owner_id"] is not None:
        await notify(conn, out, user_id=ops["owner_id"], type_="deployment_failed", title="Deployment failed",
                     message=f'Version {row["version"]} of "{ops["display_name"]}" failed: {error}',
                     data={"agent_id": str(agent_id), "deployment_id": str(row["id"]), "version": row["version"]},
                     priority="high")
    await _announce(conn, out, row["id"])


async def answer(core: Core, actor: Actor, body: ConfigResult) -> DeploymentView:
    """``agent:config_result`` (and the ack of ``agent:config``): the agent applied the config, or not."""
    if not actor.is_agent:
        raise AppError("auth.forbidden", "only the agent answers its config", 403)
    out = Outbox()
    async with acting(core, out, actor) as conn:
        row = await store.get(conn, body.deployment_id)
        if row is None or row["agent_id"] != actor.id:
            raise not_found()
        await fleet_store.lock(conn, actor.id)
        row = await store.lock(conn, body.deployment_id)
        if row["status"] != "deploying":
            raise AppError("deployment.not_deploying", f"this deployment is {row['status']}, not deploying", 409,
                           details={"status": row["status"]})
        if body.ok:
            await _deployed(conn, out, row)
        else:
            await _failed(conn, out, row, body.error or "the agent refused the config")
        return view(await store.get(conn, body.deployment_id))


async def config_answered(core: Core, actor: Actor, sid: str, data: Any, reply: Any) -> None:
    """The ack of ``agent:config``: ``{ok: true}`` or ``{ok: false, error}`` (an empty ack: the agent
    answers later with ``agent:config_result``). What cannot be used is told to the socket as
    ``agent:config_refused``; the deadline then decides."""
    if reply is None:
        return  # the agent answers later, with agent:config_result
    ref = {"deployment_id": data.get("deployment_id")}
    try:
        given = parse(ConfigAnswer, reply, "ack")
        await answer(core, actor, ConfigResult(deployment_id=data["deployment_id"], ok=given.ok, error=given.error))
    except AppError as err:
        if err.code == "deployment.not_deploying":
            return  # another socket of the agent answered first
        await core.realtime.sio.emit("agent:config_refused", {**ref, "error": err.payload()}, to=sid,
                                     namespace="/agent")


async def agent_connected(core: Core, actor: Actor, sid: str) -> None:
    """An agent that (re)connects gets the config still on its way to it; its team sees it online."""
    out = Outbox()
    async with core.db.acquire() as conn, conn.transaction():
        await fleet_store.touch_one(conn, actor.id, await db_now(conn))
        for row in await store.in_progress(conn, actor.id):
            out.call(actor.id, EVENT, push_payload(row), EVENT)
        await fleet.tell_presence(conn, out, actor.id, True)
        await out.write(conn)
    await out.flush(core)


async def agent_disconnected(core: Core, actor: Actor, sid: str) -> None:
    """An agent's socket went. The hooks run before the library takes the socket out of its rooms,
    and whatever they wait for, others see the agent connected meanwhile: so this only starts a task."""
    core.realtime.sio.start_background_task(_maybe_offline, core, actor, sid)


async def _maybe_offline(core: Core, actor: Actor, sid: str) -> None:
    """If that was the agent's last socket (on any process), its team sees it offline."""
    try:
        await _offline(core, actor, sid)
    except Exception as exc:  # a background task: nobody else would hear of it
        await answer_for(exc, core.db, f"presence of {actor.label}")


async def _offline(core: Core, actor: Actor, sid: str) -> None:
    room = agent_room(actor.id)
    if any(s != sid for s in core.realtime.sio.manager.rooms.get(AGENT_NS, {}).get(room, {})):
        return  # another connection of the same agent is still here
    if core.realtime.presence is not None and (await core.realtime.presence.counts([room], skip_own=True)).get(room):
        return  # or on another process
    out = Outbox()
    async with core.db.acquire() as conn, conn.transaction():
        await fleet.tell_presence(conn, out, actor.id, False)
        await out.write(conn)
    await out.flush(core)


# -- the sweep: scheduled starts and deadlines, each on exactly one process --------------------------


async def _due_one(core: Core, item: asyncpg.Record, scheduled: bool) -> bool:
    out = Outbox()
    async with core.db.acquire() as conn, conn.transaction():
        await fleet_store.lock(conn, item["agent_id"])
        if not await store.claim(conn, item["id"], "pending" if scheduled else "deploying"):
            return False
        if scheduled:
            row = await store.get(conn, item["id"])
            newer = (await fleet_store.ops(conn, row["agent_id"]))["deployed_version"]
            if newer is not None and newer > row["version"]:  # an older config does not undo a newer one
                await store.stop(conn, row["id"], f"version {newer} was deployed after this one was scheduled")
                await _announce(conn, out, row["id"])
            else:
                await _roll_out(core, conn, out, item["id"])
        else:
            row = await store.get(conn, item["id"])
            await _failed(conn, out, row, f"no acknowledgement within {core.settings.deploy_ack_seconds:g} s")
        await out.write(conn)
    await out.flush(core)
    return True


async def sweep_deployments(core: Core) -> int:
    """Start the scheduled deployments that are due and fail the ones past their deadline."""
    done = 0
    for scheduled in (True, False):
        async with core.db.acquire() as conn:
            items = await store.due(conn, scheduled, SWEEP_BATCH)
        for item in items:
            done += await _due_one(core, item, scheduled)
    return done


