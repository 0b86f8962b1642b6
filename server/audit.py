"""The audit log: who did what to which resource, from where. Written in the caller's transaction."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import asyncpg

from .auth.actor import Actor

INSERT_AUDIT = """
INSERT INTO audit_logs (actor_type, actor_id, action, resource_type, resource_id, ip_address, user_agent,
                        details)
VALUES ($1, $2, $3, $4, $5, $6::inet, $7, $8)
"""


async def record(
    conn: asyncpg.Connection,
    actor: Actor,
    action: str,
    *,
    resource_type: str | None = None,
    resource_id: UUID | None = None,
    user_agent: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """Append one audit row; ``action`` is a dotted verb such as ``agent.key_rotated``."""
    await conn.execute(
        INSERT_AUDIT, actor.kind, actor.id, action, resource_type, resource_id, actor.ip, user_agent,
        details or {},
    )


DELETE_OLD = """
WITH gone AS (DELETE FROM audit_logs WHERE created_at < now() - make_interval(days => $1) RETURNING 1)
SELECT count(*) FROM gone
"""


async def retain_audit_logs(conn: asyncpg.Connection, settings: Any) -> int:
    """Audit rows older than ``retain_audit_logs_days`` (a year by default, as the seed says)."""
    return await conn.fetchval(DELETE_OLD, settings.retain_audit_logs_days)
