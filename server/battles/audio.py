"""Turn audio: checking an agent's own file, keeping files, serving them.

An agent's audio is judged by its bytes alone: the type its signature shows (never the file name or
the type the client claims), its size, and how long it plays as its own headers say (mutagen reads
MP3, Ogg, FLAC, MP4 and WAV). Files live under the data directory and are served with headers that let
a browser play them and nothing else.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import uuid
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID

import asyncpg
import filetype
import mutagen
from aiohttp import web

from .. import storage
from ..errors import AppError
from ..settings import Settings
from . import audio_store
from .audio_store import KeptAudio

SUBDIR = Path("files") / "battles"
EXPIRE_BATCH = 1000
# What filetype reports -> the type we serve and the file's extension.
ACCEPTED = {
    "audio/mpeg": ("audio/mpeg", "mp3"),
    "audio/x-wav": ("audio/wav", "wav"),
    "audio/ogg": ("audio/ogg", "ogg"),
    "audio/x-flac": ("audio/flac", "flac"),
    "audio/mp4": ("audio/mp4", "m4a"),
    "video/mp4": ("audio/mp4", "m4a"),  # an .m4a often shows the generic MP4 brand
}
EXTENSIONS = {mime: ext for mime, ext in ACCEPTED.values()}


@dataclass(frozen=True)
class Clip:
    """Audio ready to be kept: its bytes and what they showed."""

    data: bytes
    mime: str
    duration_ms: int | None
    sha256: str


def check(data: bytes, settings: Settings) -> Clip:
    """An agent's own audio, or ``validation.payload_too_large`` (size), ``battle.audio_unsupported``
    (not audio we play, or unreadable) or ``battle.audio_too_long`` (duration)."""
    limit = settings.tts_audio_max_bytes
    if len(data) > limit:
        raise AppError("validation.payload_too_large", f"the audio is over {limit} bytes", 413,
                       details={"field": "audio", "max_bytes": limit})
    if not data:
        raise AppError("battle.audio_unsupported", "the audio is empty", 415, details={"detected": None})
    kind = filetype.guess(data[:8192])
    if kind is None or kind.mime not in ACCEPTED:
        raise AppError("battle.audio_unsupported",
                       "the audio must be MP3, WAV, Ogg, FLAC or M4A (judged by its bytes, not its name)", 415,
                       details={"detected": kind.mime if kind else None,
                                "accepted": sorted({m for m, _ in ACCEPTED.values()})})
    mime = ACCEPTED[kind.mime][0]
    try:
        found = mutagen.File(io.BytesIO(data))
    except Exception:  # noqa: BLE001 - mutagen raises many kinds for a broken file; all mean the same
        found = None
    length = getattr(getattr(found, "info", None), "length", None)
    if not length or length <= 0:
        raise AppError("battle.audio_unsupported", f"the {mime} file could not be read", 415,
                       details={"detected": mime})
    duration_ms = int(length * 1000)
    if length > settings.tts_audio_max_seconds:
        raise AppError("battle.audio_too_long", f"the audio plays {length:.1f} s; at most "
                       f"{settings.tts_audio_max_seconds:g} s", 422,
                       details={"duration_ms": duration_ms, "max_seconds": settings.tts_audio_max_seconds})
    return Clip(data, mime, duration_ms, hashlib.sha256(data).hexdigest())


def clip_of(data: bytes, mime: str, duration_ms: int | None) -> Clip:
    """Audio the server made itself (trusted: no checks)."""
    return Clip(data, mime, duration_ms, hashlib.sha256(data).hexdigest())


async def discard(settings: Settings, rel: str) -> None:
    """Remove a kept file, and its battle's folder once empty."""
    await storage.remove(settings, rel)
    try:
        (settings.data_dir / rel).parent.rmdir()
    except OSError:
        pass  # not empty (or gone already)


async def keep(settings: Settings, battle_id: UUID, clip: Clip) -> KeptAudio:
    """Write the clip under the data directory (off the event loop), for its turn's row."""
    rel = SUBDIR / str(battle_id) / f"{uuid.uuid4().hex}.{EXTENSIONS.get(clip.mime, 'bin')}"
    await storage.save(settings, rel, clip.data)
    return KeptAudio(path=str(rel), mime=clip.mime, size=len(clip.data), duration_ms=clip.duration_ms,
                     sha256=clip.sha256)


def response(settings: Settings, rel: str, mime: str, turn_number: int) -> web.FileResponse:
    """The file for an <audio> element: Range requests (FileResponse), its sniffed type, and
    nothing a browser could run or guess."""
    path = settings.data_dir / rel
    if not path.is_file():
        raise AppError("battle.audio_not_found", "this turn's audio is no longer kept", 404,
                       details={"audio_status": "expired"})
    return web.FileResponse(path, headers={
        "Content-Type": mime,
        "Content-Disposition": f'inline; filename="turn-{turn_number}.{EXTENSIONS.get(mime, "bin")}"',
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; sandbox",
        "Cache-Control": "public, max-age=3600",
        "Accept-Ranges": "bytes",
    })


async def retain_audio(conn: asyncpg.Connection, settings: Settings) -> int:
    """Turn audio past ``TTS_RETAIN_HOURS`` goes (the turns say ``expired`` and keep their text), and
    so do files no turn points at (a process stopped between writing a file and its row)."""
    removed = 0
    while True:
        gone = await audio_store.expire_audio(conn, settings.tts_retain_hours * 3600, EXPIRE_BATCH)
        for rel in gone:
            await discard(settings, rel)
        removed += len(gone)
        if len(gone) < EXPIRE_BATCH:
            break
    in_use = await audio_store.audio_in_use(conn)
    stray = await asyncio.to_thread(storage.orphans, settings, SUBDIR, in_use, settings.tts_timeout_seconds + 300)
    for rel in stray:
        await discard(settings, rel)
    return removed + len(stray)
