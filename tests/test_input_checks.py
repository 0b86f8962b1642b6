"""Bad input gets a clear error and changes nothing, never ``internal``: NUL and lone surrogates,
integers past their column, non-finite numbers, JSON nested thousands deep, unknown events, events of
the other namespace, oversize headers, malformed socket auth."""

from __future__ import annotations

import asyncio
import json as jsonlib

import aiohttp
import asyncpg
import pytest

from tests.battle_support import FAST, make_agents
from tests.support import Api, RawSocket, connect, refusal


async def _count(database_url: str, table: str) -> int:
    conn = await asyncpg.connect(database_url)
    try:
        return await conn.fetchval(f"SELECT count(*) FROM {table}")  # noqa: S608 - a table name from the test
    finally:
        await conn.close()


async def _post_raw(url: str, path: str, body: str) -> tuple[int, dict]:
    async with aiohttp.ClientSession() as http, http.post(url + path, data=body.encode(),
                                                          headers={"Content-Type": "application/json"}) as r:
        return r.status, await r.json()


@pytest.mark.parametrize(("body", "loc", "kind"), [
    ('{"name": "nul-agent", "description": "a\\u0000b"}', ["description"], "string_nul"),
    ('{"name": "surrogate", "description": "half \\ud800 a pair"}', ["description"], "string_surrogate"),
    ('{"name": "nan-agent", "description": "x", "display_name": NaN}', ["display_name"], "float_finite"),
    ('{"name": "big-int", "description": 18446744073709551616}', ["description"], "int_range"),
    ('{"name": "bad-key", "a\\u0000": 1}', ["<key>"], "string_nul"),
])
async def test_rest_text_postgres_cannot_store_is_a_validation_error(arena, database_url: str, body, loc,
                                                                      kind) -> None:
    status, answer = await _post_raw(arena.url, "/api/agents", body)
    assert (status, answer["error"]["code"]) == (422, "validation.failed")
    assert answer["error"]["details"][0]["loc"] == loc and answer["error"]["details"][0]["type"] == kind
    assert await _count(database_url, "agents") == 0


async def test_integers_past_their_column_are_validation_errors(arena, api: Api, sockets) -> None:
    for params in ({"after": str(2**70)}, {"after": "-1"}, {"limit": str(2**64)}):
        r = await api.get("/api/rooms/lobby:battles/events", params=params)
        assert (r.status, r.code) == (422, "validation.failed"), r.body
        assert r.body["error"]["details"][0]["loc"][0] == "query"
    r = await api.get("/api/agents", params={"offset": str(2**63)})
    assert (r.status, r.code) == (422, "validation.failed")
    assert (await api.get("/api/agents", params={"offset": str(2**63 - 1)})).status == 200
    _, key = await api.new_agent("big-numbers")
    client, _ = await sockets(arena.url, "/agent", {"api_key": key})
    for event, payload in [
        ("room:watch", {"room": "lobby:battles", "since_seq": 2**64}),
        ("battle:watch", {"room_code": "ABCDEF", "since_seq": 2**63}),
        ("battle:commentary", {"battle_id": "00000000-0000-0000-0000-000000000000", "turn_number": 2**31,
                               "text": "x"}),
        ("battle:list", {"offset": 2**100}),
    ]:
        ack = await client.call(event, payload, namespace="/agent", timeout=5)
        assert ack["ok"] is False and ack["error"]["code"] == "validation.failed", (event, ack)


async def test_text_postgres_cannot_store_is_refused_on_the_socket_too(make_server, database_url: str) -> None:
    srv = await make_server(**FAST)
    (a,) = await make_agents(srv.api, srv.url, "nul-socket")
    for topic in ("nul \x00 inside", "lone \ud83d surrogate"):
        ack = await a.call("battle:create", {"topic": topic})
        assert ack["ok"] is False and ack["error"]["code"] == "validation.failed", ack
    ack = await a.call("room:watch", b"binary payload")
    assert ack["error"]["code"] == "validation.failed"
    await a.close()
    assert await _count(database_url, "battles") == 0


async def test_json_nested_thousands_deep_is_refused_clearly(arena, api: Api) -> None:
    deep = "[" * 100_000 + "]" * 100_000
    status, answer = await _post_raw(arena.url, "/api/agents", deep)
    assert (status, answer["error"]["code"]) == (422, "validation.too_deep")
    status, answer = await _post_raw(arena.url, "/api/agents", '{"name": "x", "description": ' + "[" * 40 +
                                     "]" * 40 + "}")
    assert (status, answer["error"]["code"]) == (422, "validation.too_deep")  # under the decoder's limit
    _, key = await api.new_agent("deep-socket")
    raw = await RawSocket.open(arena.url, "/agent", {"api_key": key})
    try:
        ack = await raw.send('["room:watch",' + deep + "]")
        assert ack["ok"] is False and ack["error"]["code"] == "validation.too_deep"
        ack = await raw.send('["room:watch", {"room": ' + "[" * 50 + "]" * 50 + "}]")
        assert ack["error"]["code"] == "validation.too_deep"
        ack = await raw.send('["room:watch", {"room": "lobby:battles"')  # cut short
        assert ack["error"]["code"] == "validation.invalid_json"
        ack = await raw.send('{"not": "an event"}')
        assert ack["error"]["code"] == "validation.failed"
        ack = await raw.send('["room:watch", {"room": "lobby:battles"}]')  # and the socket still works
        assert ack["ok"] is True
    finally:
        await raw.close()


async def test_every_event_gets_an_ack_even_unknown_or_on_the_wrong_namespace(arena, api: Api, sockets) -> None:
    _, key = await api.new_agent("asker")
    agent, _ = await sockets(arena.url, "/agent", {"api_key": key})
    spectator, _ = await sockets(arena.url, "/spectate")
    ack = await agent.call("battle:teleport", {"x": 1}, namespace="/agent", timeout=5)
    assert ack == {"ok": False, "error": {"code": "event.unknown", "message": ack["error"]["message"],
                                          "details": None}}
    ack = await spectator.call("battle:turn", {"battle_id": "x", "content": "hi"}, namespace="/spectate", timeout=5)
    assert ack["error"]["code"] == "event.wrong_namespace"
    assert ack["error"]["details"] == {"namespaces": ["/agent"]}
    ack = await spectator.call("nothing", namespace="/spectate", timeout=5)
    assert ack["error"]["code"] == "event.unknown"


async def test_unknown_events_are_rate_limited_like_any_other(make_server) -> None:
    srv = await make_server(rate_socket_event="3/60")
    spectator, _ = await connect(srv.url, "/spectate")
    try:
        acks = [await spectator.call("no:such", {}, namespace="/spectate", timeout=5) for _ in range(4)]
    finally:
        await spectator.disconnect()
    assert [a["error"]["code"] for a in acks] == ["event.unknown"] * 3 + ["rate_limited"]


async def test_oversize_headers_and_bad_path_text_answer_in_the_error_shape(arena, caplog) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.get(arena.url + "/api/battles", headers={"X-Padding": "a" * 20_000}) as r:
            body = await r.json()
            assert r.status == 431
            assert body["error"]["code"] == "validation.headers_too_large"
            assert set(body["error"]) == {"code", "message", "details"}
        async with http.get(arena.url + "/api/rooms/battle:a%00b/events") as r:
            body = await r.json()
            assert r.status == 422 and body["error"]["code"] == "validation.failed"
            assert body["error"]["details"][0]["loc"] == ["path", "room"]
    assert not [rec for rec in caplog.records if rec.levelname == "ERROR"]  # a client's mistake, not ours


async def test_a_malformed_auth_payload_refuses_the_connection_clearly(arena) -> None:
    for namespace, auth in (("/agent", {"api_key": "ak_\x00\x00"}), ("/spectate", {"token": "\ud800"})):
        assert (await refusal(arena.url, namespace, auth))["data"]["error"]["code"] == "validation.failed"


async def _raw_http(url: str, head: bytes, body: bytes = b"") -> tuple[int, dict]:
    """Send a request byte for byte (no client library would send these headers); status and JSON."""
    from urllib.parse import urlsplit

    where = urlsplit(url)
    reader, writer = await asyncio.open_connection(where.hostname, where.port)
    try:
        writer.write(head + f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode() + body)
        await writer.drain()
        raw = await asyncio.wait_for(reader.read(), 10)
    finally:
        writer.close()
    status_line, _, rest = raw.partition(b"\r\n")
    return int(status_line.split()[1]), jsonlib.loads(rest.partition(b"\r\n\r\n")[2] or b"null")


@pytest.mark.parametrize(("path", "header", "code"), [
    (b"/api/users", b"User-Agent: bot/\xff\xfe-ish", None),  # stored, cleaned
    (b"/api/auth/login", b"User-Agent: \xed\xa0\x80", "auth.invalid_credentials"),
    (b"/api/me", b"Authorization: Bearer tok\xffen.sig", "auth.invalid_token"),
    (b"/api/me", b"Authorization: Bearer ak_\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff_" + b"x" * 43,
     "auth.invalid_api_key"),
    (b"/api/me", b"Authorization: Bearer ak_000000000000_\xff" + b"x" * 42, "auth.invalid_api_key"),
    (b"/api/me", b"Cookie: arena_session=bad\xffcookie", "auth.invalid_token"),
])
async def test_bytes_that_are_not_text_in_headers_never_reach_the_database(arena, database_url: str, path,
                                                                            header, code) -> None:
    method = b"GET" if path == b"/api/me" else b"POST"
    body = {b"/api/users": b'{"email": "h@example.com", "username": "header-bytes", "password": "long enough"}',
            b"/api/auth/login": b'{"login": "nobody", "password": "whatever"}'}.get(path, b"")
    head = method + b" " + path + b" HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" + header + b"\r\n"
    status, answer = await _raw_http(arena.url, head, body)
    assert status != 500, answer
    if code is None:
        assert status == 201
        conn = await asyncpg.connect(database_url)
        try:
            stored = await conn.fetchval("SELECT user_agent FROM sessions")
        finally:
            await conn.close()
        assert stored == "bot/\ufffd\ufffd-ish"  # what was not text became U+FFFD
    else:
        assert answer["error"]["code"] == code


# -- the decode-time check (inputs.loads_checked) agrees with the exact one (check_payload) ----------

_TRICKY = [
    '{"a": "x\\u0000"}', '{"a\\u0000": 1}', '{"a": "\\ud800"}', '{"a": "\\udc00 low"}', '{"a": NaN}',
    '{"a": -Infinity}', '{"a": 1e400}', '{"a": 9223372036854775807}', '{"a": 9223372036854775808}',
    '{"a": -9223372036854775809}', '{"a": 18446744073709551616}', '{"a": 9.3e18}', '{"a": "9223372036854775808"}',
    '{"a": ' + "[" * 31 + "]" * 31 + "}", '{"a": ' + "[" * 32 + "]" * 32 + "}", '{"a": "' + "[" * 40 + '"}',
    '[' * 33 + ']' * 33, '"just text"', "123", '{"a": "\\ud83d\\ude00 a pair"}', '{"a": [1, 2.5, true, null]}',
]


def _exact(text: str) -> tuple[object, bool]:
    """The json module and check_payload: the reference the fast path must agree with."""
    from server.errors import AppError
    from server.inputs import check_payload

    try:
        value = jsonlib.loads(text)
    except (ValueError, RecursionError):
        return None, False
    try:
        check_payload(value)
    except AppError:
        return value, False
    return value, True


@pytest.mark.parametrize("text", _TRICKY)
def test_a_payload_passes_the_check_as_decoded_only_when_the_exact_check_passes_it(text: str) -> None:
    from server.inputs import Checked, check_payload, loads_checked

    expected, passes = _exact(text)
    try:
        value, clean = loads_checked(text)
    except (ValueError, RecursionError):
        assert expected is None and not passes  # both decoders refuse it
        return
    if clean:
        assert passes, f"{text[:60]} passed as decoded but check_payload refuses it"
        assert value == expected  # and it decoded to the same value (no integer turned into a float)
        if isinstance(value, dict):
            check_payload(Checked(value, len(text)))  # a Checked payload is passed at once
    else:  # the slow path decides: the value is the json module's, which check_payload then judges
        assert passes or jsonlib.dumps(value) == jsonlib.dumps(expected)


def test_the_decode_time_check_agrees_with_the_exact_one_on_generated_json() -> None:
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from server.inputs import loads_checked

    leaves = st.one_of(st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(allow_nan=True),
                       st.text(max_size=8))
    values = st.recursive(leaves, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                          st.dictionaries(st.text(max_size=4), inner, max_size=3)),
                          max_leaves=60)

    @settings(max_examples=400, deadline=None)
    @given(values)
    def agree(value: object) -> None:
        text = jsonlib.dumps(value)  # NaN and Infinity are written as the json module writes them
        _, passes = _exact(text)
        try:
            _, clean = loads_checked(text)
        except (ValueError, RecursionError):
            assert not passes
            return
        assert not clean or passes

    agree()
