"""Accounts, agents, keys and sessions (and the audit log's retention), as the server mounts them."""

import asyncpg

from ..audit import retain_audit_logs
from ..domain import Domain
from ..retention import RetentionJob
from ..settings import Settings
from . import store
from .routes import routes


async def old_sessions(conn: asyncpg.Connection, settings: Settings) -> int:
    """Sessions revoked or expired more than RETAIN_REVOKED_SESSIONS_DAYS ago."""
    return await store.delete_old_sessions(conn, settings.retain_revoked_sessions_days)


domain = Domain("auth", routes=routes, retention=(RetentionJob("sessions", old_sessions),
                                                 RetentionJob("audit_logs", retain_audit_logs)))
