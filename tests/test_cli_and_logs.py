"""The ``arena migrate`` command and JSON logs."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import asyncpg

from server import logs, migrate

ROOT = Path(__file__).resolve().parent.parent


def test_arena_migrate_command_against_a_url(empty_database_url: str) -> None:
    env = {**os.environ, "DATABASE_URL": empty_database_url}
    first = subprocess.run([sys.executable, "-m", "server", "migrate"], cwd=ROOT, env=env,
                           capture_output=True, text=True, timeout=60)
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip() == f"applied: {[m.version for m in migrate.load()]}"
    again = subprocess.run([sys.executable, "-m", "server", "migrate"], cwd=ROOT, env=env,
                           capture_output=True, text=True, timeout=60)
    assert again.returncode == 0 and again.stdout.strip() == "nothing to apply"


def test_changed_migration_stops_the_command(empty_database_url: str) -> None:
    async def tamper() -> None:
        await migrate.migrate_url(empty_database_url)
        conn = await asyncpg.connect(empty_database_url)
        try:
            await conn.execute("UPDATE schema_migrations SET checksum = 'edited' WHERE version = 1")
        finally:
            await conn.close()

    asyncio.run(tamper())
    env = {**os.environ, "DATABASE_URL": empty_database_url}
    r = subprocess.run([sys.executable, "-m", "server", "migrate"], cwd=ROOT, env=env,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 1
    assert "changed after it was applied" in r.stderr


def test_json_log_lines(capsys) -> None:
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        logs.configure("json", "INFO")
        logging.getLogger("server.test").info("agent connected: %s", "bot-1", extra={"sid": "abc"})
        line = capsys.readouterr().err.strip().splitlines()[-1]
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)
    record = json.loads(line)
    assert record["msg"] == "agent connected: bot-1"
    assert record["level"] == "INFO" and record["logger"] == "server.test" and record["sid"] == "abc"
