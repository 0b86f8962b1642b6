"""Speech for the turns of battles with spoken turns, made in the background of every process.

A turn that wants speech is stored ``pending`` with the turn itself, so the work is never lost with a
process: the queue is the table. Each process runs ``TTS_WORKERS`` workers; a worker claims the oldest
pending turn nobody works on (``FOR UPDATE SKIP LOCKED``: exactly one process takes it; a claim older
than the synthesis timeout is taken again), makes the audio with the engine (off the event loop: a
thread, or an HTTP call), keeps the file, marks the turn ready and tells the room
``battle:turn_audio``. The process that recorded a turn pokes its own workers, so speech starts at once;
the others look every few seconds. The turn, the next turn's deadline and everything else go on
without waiting for any of it.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from ..core import Core
from ..realtime.outbox import Outbox, transaction
from . import audio, audio_store, views
from .play import turn_audio_payload
from .speech import Audio, EspeakEngine, OpenAISpeechEngine, SpeechEngine, SpeechError

log = logging.getLogger(__name__)
NAME = "battles.speech"
IDLE_LOOK_SECONDS = 5.0


def engine_for(settings: Any) -> SpeechEngine:
    if settings.tts_url:
        return OpenAISpeechEngine(settings.tts_url, settings.tts_model, settings.tts_voice,
                                  settings.tts_api_key or None, timeout=settings.tts_timeout_seconds)
    return EspeakEngine(settings.tts_espeak_voice)


class Speaker:
    """This process's speech workers (``core.workers["battles.speech"]``)."""

    name = NAME

    def __init__(self, core: Core, engine: SpeechEngine | None = None) -> None:
        self.core = core
        self.engine = engine or engine_for(core.settings)
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task] = []
        self._stopping = False
        self.made = 0
        self.failed = 0

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._work(), name=f"arena-speech-{i}")
                       for i in range(self.core.settings.tts_workers)]

    def poke(self) -> None:
        """A turn of this process wants speech: start now rather than at the next look."""
        self._wake.set()

    async def stop(self) -> None:
        # The loops also stop at their next turn: on Python 3.11 a cancellation that meets a wait_for
        # whose wait just ended is lost, and a loop that only stops when cancelled would go on.
        self._stopping = True
        self._wake.set()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        close = getattr(self.engine, "close", None)
        if close is not None:
            await asyncio.to_thread(close)

    async def _work(self) -> None:
        while not self._stopping:
            try:
                if await self.speak_one():
                    continue
            except asyncio.CancelledError:
                raise
            except Exception:  # the database away, say: the turn stays pending and is taken again
                log.exception("speech worker")
            try:
                await asyncio.wait_for(self._wake.wait(), IDLE_LOOK_SECONDS)
            except TimeoutError:
                pass
            if not self._stopping:
                self._wake.clear()

    async def speak_one(self) -> bool:
        """Claim one pending turn and give it audio (or mark it failed). False when none waits."""
        settings = self.core.settings
        async with self.core.db.acquire() as conn:
            job = await audio_store.claim_speech(conn, settings.tts_timeout_seconds + 30)
        if job is None:
            return False
        battle_id, turn_number = job["battle_id"], job["turn_number"]
        text = job["content"][:settings.tts_max_chars]
        try:
            made: Audio | None = await asyncio.wait_for(self.engine.synthesize(text), settings.tts_timeout_seconds)
        except (SpeechError, TimeoutError) as exc:
            log.warning("no speech for turn %d of battle %s: %s", turn_number, battle_id, exc or "timed out")
            made = None
        kept = None
        if made is not None:
            clip = audio.clip_of(made.data, made.mime, made.duration_ms)
            kept = await audio.keep(settings, battle_id, clip)
        out = Outbox()
        async with transaction(self.core, out) as conn:
            t = await (audio_store.finish_speech(conn, battle_id, turn_number, kept) if kept else
                       audio_store.fail_speech(conn, battle_id, turn_number))
            if t is not None:
                out.room(views.room_of(battle_id), "battle:turn_audio", turn_audio_payload(t))
        if t is None and kept is not None:  # another worker finished it meanwhile
            await audio.discard(settings, kept.path)
        if kept is not None:
            self.made += 1
        else:
            self.failed += 1
        return True


def speaker(core: Core) -> Speaker:
    return Speaker(core)


def poke(core: Core) -> None:
    worker = core.workers.get(NAME)
    if worker is not None:
        worker.poke()
