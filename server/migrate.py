"""Forward-only SQL migrations: ``sql/NNNN_name.sql`` applied in order, each in a transaction.

A PostgreSQL advisory lock makes concurrent migrators (two servers starting at once) take turns; the
second one finds everything applied and does nothing. An applied file whose checksum changed stops
start-up: migrations are never edited once they have landed.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from pathlib import Path

import asyncpg

log = logging.getLogger(__name__)

SQL_DIR = Path(__file__).resolve().parent.parent / "sql"
# Any constant works; it only has to be the same for every arena process.
LOCK_KEY = 0x41524E41  # "ARNA"
_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")

CREATE_TABLE = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version     integer PRIMARY KEY,
    name        text NOT NULL,
    checksum    text NOT NULL,
    applied_at  timestamptz NOT NULL DEFAULT now()
)
"""
SELECT_APPLIED = "SELECT version, name, checksum FROM schema_migrations ORDER BY version"
INSERT_APPLIED = "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)"


class MigrationError(RuntimeError):
    """The migrations on disk and in the database disagree; start-up must stop."""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def load(directory: Path = SQL_DIR) -> list[Migration]:
    """Every migration file in ``directory``, in version order; a bad name or duplicate version fails."""
    found: dict[int, Migration] = {}
    for path in sorted(directory.glob("*.sql")):
        m = _NAME.match(path.name)
        if not m:
            raise MigrationError(f"migration file name {path.name!r} is not NNNN_name.sql")
        version = int(m.group(1))
        if version in found:
            raise MigrationError(f"two migrations share version {version}")
        found[version] = Migration(version, m.group(2), path.read_text())
    return [found[v] for v in sorted(found)]


async def migrate(conn: asyncpg.Connection, directory: Path = SQL_DIR) -> list[int]:
    """Apply what is missing; return the versions applied now. Raises MigrationError on a mismatch."""
    migrations = load(directory)
    await conn.execute("SELECT pg_advisory_lock($1)", LOCK_KEY)
    try:
        await conn.execute(CREATE_TABLE)
        applied = {r["version"]: r for r in await conn.fetch(SELECT_APPLIED)}
        for m in migrations:
            row = applied.get(m.version)
            if row is not None and row["checksum"] != m.checksum:
                raise MigrationError(
                    f"migration {m.version:04d}_{m.name}.sql changed after it was applied "
                    f"(recorded checksum {row['checksum'][:12]}…, file {m.checksum[:12]}…); "
                    "migrations are forward-only: add a new file instead"
                )
        done: list[int] = []
        for m in migrations:
            if m.version in applied:
                continue
            async with conn.transaction():
                await conn.execute(m.sql)
                await conn.execute(INSERT_APPLIED, m.version, m.name, m.checksum)
            log.info("applied migration %04d_%s", m.version, m.name)
            done.append(m.version)
        return done
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", LOCK_KEY)


async def migrate_url(url: str, directory: Path = SQL_DIR) -> list[int]:
    """Connect, migrate, disconnect."""
    conn = await asyncpg.connect(url)
    try:
        return await migrate(conn, directory)
    finally:
        await conn.close()
