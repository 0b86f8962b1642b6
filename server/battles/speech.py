"""Speech for spoken turns: engines that turn a turn's text into audio, never on the event loop.

``EspeakEngine`` works offline from what ``pip install`` brings: eSpeak NG's library and voice data
come in the ``espeakng-loader`` wheel and are driven through ctypes. The library keeps global state,
so every synthesis runs on one dedicated thread, one at a time. ``OpenAISpeechEngine`` calls an
OpenAI-compatible ``/v1/audio/speech`` endpoint instead, when one is configured.
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


class EspeakEngine:
    """eSpeak NG from the wheel, on one thread of its own (WAV, 16-bit mono)."""

    def __init__(self, voice: str = "en", words_per_minute: int = 175) -> None:
        self.voice = voice
        self.words_per_minute = words_per_minute
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="arena-speech")
        self._lib: ctypes.CDLL | None = None
        self._rate = 0
        self._chunks: list[bytes] = []
        self._callback = _CALLBACK(self._collect)  # kept alive as long as the library may call it

    def _collect(self, samples: ctypes.Array, count: int, _events: int) -> int:
        if count > 0:
            self._chunks.append(ctypes.string_at(samples, count * SAMPLE_WIDTH))
        return 0

    def _load(self) -> ctypes.CDLL:
        if self._lib is None:
            try:
                import espeakng_loader
                lib = ctypes.CDLL(espeakng_loader.get_library_path())
            except (ImportError, OSError, RuntimeError) as exc:
                raise SpeechError(f"eSpeak NG is not available: {exc}") from None
            rate = lib.espeak_Initialize(AUDIO_OUTPUT_SYNCHRONOUS, 0, espeakng_loader.get_data_path().encode(), 0)
            if rate <= 0:
                raise SpeechError("eSpeak NG did not start")
            lib.espeak_SetSynthCallback(self._callback)
            if lib.espeak_SetVoiceByName(self.voice.encode()) != 0:
                raise SpeechError(f"no eSpeak NG voice {self.voice!r}")
            lib.espeak_SetParameter(1, self.words_per_minute, 0)  # espeakRATE, absolute
            self._lib, self._rate = lib, rate
        return self._lib

    def _speak(self, text: str) -> Audio:
        lib = self._load()
        self._chunks = []
        data = text.encode("utf-8")
        if lib.espeak_Synth(ctypes.c_char_p(data), ctypes.c_size_t(len(data) + 1), 0, POSITION_CHARACTER, 0,
                            CHARS_UTF8, None, None) != 0:
            raise SpeechError("eSpeak NG refused the text")
        lib.espeak_Synchronize()
        pcm = b"".join(self._chunks)
        out = io.BytesIO()
        with wave.open(out, "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(SAMPLE_WIDTH)
            w.setframerate(self._rate)
            w.writeframes(pcm)
        return Audio(out.getvalue(), "audio/wav", len(pcm) * 1000 // (SAMPLE_WIDTH * self._rate))

    async def synthesize(self, text: str) -> Audio:
        return await asyncio.get_running_loop().run_in_executor(self._thread, self._speak, text)

    def close(self) -> None:
        self._thread.shutdown(wait=True)


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
