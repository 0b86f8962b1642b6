"""The ``arena`` command: ``arena serve``, ``migrate``, ``cleanup`` and ``user promote|demote``."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import socket
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from . import startup
from .settings import Settings
from .startup import StartupError

log = logging.getLogger("server")

SETTINGS_NOTE = (
    "Every other setting is an environment variable (DATABASE_URL, REDIS_URL, SECRET_KEY, LOG_LEVEL, ...); "
    "the Configuration section of the README lists them all. Options override their variable."
)


def _settings(args: argparse.Namespace) -> Settings:
    overrides = {}
    for name in ("host", "port", "data_dir"):
        value = getattr(args, name, None)
        if value is not None:
            overrides[name] = value
    if getattr(args, "no_migrate", False):
        overrides["migrate_on_start"] = False
    if getattr(args, "demo", False):
        overrides["demo"] = True
    return Settings(**overrides)


def _fail(lines: list[str], exc: BaseException, code: int = 1) -> int:
    """Print ``error: <line>`` to stderr (plain even with LOG_FORMAT=json); the traceback is DEBUG only."""
    log.debug("%s", lines[0], exc_info=exc)
    for line in lines:
        print(f"error: {line}", file=sys.stderr, flush=True)
    return code


def _configured(args: argparse.Namespace) -> Settings | int:
    """Settings with logging set up, or the exit code after saying what is wrong with them."""
    try:
        settings = _settings(args)
        startup.configure_logging(settings)
    except ValidationError as exc:
        return _fail(startup.settings_errors(exc), exc, code=2)  # 2, as argparse for a bad option
    except StartupError as exc:
        return _fail([str(exc)], exc, code=2)
    return settings


def serve(args: argparse.Namespace) -> int:
    settings = _configured(args)
    if isinstance(settings, int):
        return settings
    # Until run_app installs its own handlers, SIGTERM stops us as quietly as Ctrl-C does.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        socks = startup.preflight(settings)
    except StartupError as exc:
        return _fail([str(exc)], exc)
    except KeyboardInterrupt:
        return 0
    try:
        return _run(settings, socks)
    finally:
        for sock in socks:
            sock.close()


def _run(settings: Settings, socks: list[socket.socket]) -> int:
    from aiohttp import web

    from .app import create_app
    from .gc_tuning import tune_gc

    try:
        import uvloop  # optional: 10-50% more fan-out throughput

        uvloop.install()
    except ImportError:
        pass
    started = False

    async def mark_started(_app: web.Application) -> None:
        nonlocal started
        started = True  # on_startup runs after every cleanup context: start-up is over
        tune_gc(settings.gc_gen0_threshold)

    host, port = socks[0].getsockname()[:2]
    try:
        app = create_app(settings)
        app.on_startup.append(mark_started)
        log.info("arena starting on http://%s:%s", f"[{host}]" if ":" in host else host, port)
        # run_app handles SIGINT and SIGTERM: cleanup contexts then stop the embedded services.
        web.run_app(app, sock=socks, print=None, access_log=None, shutdown_timeout=10)
    except KeyboardInterrupt:  # before run_app's own handlers were in place
        return 0
    except Exception as exc:
        return _fail(startup.explain(exc, settings, "start-up" if not started else "shutdown"), exc)
    log.info("arena stopped")
    return 0


@asynccontextmanager
async def _database(settings: Settings, *, while_running: bool = False) -> AsyncIterator[str]:
    """The URL of the database the server uses: DATABASE_URL, or the embedded PostgreSQL under the
    data directory, started for the command and stopped after it. With ``while_running``, a server
    already running on that data directory is not in the way: its PostgreSQL is used."""
    from . import embedded

    if settings.database_url:
        await startup.probe_database(settings.database_url)
        yield settings.database_url
        return
    lock = embedded.DataDirLock(settings.data_dir)
    try:
        lock.acquire()
    except embedded.EmbeddedError:
        url = embedded.running_postgres_url(settings.data_dir) if while_running else None
        if url is None:
            raise
        yield url
        return
    pg = embedded.EmbeddedPostgres(settings.data_dir)
    try:
        yield await pg.start()
    finally:
        pg.stop()
        lock.release()


def _with_database(settings: Settings, what: str, work: Callable[[str], Awaitable[Any]], *,
                   while_running: bool = False) -> tuple[int | None, Any]:
    """``work(url)`` against the server's database: (None, its result), or (the exit code, None)
    after saying why it could not run."""

    async def run() -> Any:
        async with _database(settings, while_running=while_running) as url:
            return await work(url)

    try:
        return None, asyncio.run(run())
    except KeyboardInterrupt:
        return 130, None
    except Exception as exc:
        return _fail(startup.explain(exc, settings, what), exc), None


def migrate_cmd(args: argparse.Namespace) -> int:
    from . import migrate

    settings = _configured(args)
    if isinstance(settings, int):
        return settings
    code, applied = _with_database(settings, "migration", migrate.migrate_url)
    if code is not None:
        return code
    print(f"applied: {applied}" if applied else "nothing to apply")
    return 0


def cleanup_cmd(args: argparse.Namespace) -> int:
    """One retention round now (what every server process does every RETENTION_INTERVAL_SECONDS)."""
    from . import db, retention
    from .app import DOMAINS

    settings = _configured(args)
    if isinstance(settings, int):
        return settings
    jobs = [job for d in DOMAINS for job in d.retention]

    async def one_round(url: str) -> dict[str, int] | None:
        pool = await db.create_pool(url, 1, 2)
        try:
            return await retention.run_round(pool, settings, jobs)
        finally:
            await pool.close()

    code, removed = _with_database(settings, "cleanup", one_round)
    if code is not None:
        return code
    if removed is None:
        print("another process is cleaning up right now; nothing done")
    else:
        print("removed: " + (", ".join(f"{n} {name}" for name, n in removed.items()) or "nothing"))
    return 0


def user_cmd(args: argparse.Namespace) -> int:
    """``arena user promote|demote USERNAME``: make a user an admin, or not, and audit it."""
    import asyncpg

    from .auth import store as auth_store

    settings = _configured(args)
    if isinstance(settings, int):
        return settings
    admin = args.action == "promote"

    async def set_admin(url: str) -> bool:
        conn = await asyncpg.connect(url)
        try:
            return await auth_store.set_admin(conn, args.username, admin)
        finally:
            await conn.close()

    code, found = _with_database(settings, "the user command", set_admin, while_running=True)
    if code is not None:
        return code
    if not found:
        print(f"error: there is no user named {args.username!r}", file=sys.stderr)
        return 1
    print(f"{args.username} is now an admin" if admin else f"{args.username} is no longer an admin")
    return 0


def _help(text: str, name: str, shown: str | None = None, env: str | None = None) -> str:
    """``text (default: X; env NAME)`` with X read from Settings, so --help never drifts from it."""
    default = Settings.model_fields[name].default
    return f"{text} (default: {shown or default}; env {env or name.upper()})"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="arena", description="Agent Arena server", epilog=SETTINGS_NOTE)
    sub = parser.add_subparsers(dest="command", required=True)
    p_serve = sub.add_parser(
        "serve",
        help="run the server (embedded PostgreSQL/Redis without URLs)",
        description="Run the Agent Arena server. Without DATABASE_URL / REDIS_URL it starts an embedded "
        "PostgreSQL / Redis under the data directory. " + SETTINGS_NOTE,
    )
    p_serve.add_argument("--host", help=_help("address to listen on", "host"))
    p_serve.add_argument("--port", type=int, help=_help("port to listen on", "port"))
    p_serve.add_argument("--data-dir", type=Path, dest="data_dir",
                         help=_help("where the embedded PostgreSQL and Redis keep their data", "data_dir"))
    migrate_default = "apply them" if Settings.model_fields["migrate_on_start"].default else "do not"
    p_serve.add_argument("--no-migrate", action="store_true",
                         help=_help("do not apply migrations at start", "migrate_on_start", migrate_default,
                                    "MIGRATE_ON_START=false"))
    demo_default = "on" if Settings.model_fields["demo"].default else "off"
    p_serve.add_argument("--demo", action="store_true",
                         help=_help("also run the example agents", "demo", demo_default, "DEMO=true"))
    p_serve.set_defaults(func=serve)
    p_mig = sub.add_parser("migrate", help="apply sql/NNNN_*.sql migrations and exit",
                           description="Apply sql/NNNN_*.sql migrations to DATABASE_URL (or the embedded "
                           "PostgreSQL in the data directory) and exit. " + SETTINGS_NOTE)
    p_mig.add_argument("--data-dir", type=Path, dest="data_dir",
                       help=_help("where the embedded PostgreSQL keeps its data", "data_dir"))
    p_mig.set_defaults(func=migrate_cmd)
    p_clean = sub.add_parser("cleanup", help="remove what is past retention now, and exit",
                             description="Run one retention round against DATABASE_URL (or the embedded "
                             "PostgreSQL in the data directory) and exit; a running server does the same "
                             "every RETENTION_INTERVAL_SECONDS. " + SETTINGS_NOTE)
    p_clean.add_argument("--data-dir", type=Path, dest="data_dir",
                         help=_help("where the embedded PostgreSQL keeps its data", "data_dir"))
    p_clean.set_defaults(func=cleanup_cmd)
    p_user = sub.add_parser("user", help="make a user an admin (promote) or not (demote)",
                            description="Make a user an admin, or not, in DATABASE_URL (or the embedded "
                            "PostgreSQL in the data directory, also while a server runs on it). "
                            "Admin-only actions see the change at once. " + SETTINGS_NOTE)
    p_user.add_argument("action", choices=("promote", "demote"))
    p_user.add_argument("username")
    p_user.add_argument("--data-dir", type=Path, dest="data_dir",
                        help=_help("where the embedded PostgreSQL keeps its data", "data_dir"))
    p_user.set_defaults(func=user_cmd)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
