"""Migrations: fresh apply, re-run is a no-op, a changed file is refused, concurrent migrators."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import asyncpg
import pytest

from server import migrate


async def _tables(url: str) -> set[str]:
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        return {r["tablename"] for r in rows}
    finally:
        await conn.close()


async def test_fresh_apply_creates_schema_and_records_versions(empty_database_url: str) -> None:
    applied = await migrate.migrate_url(empty_database_url)
    expected = [m.version for m in migrate.load()]
    assert applied == expected
    tables = await _tables(empty_database_url)
    assert {"users", "agents", "agent_api_keys", "sessions", "audit_logs", "rooms", "room_events"} <= tables
    conn = await asyncpg.connect(empty_database_url)
    try:
        rows = await conn.fetch("SELECT version, name, checksum FROM schema_migrations ORDER BY version")
    finally:
        await conn.close()
    on_disk = migrate.load()
    assert [(r["version"], r["name"], r["checksum"]) for r in rows] == [
        (m.version, m.name, m.checksum) for m in on_disk
    ]


async def test_rerun_is_a_noop(empty_database_url: str) -> None:
    await migrate.migrate_url(empty_database_url)
    assert await migrate.migrate_url(empty_database_url) == []


async def test_changed_checksum_is_refused(empty_database_url: str, tmp_path: Path) -> None:
    sql = tmp_path / "sql"
    shutil.copytree(migrate.SQL_DIR, sql)
    await migrate.migrate_url(empty_database_url, sql)
    first = sorted(sql.glob("*.sql"))[0]
    first.write_text(first.read_text() + "\n-- edited after landing\n")
    with pytest.raises(migrate.MigrationError, match="changed after it was applied"):
        await migrate.migrate_url(empty_database_url, sql)


async def test_new_file_is_applied_later_in_order(empty_database_url: str, tmp_path: Path) -> None:
    sql = tmp_path / "sql"
    shutil.copytree(migrate.SQL_DIR, sql)
    await migrate.migrate_url(empty_database_url, sql)
    (sql / "9000_extra.sql").write_text("CREATE TABLE extra_thing (id int PRIMARY KEY);")
    assert await migrate.migrate_url(empty_database_url, sql) == [9000]
    assert "extra_thing" in await _tables(empty_database_url)


async def test_failed_migration_rolls_back_and_is_not_recorded(empty_database_url: str, tmp_path: Path) -> None:
    sql = tmp_path / "sql"
    shutil.copytree(migrate.SQL_DIR, sql)
    (sql / "9001_broken.sql").write_text("CREATE TABLE half_done (id int); SELECT no_such_function();")
    with pytest.raises(asyncpg.PostgresError):
        await migrate.migrate_url(empty_database_url, sql)
    assert "half_done" not in await _tables(empty_database_url)
    conn = await asyncpg.connect(empty_database_url)
    try:
        assert await conn.fetchval("SELECT count(*) FROM schema_migrations WHERE version = 9001") == 0
    finally:
        await conn.close()


async def test_bad_file_name_is_refused(tmp_path: Path) -> None:
    (tmp_path / "1_oops.sql").write_text("SELECT 1;")
    with pytest.raises(migrate.MigrationError, match="NNNN_name"):
        migrate.load(tmp_path)


async def test_concurrent_migrators_take_turns(empty_database_url: str, tmp_path: Path) -> None:
    # A slow migration widens the window in which a second migrator could race.
    sql = tmp_path / "sql"
    shutil.copytree(migrate.SQL_DIR, sql)
    (sql / "9002_slow.sql").write_text("SELECT pg_sleep(0.5); CREATE TABLE slow_one (id int);")
    results = await asyncio.gather(*(migrate.migrate_url(empty_database_url, sql) for _ in range(3)))
    everything = [m.version for m in migrate.load(sql)]
    assert sorted(results, key=len, reverse=True) == [everything, [], []]
    conn = await asyncpg.connect(empty_database_url)
    try:
        assert await conn.fetchval("SELECT count(*) FROM schema_migrations") == len(everything)
    finally:
        await conn.close()
