"""Spoken turns: an agent's own audio (over the socket as a binary attachment, over REST as multipart),
judged by its bytes; speech made by the server with the default engine or an OpenAI-compatible one
that is slow or broken; serving with Range and safe headers; retention."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path
from unittest.mock import ANY

import aiohttp
from aiohttp import web

from server.core import CORE
from server.retention import run_round
from tests.audio_support import HTML, PNG, mp3, turn_form, wav
from tests.battle_support import FAST, Agent, make_agents, next_prompt
from tests.support import eventually, sql_value


async def _battle(agents: list[Agent], **options) -> dict:
    a, c = agents
    b = await a.ok("battle:create", {"topic": "Speak up", "max_turns": 6, "enable_tts": True, **options})
    await c.ok("battle:join", {"room_code": b["room_code"]})
    return b


async def _turn_audio(agent: Agent, turn_number: int, timeout: float = 10) -> dict:
    """The room's battle:turn_audio for ``turn_number`` (its data), as ``agent`` heard it."""
    return await agent.rec.wait_for(lambda evs: next(
        (d["data"] for e, d in evs if e == "battle:turn_audio" and d["data"]["turn_number"] == turn_number),
        None), timeout)


async def _fetch(srv, path: str, headers: dict | None = None) -> tuple[int, dict, bytes]:
    async with aiohttp.ClientSession() as http, http.get(srv.url + path, headers=headers) as r:
        return r.status, dict(r.headers), await r.read()


def _audio_files(srv, battle_id: str) -> list[Path]:
    root = srv.app[CORE].settings.data_dir / "files" / "battles" / battle_id
    return sorted(root.iterdir()) if root.is_dir() else []


async def test_an_agents_own_audio_by_socket_and_by_rest(make_server) -> None:
    srv = await make_server(**FAST, tts_audio_max_bytes=64 * 1024, tts_audio_max_seconds=2)
    api = srv.api
    a, c = agents = await make_agents(api, srv.url, "au-a", "au-c")
    try:
        b = await _battle(agents)
        assert b["enable_tts"] is True
        who, _ = await next_prompt(agents, 1)
        other = c if who is a else a
        clip = wav(0.5)
        view = await who.ok("battle:turn", {"battle_id": b["id"], "content": "Hear me", "audio": clip})
        assert view["audio_status"] == "ready" and view["audio_duration_ms"] == 500
        url = view["audio_url"]
        assert url == f"/api/battles/{b['id']}/turns/1/audio"
        told = await _turn_audio(other, 1)
        assert told == {"battle_id": b["id"], "turn_number": 1, "audio_status": "ready", "audio_url": url,
                        "audio_source": "agent", "audio_mime": "audio/wav", "audio_duration_ms": 500}

        status, headers, data = await _fetch(srv, url)
        assert (status, data) == (200, clip) and headers["Content-Type"] == "audio/wav"
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert "sandbox" in headers["Content-Security-Policy"]
        status, headers, data = await _fetch(srv, url, {"Range": "bytes=10-109"})
        assert (status, data) == (206, clip[10:110])
        assert headers["Content-Range"] == f"bytes 10-109/{len(clip)}"

        # Turn 2 over REST: an MP3 sent under a name and type that say otherwise is kept as what it is.
        turner, _ = await next_prompt(agents, 2)
        r = await api.post(f"/api/battles/{b['id']}/turns", token=turner.key,
                           data=turn_form("In writing", mp3(40), filename="speech.wav", content_type="audio/wav",
                                          tokens="12"))
        assert r.status == 201, r.body
        assert r.body["audio_status"] == "ready" and r.body["tokens"] == 12
        assert 1000 <= r.body["audio_duration_ms"] <= 1100  # 40 frames of 26.1 ms
        _, headers, data = await _fetch(srv, r.body["audio_url"])
        assert data == mp3(40) and headers["Content-Type"] == "audio/mpeg"
        assert headers["Content-Disposition"] == 'inline; filename="turn-2.mp3"'

        # Refused, whoever sends it and however: nothing is stored, the turn is still to take.
        turner, _ = await next_prompt(agents, 3)
        refusals = [
            (turn_form("big", wav(5.0, rate=8000), filename="a.wav"), 413, "validation.payload_too_large"),
            (turn_form("png", PNG, filename="speech.mp3", content_type="audio/mpeg"), 415, "battle.audio_unsupported"),
            (turn_form("lying", HTML, filename="speech.mp3", content_type="audio/mpeg"), 415,
             "battle.audio_unsupported"),
            (turn_form("broken", b"RIFF\x00\x00\x00\x00WAVEjunk" + bytes(100)), 415, "battle.audio_unsupported"),
            (turn_form("long", wav(3.0, rate=4000)), 422, "battle.audio_too_long"),
        ]
        for form, status, code in refusals:
            r = await api.post(f"/api/battles/{b['id']}/turns", token=turner.key, data=form)
            assert (r.status, r.code) == (status, code), r.body
        assert r.body["error"]["details"]["duration_ms"] == 3000
        # Bodies that are not well-formed multipart are refused as such, never as an internal error.
        boundary = "----x"
        truncated = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"content\"\r\n\r\nhi").encode()
        encoded = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"content\"\r\n"
                   f"Content-Transfer-Encoding: rot13\r\n\r\nhi\r\n--{boundary}--\r\n").encode()
        with_boundary = f"multipart/form-data; boundary={boundary}"
        for body, ctype in ((b"whatever", "multipart/form-data"), (truncated, with_boundary),
                            (encoded, with_boundary)):
            r = await api.post(f"/api/battles/{b['id']}/turns", token=turner.key, data=body,
                               headers={"Content-Type": ctype})
            assert (r.status, r.code) == (422, "validation.failed"), r.body
        ack = await turner.call("battle:turn", {"battle_id": b["id"], "content": "html", "audio": HTML})
        assert ack["error"]["code"] == "battle.audio_unsupported"
        assert ack["error"]["details"]["detected"] is None
        ack = await turner.call("battle:turn", {"battle_id": b["id"], "content": "big", "audio": bytes(70_000)})
        assert ack["error"]["code"] == "validation.payload_too_large"
        snap = (await api.get(f"/api/battles/{b['id']}")).body
        assert [t["turn_number"] for t in snap["turns"]] == [1, 2] and snap["battle"]["current_turn"] == 2
        assert len(_audio_files(srv, b["id"])) == 2

        # A retry with the same key and the same audio is the same turn; other audio is another turn.
        first = await turner.ok("battle:turn", {"battle_id": b["id"], "content": "three", "audio": wav(0.25),
                                                "idempotency_key": "k3"})
        again = await turner.ok("battle:turn", {"battle_id": b["id"], "content": "three", "audio": wav(0.25),
                                                "idempotency_key": "k3"})
        assert again == first
        ack = await turner.call("battle:turn", {"battle_id": b["id"], "content": "three", "audio": wav(0.3),
                                                "idempotency_key": "k3"})
        assert ack["error"]["code"] == "battle.idempotency_conflict"
        assert len(_audio_files(srv, b["id"])) == 3
    finally:
        for agent in agents:
            await agent.close()


async def test_audio_only_where_the_battle_asked_for_it(make_server) -> None:
    srv = await make_server(**FAST)
    a, c = agents = await make_agents(srv.api, srv.url, "nt-a", "nt-c")
    try:
        b = await a.ok("battle:create", {"topic": "Quiet", "max_turns": 2})
        assert b["enable_tts"] is False
        await c.ok("battle:join", {"room_code": b["room_code"]})
        who, _ = await next_prompt(agents, 1)
        ack = await who.call("battle:turn", {"battle_id": b["id"], "content": "x", "audio": wav(0.2)})
        assert ack["error"]["code"] == "battle.tts_disabled"
        view = await who.ok("battle:turn", {"battle_id": b["id"], "content": "x"})
        assert (view["audio_status"], view["audio_url"]) == ("none", None)
        r = await srv.api.get(f"/api/battles/{b['id']}/turns/1/audio")
        assert (r.status, r.code) == (404, "battle.audio_not_found") and r.body["error"]["details"] == {
            "audio_status": "none"}
        assert (await srv.api.get(f"/api/battles/{b['id']}/turns/9/audio")).code == "battle.turn_not_found"
        assert (await srv.api.get(f"/api/battles/{b['id']}/turns/0/audio")).code == "validation.failed"
        assert (await srv.api.get(f"/api/battles/{b['id']}/turns/x/audio")).code == "validation.failed"
        # Bytes in a field that takes none are refused like any other binary payload.
        ack = await c.call("battle:create", {"topic": "bytes", "audio": b"\x00"})
        assert ack["error"]["code"] == "validation.failed"
        assert not _audio_files(srv, b["id"])
    finally:
        for agent in agents:
            await agent.close()


async def test_the_server_speaks_a_turn_with_the_default_engine(make_server) -> None:
    srv = await make_server(**FAST)
    agents = await make_agents(srv.api, srv.url, "sy-a", "sy-c")
    try:
        b = await _battle(agents)
        who, _ = await next_prompt(agents, 1)
        view = await who.ok("battle:turn", {"battle_id": b["id"], "content": "Machines should argue out loud."})
        assert (view["audio_status"], view["audio_url"]) == ("pending", None)
        told = await _turn_audio(who, 1, 20)
        assert told["audio_status"] == "ready" and told["audio_source"] == "synth"
        assert told["audio_mime"] == "audio/wav" and told["audio_duration_ms"] > 500
        status, headers, data = await _fetch(srv, told["audio_url"])
        assert status == 200 and headers["Content-Type"] == "audio/wav"
        assert data[:4] == b"RIFF" and data[8:12] == b"WAVE" and len(data) > 20_000
        snap = (await srv.api.get(f"/api/battles/{b['id']}")).body
        assert snap["turns"][0]["audio_status"] == "ready" and snap["turns"][0]["audio_url"] == told["audio_url"]
    finally:
        for agent in agents:
            await agent.close()


class SlowSpeech:
    """An OpenAI-compatible speech endpoint that answers only when the test lets it (or fails)."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.asked = asyncio.Event()
        self.requests: list[tuple[dict, str | None]] = []
        self.audio = wav(0.4)

    async def speech(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.requests.append((body, request.headers.get("Authorization")))
        self.asked.set()
        if body["input"] == "fail":
            return web.json_response({"error": "no"}, status=500)
        await self.release.wait()
        return web.Response(body=self.audio, content_type="audio/wav")


async def test_a_slow_engine_never_holds_up_the_next_turn(make_server) -> None:
    mock = SlowSpeech()
    app = web.Application()
    app.router.add_post("/v1/audio/speech", mock.speech)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    srv = await make_server(**FAST, tts_url=f"http://127.0.0.1:{port}/v1", tts_model="m1", tts_voice="v1",
                            tts_api_key="sk-test")
    agents = await make_agents(srv.api, srv.url, "sl-a", "sl-c")
    try:
        b = await _battle(agents)
        who, _ = await next_prompt(agents, 1)
        await who.ok("battle:turn", {"battle_id": b["id"], "content": "Slowly said"})
        await asyncio.wait_for(mock.asked.wait(), 10)
        # The engine holds turn 1's speech; turn 2 is asked for and taken meanwhile.
        second, _ = await next_prompt(agents, 2)
        view = await second.ok("battle:turn", {"battle_id": b["id"], "content": "fail"})
        assert view["audio_status"] == "pending"
        failed = await _turn_audio(who, 2)
        assert (failed["audio_status"], failed["audio_url"]) == ("failed", None)
        assert not [d for e, d in who.rec.events if e == "battle:turn_audio" and d["data"]["turn_number"] == 1]
        mock.release.set()
        ready = await _turn_audio(who, 1)
        assert ready["audio_status"] == "ready"
        assert await _fetch(srv, ready["audio_url"]) == (200, ANY, mock.audio)
        assert mock.requests[0] == ({"model": "m1", "voice": "v1", "input": "Slowly said", "response_format": "mp3"},
                                    "Bearer sk-test")
    finally:
        for agent in agents:
            await agent.close()
        await runner.cleanup()


async def test_audio_goes_after_the_retention_period_and_the_text_stays(make_server, database_url) -> None:
    srv = await make_server(**FAST, tts_retain_hours=0.0005)  # 1.8 s
    settings = srv.app[CORE].settings
    agents = await make_agents(srv.api, srv.url, "rt-a", "rt-c")
    try:
        b = await _battle(agents)
        who, _ = await next_prompt(agents, 1)
        view = await who.ok("battle:turn", {"battle_id": b["id"], "content": "Soon gone", "audio": wav(0.2)})
        [kept] = _audio_files(srv, b["id"])
        stray = settings.data_dir / "files" / "battles" / "stray" / "left.wav"
        stray.parent.mkdir(parents=True)
        stray.write_bytes(wav(0.1))
        old = time.time() - settings.tts_timeout_seconds - 600
        os.utime(stray, (old, old))

        assert (await run_round(srv.app[CORE].db, settings, [_job()]))["battle_audio"] == 1  # the stray only
        assert kept.exists() and not stray.exists()
        await asyncio.sleep(2)
        assert (await run_round(srv.app[CORE].db, settings, [_job()]))["battle_audio"] == 1
        assert not kept.exists()
        r = await srv.api.get(view["audio_url"])
        assert (r.status, r.code) == (404, "battle.audio_not_found")
        assert r.body["error"]["details"] == {"audio_status": "expired"}
        turn = (await srv.api.get(f"/api/battles/{b['id']}")).body["turns"][0]
        assert (turn["content"], turn["audio_status"], turn["audio_url"]) == ("Soon gone", "expired", None)
        assert await sql_value(database_url, "SELECT count(*) FROM battle_turns WHERE audio_path IS NOT NULL") == 0
    finally:
        for agent in agents:
            await agent.close()


def _job():
    from server.battles.domain import domain

    return next(j for j in domain.retention if j.name == "battle_audio")


async def test_a_pending_turn_left_by_a_stopped_process_is_spoken_by_another(make_server, database_url) -> None:
    srv = await make_server(**FAST)
    agents = await make_agents(srv.api, srv.url, "rc-a", "rc-c")
    try:
        b = await _battle(agents)
        who, _ = await next_prompt(agents, 1)
        # As if the process that claimed it stopped mid-synthesis long ago.
        speaker = srv.app[CORE].workers["battles.speech"]
        await speaker.stop()
        await who.ok("battle:turn", {"battle_id": b["id"], "content": "Orphaned words"})
        await sql_value(database_url, "UPDATE battle_turns SET audio_claimed_at = now() - interval '1 hour' "
                                      "WHERE battle_id = $1 RETURNING 1", b["id"])
        other = await make_server(**FAST)

        async def ready() -> bool:
            return await sql_value(database_url, "SELECT audio_status FROM battle_turns WHERE battle_id = $1",
                                   b["id"]) == "ready"

        await eventually(ready, timeout=20, what="the turn spoken by the other process")
        assert other.app[CORE].workers["battles.speech"].made == 1
    finally:
        for agent in agents:
            await agent.close()
