"""Audio files for the spoken-turn tests, made here (no fixtures on disk): WAV from the wave module, and
MP3 as real MPEG-1 Layer III frames (silence) that any decoder and mutagen accept."""

from __future__ import annotations

import io
import math
import struct
import wave

import aiohttp


def wav(seconds: float = 0.5, rate: int = 8000) -> bytes:
    """A mono 16-bit tone."""
    frames = int(seconds * rate)
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(b"".join(struct.pack("<h", int(8000 * math.sin(i / 8))) for i in range(frames)))
    return out.getvalue()


def mp3(frames: int = 40) -> bytes:
    """MPEG-1 Layer III, 128 kbit/s, 44.1 kHz: 417-byte frames of 1152 samples (~26 ms each)."""
    header = bytes([0xFF, 0xFB, 0x90, 0x64])
    return (header + bytes(417 - 4)) * frames


PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000") + bytes(64)
HTML = b"<!doctype html><script>alert(document.cookie)</script>"


def turn_form(content: str, audio: bytes, filename: str = "turn.wav", content_type: str = "audio/wav",
              **fields: str) -> aiohttp.FormData:
    form = aiohttp.FormData()
    form.add_field("content", content)
    for k, v in fields.items():
        form.add_field(k, v)
    form.add_field("audio", audio, filename=filename, content_type=content_type)
    return form
