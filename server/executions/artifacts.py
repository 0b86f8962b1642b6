"""Artifacts of an execution (inline JSON or an uploaded file), its input file, the owner's
verification, downloads, and the removal of files no row points at."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import asyncpg
from aiohttp import web

from .. import storage
from ..auth.actor import Actor
from ..core import Core
from ..errors import AppError
from ..realtime.outbox import Outbox, run
from . import files, store, views
from .access import load_view, not_found, visible, writable
from .models import TERMINAL, ArtifactIn, ArtifactView, ExecutionView
from .views import room_of


async def _record_artifact(conn: asyncpg.Connection, out: Outbox, execution_id: UUID, type_: str, name: str,
                           data: Any, stored: files.Stored | None) -> ArtifactView:
    row = await store.insert_artifact(conn, execution_id, type_, name, data, stored.path if stored else None,
                                      stored.size if stored else None, stored.mime_type if stored else None,
                                      stored.sha256 if stored else None)
    artifact = views.artifact_view(row)
    out.room(room_of(execution_id), "execution:artifact", {
        "execution_id": str(execution_id), "artifact": artifact.model_dump(mode="json")})
    return artifact


async def add_artifact(core: Core, actor: Actor, body: ArtifactIn) -> ArtifactView:
    async def action(conn: asyncpg.Connection, out: Outbox) -> ArtifactView:
        await writable(conn, actor, body.execution_id)
        return await _record_artifact(conn, out, body.execution_id, body.type, body.name, body.data, None)

    return await run(core, action)


async def upload_artifact(core: Core, actor: Actor, execution_id: UUID, type_: str, name: str, data: bytes
                          ) -> ArtifactView:
    """Check first (nothing is written for a refused upload), store the file, then record it; a file
    whose row did not commit is an orphan that retention removes."""
    async with core.db.acquire() as conn, conn.transaction():
        await writable(conn, actor, execution_id)
    stored = await files.store(core.settings, execution_id, data)

    async def action(conn: asyncpg.Connection, out: Outbox) -> ArtifactView:
        await writable(conn, actor, execution_id)
        return await _record_artifact(conn, out, execution_id, type_, name, None, stored)

    try:
        return await run(core, action)
    except Exception:
        files.remove(core.settings, stored.path)
        raise


async def upload_input(core: Core, actor: Actor, execution_id: UUID, data: bytes) -> ExecutionView:
    async with core.db.acquire() as conn, conn.transaction():
        r = await writable(conn, actor, execution_id)
        if r["input_file_path"] is not None:
            raise AppError("execution.input_file_exists", "this execution already has its input file", 409)
    stored = await files.store(core.settings, execution_id, data)

    async def action(conn: asyncpg.Connection, out: Outbox) -> ExecutionView:
        r = await writable(conn, actor, execution_id)
        if r["input_file_path"] is not None:
            raise AppError("execution.input_file_exists", "this execution already has its input file", 409)
        await store.set_input_file(conn, execution_id, stored.path, stored.size, stored.mime_type)
        view = await load_view(conn, execution_id)
        out.room(room_of(execution_id), "execution:status", {
            "execution_id": str(execution_id), "status": view.status, "previous": view.status,
            "execution": view.model_dump(mode="json")})
        return view

    try:
        return await run(core, action)
    except Exception:
        files.remove(core.settings, stored.path)
        raise


async def set_verified(core: Core, actor: Actor, execution_id: UUID, artifact_id: UUID, verified: bool
                       ) -> ArtifactView:
    """The owner (a user, or an admin) marks an artifact verified; it may change after the run ended."""
    async def action(conn: asyncpg.Connection, out: Outbox) -> ArtifactView:
        if await store.lock_execution(conn, execution_id) is None:
            raise not_found()
        r = await visible(conn, actor, execution_id)
        if not (actor.is_admin or (actor.is_user and actor.id == r["user_id"])):
            raise AppError("execution.forbidden", "only the owner verifies artifacts", 403)
        row = await store.set_verified(conn, execution_id, artifact_id, verified)
        if row is None:
            raise AppError("execution.artifact_not_found", "no such artifact", 404)
        artifact = views.artifact_view(row)
        if r["status"] not in TERMINAL:  # after the end nothing follows execution:ended; reads show it
            out.room(room_of(execution_id), "execution:artifact", {
                "execution_id": str(execution_id), "artifact": artifact.model_dump(mode="json")})
        return artifact

    return await run(core, action)


async def artifact_file(core: Core, actor: Actor, execution_id: UUID, artifact_id: UUID) -> web.StreamResponse:
    async with core.db.acquire() as conn:
        await visible(conn, actor, execution_id)
        row = await store.artifact(conn, execution_id, artifact_id)
    if row is None:
        raise AppError("execution.artifact_not_found", "no such artifact", 404)
    if row["file_path"] is None:
        raise AppError("execution.artifact_not_found", "this artifact is inline JSON, not a file", 404)
    return files.response(core.settings, row["file_path"], row["mime_type"], row["name"])


async def input_file(core: Core, actor: Actor, execution_id: UUID) -> web.StreamResponse:
    async with core.db.acquire() as conn:
        r = await visible(conn, actor, execution_id)
    if r["input_file_path"] is None:
        raise AppError("execution.file_missing", "this execution has no input file", 404)
    return files.response(core.settings, r["input_file_path"], r["input_file_mime"], f"input-{execution_id}")


async def retain_files(conn: asyncpg.Connection, settings) -> int:
    """Files no artifact or execution points at any more (their rows went, or never committed)."""
    in_use = await store.files_in_use(conn)
    gone = storage.orphans(settings, files.SUBDIR, in_use, older_than=300)
    for rel in gone:
        files.remove(settings, rel)
    return len(gone)
