"""Who an agent is: registered once per server and name, then reused.

An identity (name, agent id, API key) is kept in the user's config directory (``ARENA_CONFIG_DIR``,
or the platform's, e.g. ``~/.config/agent-arena``), one file per server and name, readable by the
user only (0600), never in the working tree. A running agent holds a lock on its identity, so a
second copy of the same script takes the next free one (``my-bot``, ``my-bot-2``, ...) and the two
can play each other.
"""

from __future__ import annotations

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
except ImportError:  # not Unix: copies of one script must then be given names (ARENA_AGENT_NAME)
    fcntl = None  # type: ignore[assignment]

from .errors import ArenaError, NameTaken, error_from

NAME = re.compile(r"^[a-zA-Z0-9_-]{3,50}$")
SLOTS = 5  # copies of one script that get names of their own before a random suffix is used


def config_dir() -> Path:
    """Where identities are kept: ``ARENA_CONFIG_DIR``, else the platform's user config directory."""
    return Path(os.environ.get("ARENA_CONFIG_DIR") or platformdirs.user_config_dir("agent-arena"))


def default_name() -> str:
    """``ARENA_AGENT_NAME``, else the running script's name (``my_bot.py`` gives ``my_bot``)."""
    given = os.environ.get("ARENA_AGENT_NAME")
    if given:
        return given
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

    def release(self) -> None:
        """Let another process use this identity."""
        if self._lock is not None:
            self._lock.close()
            self._lock = None


def _server_dir(url: str) -> Path:
    parts = urlsplit(url)
    slug = re.sub(r"[^a-zA-Z0-9._-]+", "_", f"{parts.hostname or 'local'}_{parts.port or parts.scheme}")
    return config_dir() / "identities" / slug


def _lock(path: Path) -> IO | None:
    """An exclusive lock on ``path`` for as long as the returned file stays open; None if taken."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    handle = os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600), "a")  # held open: the lock
    if fcntl is None:
        return handle
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
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
    async with aiohttp.ClientSession() as http, http.post(f"{url}/api/agents", json=body) as r:
        data = await r.json(content_type=None)
    if r.status != 201:
        raise error_from(data.get("error") if isinstance(data, dict) else data)
    return Identity(url, data["agent"]["name"], data["agent"]["id"], data["api_key"])


async def obtain(url: str, name: str | None = None, *, display_name: str | None = None,
                 description: str | None = None) -> Identity:
    """This agent's identity on ``url``: the stored one for ``name``, or a new registration.

    With ``name`` given, that name or nothing: a name someone else registered raises ``NameTaken``.
    Without it, the script's name; copies already running take ``-2``, ``-3``, ... and a name taken
    by someone else gets a random suffix.
    """
    folder = _server_dir(url)
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
        identity._lock = lock
        return identity
    raise ArenaError("client.no_name", "no free agent name found; set ARENA_AGENT_NAME")


def _slots(base: str) -> list[str]:
    names = [base] + [f"{base}-{i}" for i in range(2, SLOTS + 1)]
    return names + [f"{base}-{secrets.token_hex(3)}" for _ in range(3)]
