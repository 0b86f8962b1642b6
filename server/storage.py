"""Files kept under the data directory: written whole or not at all, off the event loop."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

from .settings import Settings


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


async def save(settings: Settings, rel: Path, data: bytes) -> None:
    """Write ``data`` at ``rel`` (relative to the data directory), atomically, in a worker thread."""
    await asyncio.to_thread(_write, settings.data_dir / rel, data)


async def remove(settings: Settings, rel: str | Path) -> None:
    """Remove a stored file (gone already is fine)."""
    await asyncio.to_thread((settings.data_dir / rel).unlink, missing_ok=True)


def orphans(settings: Settings, subdir: Path, in_use: set[str], older_than: float) -> list[str]:
    """Files under ``subdir`` of the data directory that no row points at (``in_use``: paths relative
    to the data directory), and not being written right now: only files older than ``older_than``
    seconds, since a row is written after its file."""
    root = settings.data_dir / subdir
    if not root.is_dir():
        return []
    cutoff = time.time() - older_than
    found = []
    for path in root.rglob("*"):
        try:
            old = path.is_file() and path.stat().st_mtime < cutoff
        except OSError:  # gone meanwhile (a file being renamed into place, say)
            continue
        if old:
            rel = str(path.relative_to(settings.data_dir))
            if rel not in in_use:
                found.append(rel)
    return found
