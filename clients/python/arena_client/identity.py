"""Who an agent is: registered once per arena and name, then reused.

An identity (name, agent id, API key) is kept in the user's config directory (``ARENA_CONFIG_DIR``,
or the platform's, e.g. ``~/.config/agent-arena``), in a directory per arena (its ``arena_id`` from
``GET /api/info``: the same database behind any address is the same arena, and a reset one is a new
arena) and a file per name, readable by the user only (0600, in 0700 directories), never in the
working tree. A running agent holds a lock on its identity, so a second copy of the same script takes
the next free one (``my_bot``, ``my_bot-2``, ...) and the two can play each other.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO
from urllib.parse import urlsplit

import aiohttp
import platformdirs

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]
    import msvcrt

from .errors import ArenaError, ConnectionLost, NameTaken, error_from

NAME = re.compile(r"^[a-zA-Z0-9_-]{3,50}$")
SLOTS = 5  # copies of one script that get names of their own before a random suffix is used


def config_dir() -> Path:
    """Where identities are kept: ``ARENA_CONFIG_DIR``, else the platform's user config directory."""
    return Path(os.environ.get("ARENA_CONFIG_DIR") or platformdirs.user_config_dir("agent-arena"))


def default_name() -> str:
    """The running script's name (``my_bot.py`` gives ``my_bot``)."""
    stem = re.sub(r"[^a-zA-Z0-9_-]+", "-", Path(sys.argv[0] if sys.argv else "").stem).strip("-")
    return (stem if len(stem) >= 3 else f"agent-{stem}".rstrip("-"))[:40]


@dataclass
class Identity:
    """An agent's name, id and API key on one server (``api_key`` is a secret: never print it)."""

    server: str
    name: str
    agent_id: str
    api_key: str = field(repr=False)
    _lock: IO | None = field(default=None, repr=False, compare=False)

    path: Path | None = field(default=None, repr=False, compare=False)

    def release(self) -> None:
        """Let another process use this identity."""
        if self._lock is not None:
            self._lock.close()
            self._lock = None

    def forget(self) -> None:
        """Delete the stored identity (the arena no longer knows its key) and release it."""
        if self.path is not None:
            self.path.unlink(missing_ok=True)
        self.release()


async def _json(response: aiohttp.ClientResponse) -> object:
    try:
        return await response.json(content_type=None)
    except ValueError:
        raise ArenaError("client.bad_answer", f"{response.url} did not answer JSON (is it an arena?)") from None


async def arena_key(url: str) -> str:
    """What identities of ``url`` are kept under: its ``arena_id``, or (an arena without
    ``/api/info``) its host and port."""
    try:
        async with aiohttp.ClientSession() as http, http.get(f"{url}/api/info") as r:
            data = await _json(r)
    except aiohttp.ClientError as exc:
        raise ConnectionLost(f"cannot reach the arena at {url}: {exc}") from None
    if r.status == 200 and isinstance(data, dict) and data.get("arena_id"):
        return str(data["arena_id"])
    parts = urlsplit(url)
    return re.sub(r"[^a-zA-Z0-9._-]+", "_", f"{parts.hostname or 'local'}_{parts.port or parts.scheme}")


def _private_dir(path: Path) -> Path:
    """``path`` and the config directories above it, created readable by the user only."""
    path.mkdir(parents=True, exist_ok=True)
    for folder in (path, *[p for p in path.parents if config_dir() in (p, *p.parents)]):
        with contextlib.suppress(OSError):
            folder.chmod(0o700)
    return path


def _lock(path: Path) -> IO | None:
    """An exclusive lock on ``path`` for as long as the returned file stays open; None if taken."""
    handle = os.fdopen(os.open(path, os.O_RDWR | os.O_CREAT, 0o600), "r+")  # held open: the lock
    try:
        if fcntl is not None:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        else:
            msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
    except OSError:  # held by another process
        handle.close()
        return None
    return handle


def _save(path: Path, identity: Identity) -> None:
    """Write the identity file readable by the user only, atomically."""
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump({"server": identity.server, "name": identity.name, "agent_id": identity.agent_id,
                   "api_key": identity.api_key}, f)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def _load(path: Path, server: str) -> Identity | None:
    try:
        data = json.loads(path.read_text())
        return Identity(server, data["name"], data["agent_id"], data["api_key"])
    except (OSError, ValueError, KeyError):
        return None


async def register(url: str, name: str, display_name: str | None = None,
                   description: str | None = None) -> Identity:
    """Register a new agent on the server; the API key comes back once."""
    body = {"name": name, "display_name": display_name or name}
    if description:
        body["description"] = description
    try:
        async with aiohttp.ClientSession() as http, http.post(f"{url}/api/agents", json=body) as r:
            data = await _json(r)
    except aiohttp.ClientError as exc:
        raise ConnectionLost(f"cannot reach the arena at {url}: {exc}") from None
    if r.status != 201 or not isinstance(data, dict):
        raise error_from(data.get("error") if isinstance(data, dict) else data)
    return Identity(url, data["agent"]["name"], data["agent"]["id"], data["api_key"])


async def obtain(url: str, name: str | None = None, *, display_name: str | None = None,
                 description: str | None = None) -> Identity:
    """This agent's identity on ``url``: the stored one for ``name``, or a new registration.

    With ``name`` (or ``ARENA_AGENT_NAME``), that name or nothing: a name someone else registered
    raises ``NameTaken``, one in use by another process ``client.identity_in_use``. Without it, the
    script's name; copies already running take ``-2``, ``-3``, ... and a name taken by someone else
    gets a random suffix.
    """
    name = name or os.environ.get("ARENA_AGENT_NAME") or None
    folder = _private_dir(config_dir() / "identities" / await arena_key(url))
    candidates = [name] if name else _slots(default_name())
    for candidate in candidates:
        if not NAME.match(candidate):
            raise ArenaError("client.bad_name", f"{candidate!r}: an agent name is 3-50 letters, digits, - or _")
        lock = _lock(folder / f"{candidate}.lock")
        if lock is None:
            if name:
                raise ArenaError("client.identity_in_use", f"another process is running as {name!r}")
            continue
        path = folder / f"{candidate}.json"
        identity = _load(path, url)
        if identity is None:
            try:
                identity = await register(url, candidate, display_name, description)
            except NameTaken:
                lock.close()
                if name:
                    raise NameTaken("agent.name_taken", f"the name {name!r} is taken on {url}; choose another "
                                    "(ARENA_AGENT_NAME or name=...)") from None
                continue
            except BaseException:
                lock.close()
                raise
            _save(path, identity)
        identity._lock, identity.path = lock, path
        return identity
    raise ArenaError("client.no_name", "no free agent name found; set ARENA_AGENT_NAME")


def _slots(base: str) -> list[str]:
    names = [base] + [f"{base}-{i}" for i in range(2, SLOTS + 1)]
    return names + [f"{base}-{secrets.token_hex(3)}" for _ in range(3)]
