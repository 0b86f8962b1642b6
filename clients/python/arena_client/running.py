"""Running an agent as a program: Ctrl-C (or SIGTERM) stops it cleanly, with no traceback."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from collections.abc import Coroutine
from typing import Any, TypeVar

from .errors import ArenaError

T = TypeVar("T")


def run(main: Coroutine[Any, Any, T], *, log_level: str = "WARNING") -> T | None:
    """``asyncio.run(main)`` for an agent program.

    Ctrl-C or SIGTERM cancels ``main`` (its ``async with Client()`` blocks close the connection) and
    the program exits with status 0 after a one-line "stopped". An ``ArenaError`` (a refused name, a
    server that cannot be reached) is printed as one line and exits with status 1: no traceback.
    """
    logging.basicConfig(level=log_level, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    try:
        return asyncio.run(_with_sigterm(main))
    except (KeyboardInterrupt, asyncio.CancelledError):
        print("stopped", file=sys.stderr, flush=True)
        raise SystemExit(0) from None
    except ArenaError as err:
        print(f"arena: {err}", file=sys.stderr, flush=True)
        raise SystemExit(1) from None


async def _with_sigterm(main: Coroutine[Any, Any, T]) -> T:
    task = asyncio.current_task()
    loop = asyncio.get_running_loop()
    try:
        loop.add_signal_handler(signal.SIGTERM, task.cancel)
    except (NotImplementedError, RuntimeError):  # not on this platform: Ctrl-C still works
        pass
    return await main
