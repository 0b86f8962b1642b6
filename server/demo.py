"""``arena serve --demo``: the example agents (examples/demo.py) run beside the server, as a child
process that connects over real Socket.IO like any agent (and dies with the server). They are
written on the arena's client package (clients/python), which ``./dev serve`` installs."""

from __future__ import annotations

import importlib.util
import logging
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

from aiohttp import web

from .core import SETTINGS
from .embedded import _die_with_parent

log = logging.getLogger(__name__)
ROOT = Path(__file__).resolve().parent.parent


async def run_demo_agents(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    if importlib.util.find_spec("arena_client") is None:
        log.error("the demo needs the arena's client package: pip install ./clients/python (./dev serve does it)")
        yield
        return
    host = "127.0.0.1" if settings.host in ("0.0.0.0", "::", "") else settings.host
    url = f"http://{host}:{settings.port}"
    keys = (settings.data_dir / "demo").resolve()
    proc = subprocess.Popen(  # noqa: ASYNC220 - returns at once; the child runs beside us
        [sys.executable, str(ROOT / "examples" / "demo.py"), "--url", url, "--legacy-keys", str(keys)],
        cwd=ROOT / "examples", stdin=subprocess.DEVNULL, preexec_fn=_die_with_parent(signal.SIGTERM),
        env={**os.environ, "ARENA_CONFIG_DIR": str(keys)},
    )
    log.info("demo agents started (pid %s) against %s", proc.pid, url)
    yield
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
    log.info("demo agents stopped")
