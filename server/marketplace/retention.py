"""Retention of the marketplace: days of activity that left the 7-day trending window come off the
items' trend and are deleted (once, whichever process runs the round)."""

from __future__ import annotations

import asyncpg

from ..settings import Settings
from . import store


async def age_trends(conn: asyncpg.Connection, settings: Settings) -> int:
    return await store.age_activity(conn)
