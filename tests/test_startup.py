"""``arena serve`` start-up mistakes: each one is a plain line or two naming the setting, never a traceback,
and is found before anything starts (no embedded PostgreSQL, no bound port left behind)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from server.embedded import DataDirLock, free_port
from server.startup import mask_url

ROOT = Path(__file__).resolve().parent.parent
# Settings a developer's shell may carry that would change what these cases see.
_CLEARED = {"DATABASE_URL", "REDIS_URL", "SECRET_KEY", "HOST", "PORT", "DATA_DIR", "LOG_LEVEL", "LOG_FORMAT"}


def _env(**settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k.upper() not in _CLEARED}
    env.setdefault("XDG_RUNTIME_DIR", "/tmp")
    return {**env, **settings}


def arena(*args: str, timeout: float = 30, **settings: str) -> subprocess.CompletedProcess[str]:
    """Run ``python -m server <args>``; a hang fails the test instead of blocking the run."""
    return subprocess.run([sys.executable, "-m", "server", *args], cwd=ROOT, env=_env(**settings),
                          capture_output=True, text=True, timeout=timeout)


def serve(data_dir: Path, *extra: str, **settings: str) -> subprocess.CompletedProcess[str]:
    return arena("serve", "--data-dir", str(data_dir), *extra, **settings)


def assert_plain_failure(r: subprocess.CompletedProcess[str], *names: str, max_lines: int = 2) -> str:
    """Non-zero exit, at most ``max_lines`` lines of ``error: ...``, no traceback, every name mentioned."""
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert r.returncode != 0, r.stderr
    assert "Traceback" not in r.stderr, r.stderr
    assert 1 <= len(lines) <= max_lines, r.stderr
    assert all(line.startswith("error: ") for line in lines), r.stderr
    for name in names:
        assert name in r.stderr, (name, r.stderr)
    return r.stderr


def _host_port(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.hostname}:{parts.port}"


def _with_password(url: str, password: str) -> str:
    parts = urlsplit(url)
    netloc = f"{parts.username or ''}:{password}@{parts.hostname}:{parts.port}"
    return parts._replace(netloc=netloc).geturl()


def test_unreachable_database_url(services, tmp_path: Path) -> None:
    port = free_port()  # nobody listens there
    r = serve(tmp_path / "data", "--port", str(free_port()),
              DATABASE_URL=f"postgresql://arena:hunter2@127.0.0.1:{port}/arena",
              REDIS_URL=services.redis.url, SECRET_KEY="s")
    err = assert_plain_failure(r, "DATABASE_URL", f"127.0.0.1:{port}", "connection refused")
    assert "hunter2" not in err


def test_unreachable_redis_url(services, tmp_path: Path) -> None:
    port = free_port()
    r = serve(tmp_path / "data", "--port", str(free_port()),
              DATABASE_URL=services.pg.url, REDIS_URL=f"redis://:hunter2@127.0.0.1:{port}/0", SECRET_KEY="s")
    err = assert_plain_failure(r, "REDIS_URL", f"127.0.0.1:{port}", "connection refused")
    assert "hunter2" not in err


def test_wrong_database_password(services, tmp_path: Path) -> None:
    url = _with_password(services.pg.url, "not-the-password")
    r = serve(tmp_path / "data", "--port", str(free_port()),
              DATABASE_URL=url, REDIS_URL=services.redis.url, SECRET_KEY="s")
    err = assert_plain_failure(r, "DATABASE_URL", _host_port(url), "password")
    assert "not-the-password" not in err


def test_unknown_database(services, tmp_path: Path) -> None:
    r = serve(tmp_path / "data", "--port", str(free_port()),
              DATABASE_URL=services.pg.url_for("no_such_db"), REDIS_URL=services.redis.url, SECRET_KEY="s")
    assert_plain_failure(r, "DATABASE_URL", '"no_such_db" does not exist')


def test_wrong_redis_password(services, tmp_path: Path) -> None:
    url = _with_password(services.redis.url, "not-the-password")
    r = serve(tmp_path / "data", "--port", str(free_port()),
              DATABASE_URL=services.pg.url, REDIS_URL=url, SECRET_KEY="s")
    err = assert_plain_failure(r, "REDIS_URL", _host_port(url))
    assert "not-the-password" not in err


@pytest.mark.parametrize("url", [
    "mysql://arena:hunter2@db.example/arena",
    "db.example:5432",
    "postgresql:///arena",
    "postgresql://arena:hunter2@db.example:port/arena",
])
def test_malformed_database_url(url: str, tmp_path: Path) -> None:
    r = serve(tmp_path / "data", "--port", str(free_port()), DATABASE_URL=url)
    err = assert_plain_failure(r, "DATABASE_URL", "postgresql://")
    assert "hunter2" not in err
    assert not (tmp_path / "data").exists()


@pytest.mark.parametrize("url", ["http://:hunter2@cache.example:6379", "cache.example:6379", "unix://"])
def test_malformed_redis_url(url: str, tmp_path: Path) -> None:
    r = serve(tmp_path / "data", "--port", str(free_port()), REDIS_URL=url)
    err = assert_plain_failure(r, "REDIS_URL", "redis://")
    assert "hunter2" not in err
    assert not (tmp_path / "data").exists()


def test_port_in_use_is_found_before_anything_starts(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        r = serve(tmp_path / "data", "--port", str(port))
    assert_plain_failure(r, f"127.0.0.1:{port}", "--port", "PORT", "in use")
    assert not (tmp_path / "data" / "postgres").exists()


def test_data_dir_in_use(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    lock = DataDirLock(data_dir)
    lock.acquire()
    try:
        r = serve(data_dir, "--port", str(free_port()))
    finally:
        lock.release()
    assert_plain_failure(r, str(data_dir), "--data-dir", "DATA_DIR", f"in use by pid {os.getpid()}")
    assert not (data_dir / "postgres").exists()


def test_secret_key_required_with_both_urls(tmp_path: Path) -> None:
    # Unreachable on purpose: the missing secret is reported before any connection is tried.
    r = serve(tmp_path / "data", "--port", str(free_port()),
              DATABASE_URL=f"postgresql://arena:pw@127.0.0.1:{free_port()}/arena",
              REDIS_URL=f"redis://127.0.0.1:{free_port()}/0")
    assert_plain_failure(r, "SECRET_KEY", "DATABASE_URL", "REDIS_URL")


def test_invalid_settings_name_each_variable(tmp_path: Path) -> None:
    r = serve(tmp_path / "data", PORT="abc", LOG_FORMAT="xml")
    err = assert_plain_failure(r, "PORT='abc'", "LOG_FORMAT='xml'", "text or json")
    assert len(err.strip().splitlines()) == 2


def test_help_shows_defaults_and_environment_variables() -> None:
    r = arena("serve", "--help")
    assert r.returncode == 0, r.stderr
    out = " ".join(r.stdout.split())  # argparse wraps lines
    assert "(default: 8080; env PORT)" in out
    assert "(default: 127.0.0.1; env HOST)" in out
    assert "env DATA_DIR" in out and "MIGRATE_ON_START" in out and "DEMO" in out
    assert "README" in out


def test_migrate_with_unreachable_database_url(tmp_path: Path) -> None:
    port = free_port()
    r = arena("migrate", "--data-dir", str(tmp_path / "data"),
              DATABASE_URL=f"postgresql://arena:pw@127.0.0.1:{port}/arena")
    assert_plain_failure(r, "DATABASE_URL", f"127.0.0.1:{port}")


@pytest.mark.parametrize(("url", "masked"), [
    ("postgresql://arena:hunter2@db:5432/arena", "postgresql://arena:***@db:5432/arena"),
    ("redis://:p@ss@cache:6379/0", "redis://:***@cache:6379/0"),
    ("arena:hunter2@db/arena", "arena:***@db/arena"),
    ("postgresql://db/arena?user=a&password=hunter2", "postgresql://db/arena?user=a&password=***"),
    ("redis://cache:6379/0", "redis://cache:6379/0"),
])
def test_mask_url(url: str, masked: str) -> None:
    assert mask_url(url) == masked
