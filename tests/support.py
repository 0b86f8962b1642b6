"""Helpers for tests: a REST client with the arena's shapes, Socket.IO clients, waiting."""

from __future__ import annotations

import asyncio
import io
import json as jsonlib  # Api.request has a parameter called json
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import asyncpg
import socketio
from aiohttp.test_utils import TestServer


@dataclass
class Reply:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def code(self) -> str | None:
        """The error code, if this is an error reply."""
        if isinstance(self.body, dict) and "error" in self.body:
            return self.body["error"]["code"]
        return None


class Api:
    """A small REST client for one server: ``await api.post("/api/agents", {...}, token=...)``."""

    def __init__(self, base_url: str, session: aiohttp.ClientSession) -> None:
        self.base = base_url.rstrip("/")
        self.session = session

    async def request(self, method: str, path: str, json: Any = None, *, token: str | None = None,
                      headers: dict[str, str] | None = None, data: Any = None, params: Any = None) -> Reply:
        h = dict(headers or {})
        if token:
            h["Authorization"] = f"Bearer {token}"
        kwargs: dict[str, Any] = {"headers": h, "params": params}
        if data is not None:
            kwargs["data"] = data
        elif json is not None:
            kwargs["json"] = json
        async with self.session.request(method, self.base + path, **kwargs) as resp:
            text = await resp.text()
            try:
                body = jsonlib.loads(text) if text else None
            except ValueError:
                body = text
            return Reply(resp.status, body, dict(resp.headers))

    async def get(self, path: str, **kw: Any) -> Reply:
        return await self.request("GET", path, **kw)

    async def post(self, path: str, json: Any = None, **kw: Any) -> Reply:
        return await self.request("POST", path, json, **kw)

    async def put(self, path: str, json: Any = None, **kw: Any) -> Reply:
        return await self.request("PUT", path, json, **kw)

    async def patch(self, path: str, json: Any = None, **kw: Any) -> Reply:
        return await self.request("PATCH", path, json, **kw)

    async def delete(self, path: str, **kw: Any) -> Reply:
        return await self.request("DELETE", path, **kw)

    async def new_agent(self, name: str, token: str | None = None) -> tuple[dict, str]:
        """Register an agent; return (agent, api_key)."""
        r = await self.post("/api/agents", {"name": name}, token=token)
        assert r.status == 201, r.body
        return r.body["agent"], r.body["api_key"]

    async def new_user(self, username: str, password: str = "correct horse battery") -> tuple[dict, str]:
        """Register a user; return (user, session token)."""
        r = await self.post("/api/users", {"email": f"{username}@example.com", "username": username,
                                           "password": password})
        assert r.status == 201, r.body
        return r.body["user"], r.body["session"]["token"]


class Recorder:
    """Collects every event a Socket.IO client receives on a namespace."""

    def __init__(self) -> None:
        self.events: list[tuple[str, Any]] = []
        self._cond = asyncio.Condition()

    async def add(self, event: str, data: Any) -> None:
        async with self._cond:
            self.events.append((event, data))
            self._cond.notify_all()

    def of(self, event: str) -> list[Any]:
        return [d for e, d in self.events if e == event]

    async def wait_for(self, predicate, timeout: float = 5.0) -> Any:
        """Wait until predicate(events) is truthy; return its value."""
        async def _wait():
            async with self._cond:
                while True:
                    value = predicate(self.events)
                    if value:
                        return value
                    await self._cond.wait()

        return await asyncio.wait_for(_wait(), timeout)

    async def wait_event(self, event: str, count: int = 1, timeout: float = 5.0) -> list[Any]:
        return await self.wait_for(lambda evs: (found := [d for e, d in evs if e == event])[count - 1:]
                                   and found, timeout)


async def connect(url: str, namespace: str, auth: Any = None, *, reconnection: bool = False
                  ) -> tuple[socketio.AsyncClient, Recorder]:
    """A real python-socketio client over a websocket, recording every event."""
    client = socketio.AsyncClient(reconnection=reconnection)
    rec = Recorder()

    @client.on("*", namespace=namespace)
    async def _any(event: str, data: Any = None) -> None:
        await rec.add(event, data)

    await client.connect(url, namespaces=[namespace], transports=["websocket"], auth=auth, wait_timeout=5)
    return client, rec


async def eventually(check, timeout: float = 5.0, interval: float = 0.05, what: str | None = None) -> Any:
    """Poll an async or sync check until it returns a truthy value; ``what`` names it in the failure."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        value = check()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        if loop.time() > deadline:
            raise AssertionError(f"{what or 'condition'} not met in {timeout} s")
        await asyncio.sleep(interval)


async def wait_until_ready(url: str, proc, log_path, timeout: float = 60) -> None:
    """Poll ``url``/readyz until 200, failing with the server's log if it exits or takes too long."""
    deadline = asyncio.get_running_loop().time() + timeout
    async with aiohttp.ClientSession() as http:
        while True:
            assert proc.poll() is None, log_path.read_text()
            try:
                async with http.get(url + "/readyz") as r:
                    if r.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError("server not ready:\n" + log_path.read_text())
            await asyncio.sleep(0.1)


class RawSocket:
    """A bare Engine.IO 4 websocket speaking Socket.IO packets by hand, to send what no client
    library would (undecodable JSON, JSON nested 100,000 deep)."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse, http: aiohttp.ClientSession, namespace: str) -> None:
        self.ws, self.http, self.namespace = ws, http, namespace
        self._next_id = 0

    @classmethod
    async def open(cls, url: str, namespace: str, auth: Any = None) -> RawSocket:
        http = aiohttp.ClientSession()
        ws = await http.ws_connect(url + "/socket.io/?EIO=4&transport=websocket")
        opened = await ws.receive_str(timeout=5)
        assert opened.startswith("0"), opened
        await ws.send_str(f"40{namespace}," + (jsonlib.dumps(auth) if auth is not None else ""))
        sock = cls(ws, http, namespace)
        reply = await sock._receive(lambda m: m.startswith(f"40{namespace},") or m.startswith(f"44{namespace},"))
        assert reply.startswith("40"), reply
        return sock

    async def _receive(self, wanted) -> str:
        while True:
            msg = await self.ws.receive_str(timeout=5)
            if msg == "2":  # Engine.IO ping
                await self.ws.send_str("3")
            elif wanted(msg):
                return msg

    async def send(self, body: str) -> Any:
        """Send ``42<ns>,<id><body>`` as it is; return the ack's first argument."""
        self._next_id += 1
        prefix = f"43{self.namespace},{self._next_id}"
        await self.ws.send_str(f"42{self.namespace},{self._next_id}{body}")
        reply = await self._receive(lambda m: m.startswith(prefix) and m[len(prefix):len(prefix) + 1] == "[")
        return jsonlib.loads(reply[len(prefix):])[0]

    async def close(self) -> None:
        await self.ws.close()
        await self.http.close()


async def refusal(url: str, namespace: str, auth: Any = None, headers: dict | None = None) -> dict:
    """Connect expecting to be refused; the ``connect_error`` data (``{message, data: {error}}``)."""
    client = socketio.AsyncClient(reconnection=False)
    got: asyncio.Future = asyncio.get_running_loop().create_future()
    client.on("connect_error", namespace=namespace)(lambda data: got.done() or got.set_result(data))
    try:
        await client.connect(url, namespaces=[namespace], transports=["websocket"], auth=auth,
                             headers=headers or {}, wait_timeout=5)
    except socketio.exceptions.ConnectionError:
        return await asyncio.wait_for(got, 5)
    finally:
        await client.disconnect()
    raise AssertionError("the connection was accepted")


def _await_chain(coro: Any) -> list[str]:
    """Where a suspended coroutine waits, through every await down to the innermost one (a task's own
    stack shows only its outermost frame)."""
    lines = []
    while coro is not None:
        frame = getattr(coro, "cr_frame", None) or getattr(coro, "ag_frame", None) or getattr(coro, "gi_frame", None)
        if frame is not None:
            lines.append(f'  File "{frame.f_code.co_filename}", line {frame.f_lineno}, in {frame.f_code.co_name}')
        coro = getattr(coro, "cr_await", None) or getattr(coro, "ag_await", None) or getattr(coro, "gi_yieldfrom", None)
    return lines


async def close_or_explain(server: TestServer, timeout: float = 30) -> None:
    """Close a server, or fail the test with where its close is stuck and the stack of every other
    asyncio task if it does not close in time: a stuck shutdown must say where, not hold the run."""
    closing = asyncio.ensure_future(server.close())
    done, _ = await asyncio.wait({closing}, timeout=timeout)
    if closing in done:
        closing.result()
        return
    stacks = io.StringIO()
    stacks.write("the close waits at:\n" + "\n".join(_await_chain(closing.get_coro())) + "\n")
    for task in asyncio.all_tasks():
        if task is not closing and task is not asyncio.current_task():
            stacks.write(f"{task!r}:\n" + "\n".join(_await_chain(task.get_coro())) + "\n")
    closing.cancel()
    raise AssertionError(f"the server did not close in {timeout} s; {stacks.getvalue()}")


async def sql_value(database_url: str, sql: str, *args: Any) -> Any:
    """One value read straight from the database, on a connection of its own."""
    conn = await asyncpg.connect(database_url)
    try:
        return await conn.fetchval(sql, *args)
    finally:
        await conn.close()


async def sql_rows(database_url: str, sql: str, *args: Any) -> list[asyncpg.Record]:
    """Rows read (or a statement run) straight on the database, on a connection of its own."""
    conn = await asyncpg.connect(database_url)
    try:
        return await conn.fetch(sql, *args)
    finally:
        await conn.close()
