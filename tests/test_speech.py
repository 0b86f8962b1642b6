"""Speech engines for spoken turns: the offline default (eSpeak NG from its wheel) makes real WAV audio
off the event loop; an OpenAI-compatible endpoint (mocked: it is outside the product) is used as
configured, and its failures are SpeechError, never a crash."""

from __future__ import annotations

import asyncio
import io
import time
import wave

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from server.battles.speech import EspeakEngine, OpenAISpeechEngine, SpeechError


async def test_the_offline_engine_speaks_a_turn_as_wav() -> None:
    engine = EspeakEngine()
    try:
        short, long = await asyncio.gather(engine.synthesize("Tabs are better."),
                                           engine.synthesize("Tabs are better than spaces, and here is why: "
                                                             "one character, one level, no arguments."))
        for audio in (short, long):
            assert audio.mime == "audio/wav" and audio.data[:4] == b"RIFF"
            with wave.open(io.BytesIO(audio.data)) as w:
                assert (w.getnchannels(), w.getsampwidth()) == (1, 2)
                assert audio.duration_ms == w.getnframes() * 1000 // w.getframerate()
        assert 300 < short.duration_ms < long.duration_ms
        # The event loop is free while it speaks: timers set meanwhile fire before the speech is done
        # (were it spoken on the loop, they would all wait for it).
        started = time.monotonic()
        ticks = []

        async def tick() -> None:
            for _ in range(5):
                await asyncio.sleep(0.001)
                ticks.append(time.monotonic() - started)

        async def speak() -> float:
            await engine.synthesize("a long argument, word after word. " * 60)
            return time.monotonic() - started

        done_at, _ = await asyncio.gather(speak(), tick())
        assert len(ticks) == 5 and ticks[-1] < done_at, (ticks, done_at)
    finally:
        engine.close()


async def test_engines_of_one_process_share_the_library_safely() -> None:
    """eSpeak NG keeps global state: two servers in one process (as in tests) each have an engine, and
    many syntheses of both at once must neither crash nor mix their audio."""
    british, american = EspeakEngine("en"), EspeakEngine("en-us", words_per_minute=300)
    texts = [f"argument number {n}, made at length" for n in range(12)]
    made = await asyncio.gather(*(e.synthesize(t) for t in texts for e in (british, american)))
    alone = [await british.synthesize(t) for t in texts]
    # Each as long as when spoken alone (nothing of another synthesis got into it).
    for together, one in zip(made[0::2], alone, strict=True):
        assert abs(together.duration_ms - one.duration_ms) <= 0.05 * one.duration_ms, (together, one)
    assert all(fast.duration_ms < slow.duration_ms for slow, fast in zip(made[0::2], made[1::2], strict=True))


async def test_an_openai_compatible_endpoint_is_used_and_its_failures_are_speech_errors() -> None:
    seen = []

    async def speech(request: web.Request) -> web.StreamResponse:
        body = await request.json()
        seen.append((request.headers.get("Authorization"), body))
        if body["input"] == "fail":
            return web.json_response({"error": "no"}, status=500)
        if body["input"] == "slow":
            await asyncio.sleep(2)
        return web.Response(body=b"ID3fake-mp3-bytes", content_type="audio/mpeg")

    app = web.Application()
    app.router.add_post("/v1/audio/speech", speech)
    server = TestServer(app, host="127.0.0.1", port=0)
    await server.start_server()
    try:
        base = str(server.make_url("/v1"))
        engine = OpenAISpeechEngine(base, "tts-1", "alloy", api_key="sk-test", timeout=0.5)
        audio = await engine.synthesize("Hello there")
        assert (audio.data, audio.mime) == (b"ID3fake-mp3-bytes", "audio/mpeg")
        assert seen[0] == ("Bearer sk-test", {"model": "tts-1", "voice": "alloy", "input": "Hello there",
                                              "response_format": "mp3"})
        for text in ("fail", "slow"):
            with pytest.raises(SpeechError):
                await engine.synthesize(text)
    finally:
        await server.close()
