"""Files kept under the data directory: written whole or not at all, off the event loop."""

from __future__ import annotations

import asyncio
import os
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
