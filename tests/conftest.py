"""One embedded PostgreSQL and Redis per test run; a fresh database per test, cloned from a migrated
template (a few milliseconds); real servers on real ports; real Socket.IO clients."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import asyncpg
import pytest
import redis.asyncio as aioredis
from aiohttp.test_utils import TestServer

from server import migrate
from server.app import create_app
from server.embedded import EmbeddedPostgres, EmbeddedRedis
from server.settings import Settings
from tests.support import Api, close_or_explain, connect

TEMPLATE = "arena_template"
pytest_plugins = ("tests.page_support",)  # the browser tests' fixtures: browser, page


@dataclass
class Services:
    pg: EmbeddedPostgres
    redis: EmbeddedRedis

    def db_url(self, name: str) -> str:
        return self.pg.url_for(name)

    async def restart_redis(self) -> None:
        """Start Redis again on the same port (after a test stopped it)."""
        if self.redis.pid is None:
            await self.redis.start(port=self.redis.port)


async def _create_template(pg: EmbeddedPostgres) -> None:
    conn = await asyncpg.connect(pg.url_for("postgres"))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{TEMPLATE}"')
        await conn.execute(f'CREATE DATABASE "{TEMPLATE}"')
    finally:
        await conn.close()
    await migrate.migrate_url(pg.url_for(TEMPLATE))


@pytest.fixture(scope="session")
def services(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Services]:
    data_dir = tmp_path_factory.mktemp("arena-services")
    pg = EmbeddedPostgres(data_dir)
    rd = EmbeddedRedis(data_dir)

    async def start() -> None:
        await pg.start()
        await rd.start()
        await _create_template(pg)

    asyncio.run(start())
    yield Services(pg, rd)
    rd.stop()
    pg.stop()


async def _fresh_database(services: Services, prefix: str, template: str | None) -> AsyncIterator[str]:
    name = f"{prefix}_{uuid.uuid4().hex[:16]}"
    conn = await asyncpg.connect(services.db_url("postgres"))
    try:
        if template:
            await conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        else:
            await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    yield services.db_url(name)
    conn = await asyncpg.connect(services.db_url("postgres"))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@pytest.fixture
async def database_url(services: Services) -> AsyncIterator[str]:
    """A fresh, migrated database for this test only (a copy of the template: milliseconds)."""
    async for url in _fresh_database(services, "t", TEMPLATE):
        yield url


@pytest.fixture
async def empty_database_url(services: Services) -> AsyncIterator[str]:
    """A fresh database with no schema at all (for migration tests)."""
    async for url in _fresh_database(services, "e", None):
        yield url


@pytest.fixture
async def redis_url(services: Services) -> AsyncIterator[str]:
    await services.restart_redis()
    client = aioredis.Redis.from_url(services.redis.url)
    await client.flushall()
    await client.aclose()
    yield services.redis.url


@pytest.fixture
def settings(database_url: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Settings for this test's servers; every server made by ``make_server`` shares them."""
    tag = uuid.uuid4().hex[:8]
    return Settings(
        data_dir=tmp_path_factory.mktemp("arena-data"),  # uploaded files, never the repo's .arena
        database_url=database_url,
        redis_url=redis_url,
        secret_key="test-secret-key-" + tag,
        socketio_channel=f"arena-test-{tag}",
        redis_prefix=f"t{tag}",
        migrate_on_start=False,  # the template is migrated
        rate_socket_event="1000/1",
        rate_rest_write="1000/1",
        rate_login="1000/60",
        rate_register="1000/60",
        sweep_interval=0.2,
        pubsub_watchdog_seconds=1.0,
        db_pool_max=5,
    )


@dataclass
class Running:
    """A server started by a test: its URL, its app, and a REST client for it."""

    server: TestServer
    api: Api

    @property
    def url(self) -> str:
        return str(self.server.make_url("")).rstrip("/")

    @property
    def app(self):
        return self.server.app


@pytest.fixture
async def make_server(settings: Settings) -> AsyncIterator:
    """``await make_server(**overrides)``: another arena process on a real port (same DB and Redis)."""
    started: list[TestServer] = []
    sessions: list[aiohttp.ClientSession] = []

    async def make(prepare=None, **overrides) -> Running:
        s = settings.model_copy(update=overrides)
        app = create_app(s)
        if prepare is not None:
            prepare(app)  # e.g. add a route before the router freezes
        server = TestServer(app, host="127.0.0.1", port=0)
        await server.start_server()
        started.append(server)
        http = aiohttp.ClientSession()
        sessions.append(http)
        return Running(server, Api(str(server.make_url("")), http))

    yield make
    for http in sessions:
        await http.close()
    for server in reversed(started):
        await close_or_explain(server)


@pytest.fixture
async def arena(make_server) -> Running:
    """One running arena server."""
    return await make_server()


@pytest.fixture
async def api(arena: Running) -> Api:
    return arena.api


@pytest.fixture
async def sockets() -> AsyncIterator:
    """``await sockets(url, namespace, auth)``: connected clients, disconnected after the test."""
    clients = []

    async def open_(url: str, namespace: str = "/agent", auth=None, **kw):
        client, rec = await connect(url, namespace, auth, **kw)
        clients.append(client)
        return client, rec

    yield open_
    for c in clients:
        if c.connected:
            await c.disconnect()


@pytest.fixture(autouse=True)
def arena_config_dir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Agents made by the client package keep their identities here, never in the user's config."""
    path = tmp_path_factory.mktemp("arena-config")
    monkeypatch.setenv("ARENA_CONFIG_DIR", str(path))
    return path


def pytest_configure(config: pytest.Config) -> None:
    os.environ.setdefault("XDG_RUNTIME_DIR", str(Path("/tmp")))
