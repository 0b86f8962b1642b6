"""Fuzz: well over a thousand generated malformed payloads, across every socket event and every REST
write route, each answered in the documented shape, never ``internal``, and changing no table.

Hypothesis draws a target (an event or a route) and a payload for it: arbitrary JSON, deep nesting,
or the target's own field names filled with nasty values (NUL, lone surrogates, huge integers, NaN,
long strings, wrong types). The server runs on a loop of its own thread, so the ``@given`` function is
plain and the test can count what was sent.
"""

from __future__ import annotations

import asyncio
import json
import threading
import uuid
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any

import aiohttp
import asyncpg
import socketio
from aiohttp.test_utils import TestServer
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from pydantic import BaseModel

from server.app import EVENT_TABLES, ROUTE_TABLES, create_app
from server.settings import Settings

EXAMPLES = 1200
WRITE_METHODS = {"POST", "PUT", "DELETE"}
# Rows inserted and deleted per table, counted by a row trigger on every table (a refused request's
# rolled-back rows undo their counts with it). One small read per check instead of a count(*) of every
# table (which was most of this test's time). api_usage is left out: it accounts every call, a refused
# one too (that is its job, not a change).
CHANGE_COUNTER = """
CREATE TABLE public.fuzz_changes (name text PRIMARY KEY, n bigint NOT NULL);
CREATE FUNCTION public.fuzz_count() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER AS $$
BEGIN
    INSERT INTO public.fuzz_changes VALUES (TG_TABLE_NAME, 1)
    ON CONFLICT (name) DO UPDATE SET n = public.fuzz_changes.n + 1;
    RETURN NULL;
END $$;
DO $$
DECLARE t text;
BEGIN
    FOR t IN SELECT tablename FROM pg_tables WHERE schemaname = 'public'
                AND tablename NOT IN ('api_usage', 'fuzz_changes') LOOP
        EXECUTE format('CREATE TRIGGER fuzz_count AFTER INSERT OR DELETE ON public.%I '
                       'FOR EACH ROW EXECUTE FUNCTION public.fuzz_count()', t);
    END LOOP;
END $$;
"""


@dataclass(frozen=True)
class Target:
    transport: str  # "socket" or "rest"
    name: str  # event, or "METHOD /path"
    namespace_or_path: str
    model: type[BaseModel] | None
    path_params: tuple[str, ...] = ()

    @property
    def fields(self) -> tuple[str, ...]:
        return tuple(self.model.model_fields) if self.model is not None else ()


def _targets() -> list[Target]:
    out = []
    for table in EVENT_TABLES:
        for spec in table.specs:
            out.append(Target("socket", spec.event, spec.namespace, spec.model))
    for table in ROUTE_TABLES:
        for r in table.routes:
            params = tuple(p.strip("{}") for p in r.path.split("/") if p.startswith("{"))
            if r.method in WRITE_METHODS and (r.body is not None or params):
                out.append(Target("rest", f"{r.method} {r.path}", r.path, r.body, params))
    return out


def from_schema(schema: dict[str, Any], defs: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Values that a JSON schema of one of our (flat) models accepts."""
    if "$ref" in schema:
        return from_schema(defs[schema["$ref"].rsplit("/", 1)[-1]], defs)
    if "anyOf" in schema:
        return st.one_of([from_schema(s, defs) for s in schema["anyOf"]])
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    if "const" in schema:
        return st.just(schema["const"])
    kind = schema.get("type")
    if kind == "string":
        if schema.get("format") == "uuid":
            return st.uuids().map(str)
        if "pattern" in schema:
            return st.from_regex(schema["pattern"], fullmatch=True)
        return st.text(min_size=schema.get("minLength", 0), max_size=min(schema.get("maxLength", 40), 40))
    if kind == "integer":
        return st.integers(schema.get("minimum"), schema.get("maximum"))
    if kind == "number":
        return st.floats(schema.get("minimum"), schema.get("maximum"), allow_nan=False, allow_infinity=False)
    if kind == "boolean":
        return st.booleans()
    if kind == "null":
        return st.none()
    if kind == "object" and "properties" in schema:
        required = set(schema.get("required", ()))
        props = {k: from_schema(v, defs) for k, v in schema["properties"].items()}
        return st.fixed_dictionaries({k: v for k, v in props.items() if k in required},
                                     optional={k: v for k, v in props.items() if k not in required})
    return st.none()


def valid_payloads(model: type[BaseModel]) -> st.SearchStrategy[dict]:
    schema = model.model_json_schema()
    return from_schema(schema, schema.get("$defs", {}))


def poisoned(valid: st.SearchStrategy[dict]) -> st.SearchStrategy[dict]:
    """A payload the schema accepts, with one field turned into something PostgreSQL cannot store."""
    def poison(value: Any, how: int) -> Any:
        if isinstance(value, str):
            return [value + "\x00", value[:1] + "\ud800" + value[1:], "\x00"][how % 3]
        if isinstance(value, int) and not isinstance(value, bool):
            return [2**63, 2**31 + value, -(2**63) - 1][how % 3]
        return [float("nan"), json.loads("[" * 40 + "]" * 40), "\x00"][how % 3]

    def mutate(args: tuple[dict, int, int]) -> dict:
        payload, which, how = args
        if not payload:
            return {"\x00": how}
        key = sorted(payload)[which % len(payload)]
        return {**payload, key: poison(payload[key], how)}

    return st.tuples(valid, st.integers(0, 50), st.integers(0, 2)).map(mutate)


TARGETS = _targets()

NASTY_TEXT = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["", "\x00", "a\x00b", "\ud800", "x\udfff", "<script>alert(1)</script>", "ABCDEF",
                     "ak_000000000000_" + "x" * 43, str(uuid.UUID(int=0)), "lobby:battles", "battle:" + "x" * 200,
                     "\u202e\u0000", "A", "red", "HEAD_TO_HEAD", "fighter"]),
    # Long text, built rather than drawn character by character (which cost most of this test's time).
    st.tuples(st.integers(5000, 12000), st.sampled_from(["ab", "a\x00", "\x00b a"]))
    .map(lambda t: (t[1] * t[0])[:t[0]]),
)
NASTY_INT = st.one_of(st.integers(), st.sampled_from([2**31, 2**63, 2**64, -(2**63) - 1, 10**40, -1, 0, 1]))
NASTY_FLOAT = st.floats(allow_nan=True, allow_infinity=True)
SCALARS = st.one_of(st.none(), st.booleans(), NASTY_INT, NASTY_FLOAT, NASTY_TEXT)
JUNK = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(NASTY_TEXT, inner,
                                                                                            max_size=4),
                    max_leaves=12)
DEEP = st.integers(min_value=33, max_value=400).map(lambda d: json.loads("[" * d + "]" * d))


def payloads(target: Target) -> st.SearchStrategy[Any]:
    """Junk of every kind, the target's fields filled with junk, and (most often) a payload its schema
    accepts with one field poisoned: the kind that reaches the database if nothing stops it."""
    shaped = st.fixed_dictionaries({}, optional={f: st.one_of(SCALARS, JUNK, DEEP) for f in target.fields})
    with_extra = st.tuples(shaped, NASTY_TEXT, JUNK).map(lambda t: {**t[0], t[1]: t[2]})
    if target.model is None:
        return st.one_of(JUNK, DEEP, shaped)
    valid = valid_payloads(target.model)
    return st.one_of(poisoned(valid), poisoned(valid), poisoned(valid), valid, shaped, with_extra, JUNK, DEEP)


PATH_VALUES = st.one_of(st.uuids().map(str), st.sampled_from(["nope", "%00", "a%00b", "%ED%A0%80", "1" * 300,
                                                                "-1", "18446744073709551616"]))


class LoopThread:
    """An event loop on its own thread; ``run`` waits for a coroutine there."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coro: Coroutine, timeout: float = 60) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


class Fuzzer:
    """The server, clients with credentials, and a row counter, all on the loop thread."""

    def __init__(self, settings_: Settings, database_url: str) -> None:
        self.settings = settings_
        self.database_url = database_url

    async def start(self) -> None:
        self.server = TestServer(create_app(self.settings), host="127.0.0.1", port=0)
        await self.server.start_server()
        self.url = str(self.server.make_url("")).rstrip("/")
        self.http = aiohttp.ClientSession()
        async with self.http.post(self.url + "/api/users", json={
                "email": "fuzz@example.com", "username": "fuzzer", "password": "fuzz password"}) as r:
            self.user_token = (await r.json())["session"]["token"]
        async with self.http.post(self.url + "/api/agents", json={"name": "fuzz-agent"}) as r:
            self.agent_key = (await r.json())["api_key"]
        self.sockets: dict[str, socketio.AsyncClient] = {}
        self.db = await asyncpg.connect(self.database_url)
        await self.db.execute(CHANGE_COUNTER)

    async def counts(self) -> dict[str, int]:
        """Rows inserted and deleted so far, per table."""
        return {r["name"]: r["n"] for r in await self.db.fetch("SELECT name, n FROM public.fuzz_changes")}

    async def socket(self, namespace: str) -> socketio.AsyncClient:
        client = self.sockets.get(namespace)
        if client is None or not client.connected:
            client = socketio.AsyncClient(reconnection=False)
            auth = {"api_key": self.agent_key} if namespace == "/agent" else None
            await client.connect(self.url, namespaces=[namespace], transports=["websocket"], auth=auth,
                                 wait_timeout=5)
            self.sockets[namespace] = client
        return client

    async def send(self, target: Target, payload: Any, path_args: dict[str, str], credential: str | None
                   ) -> tuple[int | None, Any]:
        """(HTTP status or None, the ack or body)."""
        if target.transport == "socket":
            client = await self.socket(target.namespace_or_path)
            return None, await client.call(target.name, payload, namespace=target.namespace_or_path, timeout=10)
        method = target.name.split()[0]
        path = target.namespace_or_path
        for name, value in path_args.items():
            path = path.replace("{" + name + "}", value)
        headers = {"Content-Type": "application/json"}
        token = {"agent": self.agent_key, "user": self.user_token}.get(credential or "")
        if token:
            headers["Authorization"] = f"Bearer {token}"
        async with self.http.request(method, self.url + path, data=json.dumps(payload).encode(),
                                     headers=headers) as r:
            return r.status, await r.json(content_type=None)

    async def stop(self) -> None:
        for client in self.sockets.values():
            if client.connected:
                await client.disconnect()
        await self.http.close()
        await self.db.close()
        await self.server.close()


def _check_error_shape(error: Any) -> str:
    assert isinstance(error, dict) and set(error) == {"code", "message", "details"}, error
    assert isinstance(error["code"], str) and isinstance(error["message"], str)
    return error["code"]


def test_a_thousand_malformed_payloads_get_clean_refusals_and_change_nothing(settings, database_url) -> None:
    runner = LoopThread()
    fuzz = Fuzzer(settings.model_copy(update={"rate_login": "100000/60"}), database_url)
    runner.run(fuzz.start())
    # The detector detects: a write that goes through moves the counts of the tables it wrote.
    before = runner.run(fuzz.counts())
    runner.run(fuzz.send(Target("rest", "POST /api/agents", "/api/agents", None), {"name": "fuzz-probe"}, {}, None))
    moved = runner.run(fuzz.counts())
    assert moved.get("agents", 0) == before.get("agents", 0) + 1, moved
    seen: list[str] = []
    codes: dict[str, int] = {}

    # Every target gets its share of the examples, however many targets the domains bring (and at least
    # ten: a share that small still reaches each field's nasty values, drawn in a fixed order).
    @hypothesis_settings(max_examples=max(10, -(-EXAMPLES // len(TARGETS))), deadline=None, derandomize=True,
                         database=None, suppress_health_check=list(HealthCheck))
    @given(data=st.data())
    def one(target, data: st.DataObject) -> None:
        payload = data.draw(payloads(target), label="payload")
        path_args = {p: data.draw(PATH_VALUES, label=p) for p in target.path_params}
        credential = data.draw(st.sampled_from([None, "agent", "user"]), label="credential")
        before = runner.run(fuzz.counts())
        status, answer = runner.run(fuzz.send(target, payload, path_args, credential))
        seen.append(target.name)
        if status is None:  # a socket ack
            assert isinstance(answer, dict) and isinstance(answer.get("ok"), bool), answer
            if answer["ok"]:
                return
            code = _check_error_shape(answer["error"])
        else:
            assert status != 500, answer
            if status < 400:
                return
            assert isinstance(answer, dict) and set(answer) == {"error"}, answer
            code = _check_error_shape(answer["error"])
        codes[code] = codes.get(code, 0) + 1
        assert code != "internal", (target.name, payload)
        after = runner.run(fuzz.counts())
        if code == "auth.invalid_credentials":  # a refused login is audited, by design
            before.pop("audit_logs", None), after.pop("audit_logs", None)
        assert after == before, (target.name, code, payload)

    try:
        for target in TARGETS:
            one(target)
    finally:
        runner.run(fuzz.stop())
        runner.close()
    assert len(seen) >= 1000
    assert {t.name for t in TARGETS} <= set(seen)  # every event and write route was tried
    assert sum(codes.values()) >= 0.9 * len(seen)  # nearly all were refused: they are malformed
    assert "validation.failed" in codes and "validation.too_deep" in codes

