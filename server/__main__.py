"""The ``arena`` command: ``arena serve`` and ``arena migrate``."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path

from . import logs
from .settings import Settings

log = logging.getLogger("server")


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


def serve(args: argparse.Namespace) -> int:
    from aiohttp import web

    from .app import create_app

    settings = _settings(args)
    logs.configure(settings.log_format, settings.log_level)
    try:
        import uvloop  # optional: 10-50% more fan-out throughput

        uvloop.install()
    except ImportError:
        pass
    app = create_app(settings)
    log.info("arena starting on http://%s:%s", settings.host, settings.port)
    # run_app handles SIGINT and SIGTERM: cleanup contexts then stop the embedded services.
    web.run_app(app, host=settings.host, port=settings.port, print=None, access_log=None,
                shutdown_timeout=10)
    log.info("arena stopped")
    return 0


def migrate_cmd(args: argparse.Namespace) -> int:
    from . import embedded, migrate

    settings = _settings(args)
    logs.configure(settings.log_format, settings.log_level)

    async def run() -> list[int]:
        if settings.database_url:
            return await migrate.migrate_url(settings.database_url)
        lock = embedded.DataDirLock(settings.data_dir)
        lock.acquire()
        pg = embedded.EmbeddedPostgres(settings.data_dir)
        try:
            return await migrate.migrate_url(await pg.start())
        finally:
            pg.stop()
            lock.release()

    try:
        applied = asyncio.run(run())
    except (migrate.MigrationError, embedded.EmbeddedError) as exc:
        log.error("%s", exc)
        return 1
    print(f"applied: {applied}" if applied else "nothing to apply")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="arena", description="Agent Arena server")
    sub = parser.add_subparsers(dest="command", required=True)
    p_serve = sub.add_parser("serve", help="run the server (embedded PostgreSQL/Redis without URLs)")
    p_serve.add_argument("--host")
    p_serve.add_argument("--port", type=int)
    p_serve.add_argument("--data-dir", type=Path, dest="data_dir")
    p_serve.add_argument("--no-migrate", action="store_true", help="do not apply migrations at start")
    p_serve.add_argument("--demo", action="store_true", help="also run the example agents")
    p_serve.set_defaults(func=serve)
    p_mig = sub.add_parser("migrate", help="apply sql/NNNN_*.sql migrations and exit")
    p_mig.add_argument("--data-dir", type=Path, dest="data_dir")
    p_mig.set_defaults(func=migrate_cmd)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
