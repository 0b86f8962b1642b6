"""Revocation reaches every socket at once: sockets that never send an event, on another process, are
cut off when their session, key, agent or user is revoked, and receive nothing after that."""

from __future__ import annotations

import uuid

import asyncpg
import pytest

from server.auth.actor import Actor
from server.core import CORE
from server.errors import AppError
from server.realtime.revocation import SocketCredentials
from tests.battle_support import FAST, Agent
from tests.support import Api, connect, eventually, refusal


def _revoked_notice(rec) -> dict | None:
    found = rec.of("auth:revoked")
    return found[0] if found else None


async def test_revoking_a_session_cuts_off_its_silent_socket_on_another_process(make_server) -> None:
    one = await make_server()
    two = await make_server()
    _, key = await one.api.new_agent("revokee")
    token = (await one.api.post("/api/auth/token", {"api_key": key})).body["session"]["token"]
    silent, rec = await connect(two.url, "/agent", {"token": token})
    bystander, other = await connect(two.url, "/agent", {"api_key": key})  # same agent, other credential
    try:
        sid = (await one.api.get("/api/me", token=token)).body["session_id"]
        assert (await one.api.delete(f"/api/sessions/{sid}", token=key)).status == 204
        await eventually(lambda: not silent.connected)
        assert _revoked_notice(rec)["error"]["code"] == "auth.session_revoked"
        assert bystander.connected and not other.of("auth:revoked")  # its key was not revoked
        # the revoked token is refused everywhere from now on
        assert (await two.api.get("/api/me", token=token)).code == "auth.session_revoked"
    finally:
        for c in (silent, bystander):
            if c.connected:
                await c.disconnect()


async def test_a_rotated_key_socket_gets_no_private_prompt_after_rotation(make_server) -> None:
    """The attack the issue names: a silent socket opened with a key that was then rotated kept
    receiving the agent's private battle:your_turn, transcript and all. Here the battle starts the
    moment the rotation answers, without waiting for anything."""
    one = await make_server(**FAST)
    two = await make_server(**FAST)
    info, old_key = await one.api.new_agent("rotator")
    opp_info, opp_key = await one.api.new_agent("rotator-opp")
    stale, stale_rec = await connect(two.url, "/agent", {"api_key": old_key})  # never sends anything
    opponent = await Agent("rotator-opp", opp_info, opp_key).connect(two.url)
    try:
        rotated = await one.api.post(f"/api/agents/{info['id']}/keys/rotate", token=old_key)
        assert rotated.status == 201
        fresh = await Agent("rotator", info, rotated.body["api_key"]).connect(one.url)
        battle = await fresh.ok("battle:create", {"topic": "after rotation", "max_turns": 2,
                                                  "turn_duration_ms": 5000})
        await opponent.ok("battle:join", {"room_code": battle["room_code"]})
        prompt = await fresh.prompt(1)  # the agent's prompt went out, to the agent's room on every process
        assert prompt["battle_id"] == battle["id"]
        await eventually(lambda: not stale.connected)
        assert [e for e, _ in stale_rec.events] == ["auth:revoked"]  # no prompt, nothing at all but the notice
        await fresh.close()
    finally:
        await opponent.close()
        if stale.connected:
            await stale.disconnect()


async def test_deactivating_an_agent_cuts_off_all_its_sockets_everywhere(make_server) -> None:
    one = await make_server()
    two = await make_server()
    owner, owner_token = await one.api.new_user("owner-of-bot")
    info, key = await one.api.new_agent("doomed", token=owner_token)
    token = (await one.api.post("/api/auth/token", {"api_key": key})).body["session"]["token"]
    clients = [await connect(srv.url, "/agent", auth) for srv in (one, two)
               for auth in ({"api_key": key}, {"token": token})]
    try:
        assert (await one.api.delete(f"/api/agents/{info['id']}", token=owner_token)).status == 200
        await eventually(lambda: not any(c.connected for c, _ in clients))
        assert all(_revoked_notice(rec) for _, rec in clients)
    finally:
        for c, _ in clients:
            if c.connected:
                await c.disconnect()
    assert (await refusal(two.url, "/agent", {"api_key": key}))["data"]["error"]["code"] == "auth.invalid_api_key"


async def test_logout_and_closing_an_account_cut_off_spectator_sockets(make_server) -> None:
    one = await make_server()
    two = await make_server()
    user, token = await one.api.new_user("watcher")
    second = (await one.api.post("/api/auth/login", {"login": "watcher", "password": "correct horse battery"}))
    token2 = second.body["session"]["token"]
    first_socket, first_rec = await connect(two.url, "/spectate", {"token": token})
    second_socket, second_rec = await connect(two.url, "/spectate", {"token": token2})
    anonymous, anon_rec = await connect(two.url, "/spectate")
    try:
        assert (await one.api.post("/api/auth/logout", token=token)).status == 204
        await eventually(lambda: not first_socket.connected)
        assert second_socket.connected  # another session of the same user lives on
        assert (await one.api.delete(f"/api/users/{user['id']}", token=token2)).status == 200
        await eventually(lambda: not second_socket.connected)
        assert _revoked_notice(second_rec) and anonymous.connected and not anon_rec.of("auth:revoked")
        login = await one.api.post("/api/auth/login", {"login": "watcher", "password": "correct horse battery"})
        assert login.code == "auth.invalid_credentials"
    finally:
        for c in (first_socket, second_socket, anonymous):
            if c.connected:
                await c.disconnect()


async def test_only_the_user_or_an_admin_may_close_an_account(api: Api) -> None:
    victim, _ = await api.new_user("victim-user")
    _, other_token = await api.new_user("other-user")
    r = await api.delete(f"/api/users/{victim['id']}", token=other_token)
    assert r.status == 403 and r.code == "auth.forbidden"
    r = await api.delete(f"/api/users/{uuid.uuid4()}", token=other_token)
    assert r.status == 403  # not even whether it exists


async def test_api_key_connections_write_no_session_rows(arena, api: Api, database_url: str) -> None:
    _, key = await api.new_agent("frequent")
    clients = [await connect(arena.url, "/agent", {"api_key": key}) for _ in range(20)]
    for c, _ in clients:
        await c.disconnect()
    conn = await asyncpg.connect(database_url)
    try:
        assert await conn.fetchval("SELECT count(*) FROM sessions") == 0
        assert await conn.fetchval("SELECT count(*) FROM agent_api_keys WHERE last_used_at IS NOT NULL") == 1
    finally:
        await conn.close()


async def test_a_missed_revocation_push_is_caught_by_revalidation(make_server, database_url: str) -> None:
    """A revocation committed while the push could not reach this process (here: written straight
    to PostgreSQL, so nothing is pushed at all) still cuts the socket off, at the next re-check."""
    srv = await make_server(revalidate_seconds=0.3)
    _, key = await srv.api.new_agent("missed")
    client, rec = await connect(srv.url, "/agent", {"api_key": key})
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute("UPDATE agent_api_keys SET revoked_at = now()")
    finally:
        await conn.close()
    try:
        await eventually(lambda: not client.connected)
        assert _revoked_notice(rec)["error"]["code"] == "auth.session_revoked"
    finally:
        if client.connected:
            await client.disconnect()


async def test_a_socket_registering_just_after_its_revocation_arrived_is_refused() -> None:
    """The race: the key was checked before the revocation committed, but the push reached this
    process before the socket registered. The recently revoked subject refuses it."""
    registry = SocketCredentials(sio=None)
    key_id, agent_id = uuid.uuid4(), uuid.uuid4()
    assert await registry.revoke([f"key:{key_id}"]) == 0
    with pytest.raises(AppError) as refused:
        registry.add("sid-1", "/agent", Actor("agent", agent_id, "late", api_key_id=key_id))
    assert refused.value.code == "auth.session_revoked"
    registry.add("sid-2", "/agent", Actor("agent", uuid.uuid4(), "other", api_key_id=uuid.uuid4()))
    assert len(registry) == 1


async def test_revalidation_checks_every_kind_of_credential(arena, api: Api, database_url: str) -> None:
    """The SQL behind revalidation says exactly which subjects are dead."""
    from server.auth import store

    user, token = await api.new_user("reval-user")
    info, key = await api.new_agent("reval-agent")
    session_id = (await api.get("/api/me", token=token)).body["session_id"]
    conn = await asyncpg.connect(database_url)
    try:
        key_id = await conn.fetchval("SELECT id FROM agent_api_keys")
        ghost = uuid.uuid4()
        args = ([uuid.UUID(session_id), ghost], [key_id], [uuid.UUID(info["id"])], [uuid.UUID(user["id"])])
        assert await store.dead_credentials(conn, *args) == {f"session:{ghost}"}
        await conn.execute("UPDATE sessions SET revoked_at = now()")
        await conn.execute("UPDATE agent_api_keys SET revoked_at = now()")
        await conn.execute("UPDATE agents SET is_active = false")
        await conn.execute("UPDATE users SET is_active = false")
        assert await store.dead_credentials(conn, *args) == {
            f"session:{session_id}", f"session:{ghost}", f"key:{key_id}", f"agent:{info['id']}",
            f"user:{user['id']}"}
    finally:
        await conn.close()


async def test_a_socket_whose_process_missed_the_push_is_refused_at_its_next_event(make_server) -> None:
    one = await make_server()
    two = await make_server(revalidate_seconds=3600)  # no backstop re-check during the test
    info, key = await one.api.new_agent("missed-push")
    client, rec = await connect(two.url, "/agent", {"api_key": key})
    try:
        await two.app[CORE].realtime.manager.stop_listener()  # process two hears no push from now on
        assert (await one.api.post(f"/api/agents/{info['id']}/keys/rotate", token=key)).status == 201
        ack = await client.call("room:unwatch", {"room": "lobby:battles"}, namespace="/agent", timeout=5)
        assert ack["ok"] is False and ack["error"]["code"] == "auth.session_revoked"
        await eventually(lambda: not client.connected)
        assert _revoked_notice(rec) is not None
    finally:
        if client.connected:
            await client.disconnect()
