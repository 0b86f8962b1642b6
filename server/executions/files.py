"""Uploaded files of executions (artifacts, input files): kept under the data directory, their type
sniffed from their bytes (the client's Content-Type and file name are never trusted), served with
headers that stop a browser from running or guessing anything."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID

import filetype
from aiohttp import web

from .. import storage
from ..errors import AppError
from ..rest import read_raw_body
from ..settings import Settings

SUBDIR = Path("files") / "executions"
# Types a browser may show in place: images that cannot carry script. Everything else downloads.
INLINE = {"image/png", "image/jpeg", "image/gif", "image/webp"}


@dataclass(frozen=True)
class Stored:
    path: str  # relative to the data directory
    size: int
    mime_type: str
    sha256: str


def sniff(head: bytes) -> str:
    """The MIME type the bytes show: a known signature, else UTF-8 text (JSON when it parses), else
    ``application/octet-stream``."""
    kind = filetype.guess(head)
    if kind is not None:
        return kind.mime
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # The sample may end inside a character; only a bad byte before the last 3 means binary.
        if exc.start < len(head) - 3:
            return "application/octet-stream"
        text = head[:exc.start].decode("utf-8")
    if "\x00" in text:
        return "application/octet-stream"
    stripped = text.lstrip()
    if stripped[:1] in ("{", "["):
        return "application/json"
    return "text/plain"


async def read_upload(request: web.Request, limit: int) -> bytes:
    """The raw request body, refused with ``validation.payload_too_large`` past ``limit``."""
    raw = await read_raw_body(request, limit, "a file")
    if not raw:
        raise AppError("validation.failed", "the file is empty", 422,
                       details=[{"loc": ["body"], "msg": "empty", "type": "missing"}])
    return raw


async def store(settings: Settings, execution_id: UUID, data: bytes) -> Stored:
    """Write ``data`` under the data directory (in a worker thread) and describe it."""
    rel = SUBDIR / str(execution_id) / uuid.uuid4().hex
    await storage.save(settings, rel, data)
    return Stored(str(rel), len(data), sniff(data[:8192]), hashlib.sha256(data).hexdigest())


def remove(settings: Settings, rel: str) -> None:
    try:
        (settings.data_dir / rel).unlink()
    except FileNotFoundError:
        pass


def response(settings: Settings, rel: str, mime: str, name: str) -> web.FileResponse:
    """The file, as a download unless it is a plain image; never sniffed or run by the browser."""
    path = settings.data_dir / rel
    if not path.is_file():
        raise AppError("execution.file_missing", "the file is no longer stored", 404)
    safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in name)[:100] or "file"
    disposition = "inline" if mime in INLINE else "attachment"
    content_type = "text/plain; charset=utf-8" if mime == "text/plain" else mime
    return web.FileResponse(path, headers={
        "Content-Type": content_type,
        "Content-Disposition": f'{disposition}; filename="{safe}"',
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; sandbox",
        "Cache-Control": "private, max-age=3600",
    })
