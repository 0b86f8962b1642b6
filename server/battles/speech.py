"""Speech for spoken turns: engines that turn a turn's text into audio, never on the event loop.

``EspeakEngine`` works offline from what ``pip install`` brings: eSpeak NG's library and voice data
come in the ``espeakng-loader`` wheel and are driven through ctypes. The library keeps global state,
so every synthesis of the process (whichever engine asks) runs on one dedicated thread, one at a
time. ``OpenAISpeechEngine`` calls an OpenAI-compatible ``/v1/audio/speech`` endpoint instead, when one is configured.
"""

from __future__ import annotations

import asyncio
import ctypes
import io
import wave
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Protocol

import aiohttp

AUDIO_OUTPUT_SYNCHRONOUS = 2
CHARS_UTF8 = 1
POSITION_CHARACTER = 1
SAMPLE_WIDTH = 2  # 16-bit PCM
_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p)


class SpeechError(Exception):
    """The engine could not make audio for this text (the turn keeps its text)."""


@dataclass(frozen=True)
class Audio:
    data: bytes
    mime: str
    duration_ms: int | None


class SpeechEngine(Protocol):
    async def synthesize(self, text: str) -> Audio:
        """Audio for ``text``; raises SpeechError."""


class _Espeak:
    """The eSpeak NG library of this process. It keeps global state (one callback, one voice, one output
    buffer), so every engine in the process shares it: it is loaded once, and every call into it runs on
    one thread, one synthesis at a time (two servers in one process, as in tests, included)."""

    def __init__(self) -> None:
        self.thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="arena-speech")
        self.lib: ctypes.CDLL | None = None
        self.rate = 0
        self.chunks: list[bytes] = []
        self.callback = _CALLBACK(self._collect)  # kept alive as long as the library may call it

    def _collect(self, samples: ctypes.Array, count: int, _events: int) -> int:
        if count > 0:
            self.chunks.append(ctypes.string_at(samples, count * SAMPLE_WIDTH))
        return 0

    def load(self) -> ctypes.CDLL:
        if self.lib is None:
            try:
                import espeakng_loader
                lib = ctypes.CDLL(espeakng_loader.get_library_path())
            except (ImportError, OSError, RuntimeError) as exc:
                raise SpeechError(f"eSpeak NG is not available: {exc}") from None
            rate = lib.espeak_Initialize(AUDIO_OUTPUT_SYNCHRONOUS, 0, espeakng_loader.get_data_path().encode(), 0)
            if rate <= 0:
                raise SpeechError("eSpeak NG did not start")
            lib.espeak_SetSynthCallback(self.callback)
            self.lib, self.rate = lib, rate
        return self.lib

    def speak(self, text: str, voice: str, words_per_minute: int) -> Audio:
        """On the library's thread only."""
        lib = self.load()
        if lib.espeak_SetVoiceByName(voice.encode()) != 0:
            raise SpeechError(f"no eSpeak NG voice {voice!r}")
        lib.espeak_SetParameter(1, words_per_minute, 0)  # espeakRATE, absolute
        self.chunks = []
        data = text.encode("utf-8")
        if lib.espeak_Synth(ctypes.c_char_p(data), ctypes.c_size_t(len(data) + 1), 0, POSITION_CHARACTER, 0,
                            CHARS_UTF8, None, None) != 0:
            raise SpeechError("eSpeak NG refused the text")
        lib.espeak_Synchronize()
        pcm = b"".join(self.chunks)
        self.chunks = []
        out = io.BytesIO()
        with wave.open(out, "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(SAMPLE_WIDTH)
            w.setframerate(self.rate)
            w.writeframes(pcm)
        return Audio(out.getvalue(), "audio/wav", len(pcm) * 1000 // (SAMPLE_WIDTH * self.rate))


_ESPEAK = _Espeak()


class EspeakEngine:
    """eSpeak NG from the wheel (WAV, 16-bit mono), on the process's one eSpeak thread."""

    def __init__(self, voice: str = "en", words_per_minute: int = 175) -> None:
        self.voice = voice
        self.words_per_minute = words_per_minute

    async def synthesize(self, text: str) -> Audio:
        return await asyncio.get_running_loop().run_in_executor(
            _ESPEAK.thread, _ESPEAK.speak, text, self.voice, self.words_per_minute)

    def close(self) -> None:
        """Nothing to release: the library and its thread belong to the process."""


class OpenAISpeechEngine:
    """An OpenAI-compatible speech endpoint: ``POST {base_url}/audio/speech``."""

    def __init__(self, base_url: str, model: str, voice: str, api_key: str | None = None,
                 timeout: float = 60.0, response_format: str = "mp3") -> None:
        self.url = base_url.rstrip("/") + "/audio/speech"
        self.model, self.voice, self.api_key = model, voice, api_key
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self.response_format = response_format

    async def synthesize(self, text: str) -> Audio:
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        body = {"model": self.model, "voice": self.voice, "input": text, "response_format": self.response_format}
        try:
            async with aiohttp.ClientSession(timeout=self.timeout) as http, \
                    http.post(self.url, json=body, headers=headers) as r:
                if r.status != 200:
                    raise SpeechError(f"the speech endpoint answered {r.status}")
                data = await r.read()
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise SpeechError(f"the speech endpoint failed: {exc!r}") from None
        if not data:
            raise SpeechError("the speech endpoint sent no audio")
        mime = {"mp3": "audio/mpeg", "wav": "audio/wav", "opus": "audio/ogg", "flac": "audio/flac"}.get(
            self.response_format, "application/octet-stream")
        return Audio(data, mime, None)
