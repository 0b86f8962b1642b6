"""Accounts, agents, keys and sessions over REST, against a real PostgreSQL and Redis."""

from __future__ import annotations

import asyncpg
import pytest

from tests.support import Api


async def _count(url: str, table: str) -> int:
    conn = await asyncpg.connect(url)
    try:
        return await conn.fetchval(f"SELECT count(*) FROM {table}")  # noqa: S608 - table names from the test
    finally:
        await conn.close()


async def test_register_user_answers_user_and_session_and_sets_cookies(api: Api) -> None:
    r = await api.post("/api/users", {"email": "Ada@Example.com", "username": "ada", "password": "s3cret-pass",
                                      "full_name": "Ada L."})
    assert r.status == 201
    assert r.body["user"]["username"] == "ada"
    assert r.body["user"]["email"] == "ada@example.com"
    assert "password" not in str(r.body["user"]) and "hash" not in str(r.body["user"])
    assert r.body["session"]["token"]
    assert "arena_session=" in r.headers.get("Set-Cookie", "")
    me = await api.get("/api/me", token=r.body["session"]["token"])
    assert me.status == 200 and me.body["kind"] == "user" and me.body["user"]["username"] == "ada"


async def test_login_with_username_or_email_and_wrong_password(api: Api, database_url: str) -> None:
    await api.new_user("grace", password="hopper-1906")
    ok = await api.post("/api/auth/login", {"login": "GRACE", "password": "hopper-1906"})
    assert ok.status == 200 and ok.body["user"]["username"] == "grace"
    ok2 = await api.post("/api/auth/login", {"login": "grace@example.com", "password": "hopper-1906"})
    assert ok2.status == 200
    bad = await api.post("/api/auth/login", {"login": "grace", "password": "wrong-password"})
    assert bad.status == 401 and bad.code == "auth.invalid_credentials"
    nobody = await api.post("/api/auth/login", {"login": "nobody", "password": "wrong-password"})
    assert nobody.status == 401 and nobody.code == "auth.invalid_credentials"
    conn = await asyncpg.connect(database_url)
    try:
        failed = await conn.fetchval("SELECT count(*) FROM audit_logs WHERE action = 'user.login_failed'")
    finally:
        await conn.close()
    assert failed == 2


async def test_duplicate_email_and_username_are_refused_and_change_nothing(api: Api, database_url: str) -> None:
    await api.new_user("linus")
    before = await _count(database_url, "users")
    dup_email = await api.post("/api/users", {"email": "LINUS@example.com", "username": "other",
                                              "password": "long enough"})
    assert dup_email.status == 409 and dup_email.code == "user.email_taken"
    dup_name = await api.post("/api/users", {"email": "x@example.com", "username": "Linus",
                                             "password": "long enough"})
    assert dup_name.status == 409 and dup_name.code == "user.username_taken"
    assert await _count(database_url, "users") == before


@pytest.mark.parametrize("username", ["ab", "has space", "x" * 51, "semi;colon", "émile"])
async def test_username_format_is_enforced(api: Api, username: str) -> None:
    r = await api.post("/api/users", {"email": "u@example.com", "username": username, "password": "long enough"})
    assert r.status == 422 and r.code == "validation.failed"
    assert r.body["error"]["details"][0]["loc"] == ["username"]


@pytest.mark.parametrize("email", ["plain", "a@b", "a b@c.de", "@x.io", "a@@b.io"])
async def test_email_format_is_enforced(api: Api, email: str) -> None:
    r = await api.post("/api/users", {"email": email, "username": "valid_name", "password": "long enough"})
    assert r.status == 422 and r.code == "validation.failed"
    assert r.body["error"]["details"][0]["loc"] == ["email"]


async def test_agent_self_registration_returns_key_once_and_key_authenticates(api: Api, database_url: str) -> None:
    r = await api.post("/api/agents", {"name": "duelist", "display_name": "The Duelist", "description": "hi"})
    assert r.status == 201
    key = r.body["api_key"]
    assert key.startswith("ak_") and len(key) > 40
    assert r.body["agent"]["owner_id"] is None
    me = await api.get("/api/me", token=key)
    assert me.status == 200 and me.body["agent"]["name"] == "duelist"
    conn = await asyncpg.connect(database_url)
    try:
        stored = await conn.fetchval("SELECT key_hash FROM agent_api_keys WHERE agent_id = $1",
                                     __import__("uuid").UUID(r.body["agent"]["id"]))
    finally:
        await conn.close()
    assert key.encode() not in bytes(stored)  # only a hash is kept
    listed = await api.get(f"/api/agents/{r.body['agent']['id']}/keys", token=key)
    assert listed.status == 200 and "api_key" not in str(listed.body) and len(listed.body) == 1


async def test_agent_created_by_user_is_owned_and_listed_as_mine(api: Api) -> None:
    user, token = await api.new_user("owner1")
    agent, _ = await api.new_agent("owned-bot", token=token)
    assert agent["owner_id"] == user["id"]
    mine = await api.get("/api/agents", token=token, params={"mine": "true"})
    assert [a["name"] for a in mine.body] == ["owned-bot"]
    dup = await api.post("/api/agents", {"name": "OWNED-bot"})
    assert dup.status == 409 and dup.code == "agent.name_taken"


async def test_only_the_owner_the_agent_and_admins_see_who_owns_an_agent(api: Api, database_url: str) -> None:
    user, token = await api.new_user("private-owner")
    agent, key = await api.new_agent("owned-quietly", token=token)
    _, stranger = await api.new_user("stranger")
    path = f"/api/agents/{agent['id']}"
    assert (await api.get(path)).body["owner_id"] is None
    assert (await api.get(path, token=stranger)).body["owner_id"] is None
    assert [a["owner_id"] for a in (await api.get("/api/agents")).body] == [None]
    assert (await api.get(path, token=token)).body["owner_id"] == user["id"]
    assert (await api.get(path, token=key)).body["owner_id"] == user["id"]
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute("UPDATE users SET is_admin = true WHERE username = 'stranger'")
    finally:
        await conn.close()
    login = await api.post("/api/auth/login", {"login": "stranger", "password": "correct horse battery"})
    admin = login.body["session"]["token"]
    assert (await api.get(path, token=admin)).body["owner_id"] == user["id"]


async def test_rotate_key_invalidates_old_key_and_its_sessions(api: Api) -> None:
    agent, key = await api.new_agent("rotator")
    exchanged = await api.post("/api/auth/token", {"api_key": key})
    assert exchanged.status == 201
    token = exchanged.body["session"]["token"]
    assert (await api.get("/api/me", token=token)).status == 200
    rotated = await api.post(f"/api/agents/{agent['id']}/keys/rotate", token=key)
    assert rotated.status == 201
    new_key = rotated.body["api_key"]
    assert new_key != key
    old = await api.get("/api/me", token=key)
    assert old.status == 401 and old.code == "auth.invalid_api_key"
    dead = await api.get("/api/me", token=token)
    assert dead.status == 401 and dead.code == "auth.session_revoked"
    assert (await api.get("/api/me", token=new_key)).status == 200


async def test_revoke_one_key(api: Api) -> None:
    agent, key = await api.new_agent("revoker")
    keys = await api.get(f"/api/agents/{agent['id']}/keys", token=key)
    key_id = keys.body[0]["id"]
    user, utoken = await api.new_user("stranger")
    forbidden = await api.delete(f"/api/agents/{agent['id']}/keys/{key_id}", token=utoken)
    assert forbidden.status == 403 and forbidden.code == "auth.forbidden"
    r = await api.delete(f"/api/agents/{agent['id']}/keys/{key_id}", token=key)
    assert r.status == 200 and r.body["revoked_at"] is not None
    assert (await api.get("/api/me", token=key)).code == "auth.invalid_api_key"


async def test_owner_can_rotate_and_deactivate(api: Api) -> None:
    _, utoken = await api.new_user("boss")
    agent, key = await api.new_agent("minion", token=utoken)
    rotated = await api.post(f"/api/agents/{agent['id']}/keys/rotate", token=utoken)
    assert rotated.status == 201
    gone = await api.delete(f"/api/agents/{agent['id']}", token=utoken)
    assert gone.status == 200 and gone.body["is_active"] is False
    assert (await api.get("/api/me", token=rotated.body["api_key"])).code == "auth.invalid_api_key"


async def test_logout_revokes_the_session(api: Api) -> None:
    _, token = await api.new_user("leaver")
    assert (await api.post("/api/auth/logout", token=token)).status == 204
    r = await api.get("/api/me", token=token)
    assert r.status == 401 and r.code == "auth.session_revoked"


async def test_token_exchange_with_bearer_key(api: Api) -> None:
    _, key = await api.new_agent("bearer-bot")
    r = await api.post("/api/auth/token", {}, token=key)
    assert r.status == 201 and r.body["agent"]["name"] == "bearer-bot"
    assert (await api.get("/api/me", token=r.body["session"]["token"])).body["kind"] == "agent"


async def test_tampered_and_garbage_tokens(api: Api) -> None:
    _, token = await api.new_user("tamper")
    bad = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    assert (await api.get("/api/me", token=bad)).code == "auth.invalid_token"
    assert (await api.get("/api/me", token="ak_nothing")).code == "auth.invalid_api_key"
    r = await api.get("/api/me", headers={"Authorization": "Basic Zm9vOmJhcg=="})
    assert r.status == 401 and r.code == "auth.invalid_token"
    assert (await api.get("/api/me")).code == "auth.required"


async def test_cookie_session_needs_csrf_header_for_writes(arena) -> None:
    import aiohttp

    # keeps cookies like a browser (unsafe=True: the server is on an IP address)
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        base = arena.url
        async with http.post(f"{base}/api/users", json={"email": "c@example.com", "username": "cookie",
                                                         "password": "long enough"}) as r:
            assert r.status == 201
            csrf = (await r.json())["session"]["csrf_token"]
        async with http.get(f"{base}/api/me") as r:
            assert r.status == 200 and (await r.json())["user"]["username"] == "cookie"
        async with http.post(f"{base}/api/agents", json={"name": "csrf-bot"}) as r:
            assert r.status == 403 and (await r.json())["error"]["code"] == "auth.csrf_failed"
        async with http.post(f"{base}/api/agents", json={"name": "csrf-bot"},
                             headers={"X-CSRF-Token": csrf}) as r:
            assert r.status == 201


async def test_token_expiry_and_revocation_are_seen_by_a_second_instance(make_server) -> None:
    one = await make_server()
    two = await make_server()
    _, token = await one.api.new_user("multi")
    assert (await two.api.get("/api/me", token=token)).status == 200
    sessions = await one.api.get("/api/sessions", token=token)
    sid = sessions.body[0]["id"]
    assert (await one.api.delete(f"/api/sessions/{sid}", token=token)).status == 204
    r = await two.api.get("/api/me", token=token)
    assert r.status == 401 and r.code == "auth.session_revoked"


async def test_expired_token_is_refused(make_server) -> None:
    import asyncio

    short = await make_server(session_ttl_seconds=1)
    other = await make_server(session_ttl_seconds=1)
    _, token = await short.api.new_user("shortlived")
    assert (await other.api.get("/api/me", token=token)).status == 200
    await asyncio.sleep(2.1)
    for srv in (short, other):
        r = await srv.api.get("/api/me", token=token)
        assert r.status == 401 and r.code == "auth.token_expired"


async def test_session_survives_a_redis_flush(arena, api: Api, redis_url: str) -> None:
    import redis.asyncio as aioredis

    _, token = await api.new_user("durable")
    client = aioredis.Redis.from_url(redis_url)
    await client.flushall()
    await client.aclose()
    r = await api.get("/api/me", token=token)
    assert r.status == 200 and r.body["user"]["username"] == "durable"


async def test_a_session_in_use_has_its_last_use_recorded(api: Api, database_url: str, settings) -> None:
    import redis.asyncio as aioredis

    _, token = await api.new_user("toucher")
    conn = await asyncpg.connect(database_url)
    r = aioredis.Redis.from_url(settings.redis_url)
    try:
        await conn.execute("UPDATE sessions SET last_used_at = now() - interval '1 hour'")
        await r.delete(*await r.keys(f"{settings.redis_prefix}:session:*"))  # as after its cache expired
        assert (await api.get("/api/me", token=token)).status == 200
        assert await conn.fetchval("SELECT last_used_at > now() - interval '1 minute' FROM sessions")
    finally:
        await r.aclose()
        await conn.close()
