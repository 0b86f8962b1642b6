"""The asyncpg pool and the transaction helper."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime

import asyncpg
import orjson


def _jsonb_encode(value: object) -> bytes:
    """jsonb's binary form: version 1, then the text (orjson: a log batch writes 500 at a time)."""
    try:
        return b"\x01" + orjson.dumps(value)
    except TypeError:  # what orjson will not take (e.g. integer keys): the json module's rules
        return b"\x01" + json.dumps(value).encode()


def _jsonb_decode(data: bytes) -> object:
    return orjson.loads(data[1:])


async def _init_connection(conn: asyncpg.Connection) -> None:
    # json/jsonb travel as Python objects in both directions. jsonb in its binary form, so a binary
    # COPY (copy_records_to_table: the log write path) can carry it too.
    await conn.set_type_codec("json", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")
    await conn.set_type_codec("jsonb", encoder=_jsonb_encode, decoder=_jsonb_decode, schema="pg_catalog",
                              format="binary")


async def _keep_session(conn: asyncpg.Connection) -> None:
    """What a connection goes through on its way back to the pool, after asyncpg rolled back any
    transaction left open: nothing. asyncpg's default sends ``RESET ALL; CLOSE ALL; UNLISTEN *;
    SELECT pg_advisory_unlock_all()`` every time, one more round trip (and four statements) between
    an action's commit and the moment its events go out. No code here leaves session state on a
    pooled connection: nothing SETs a session setting, cursors live in transactions, nobody LISTENs on
    the pool, and the one session advisory lock (retention) is released in a ``finally``."""


async def create_pool(url: str, min_size: int = 1, max_size: int = 10) -> asyncpg.Pool:
    """A pool whose connections speak JSON natively."""
    return await asyncpg.create_pool(
        url,
        min_size=min_size,
        max_size=max_size,
        init=_init_connection,
        reset=_keep_session,
        command_timeout=30,
        server_settings={"application_name": "arena"},
    )


@asynccontextmanager
async def transaction(pool: asyncpg.Pool) -> AsyncIterator[asyncpg.Connection]:
    """A connection inside one transaction: committed on a clean exit, rolled back on an exception."""
    async with pool.acquire() as conn, conn.transaction():
        yield conn


async def now(conn: asyncpg.Connection) -> datetime:
    """The database's clock (the transaction's start): deadlines are compared with now() in SQL."""
    return await conn.fetchval("SELECT now()")
