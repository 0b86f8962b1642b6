"""Requests aiohttp refuses before any handler runs (oversize headers, a malformed request line)
answer in the one error shape too, and are logged as what they are: a client's mistake, not ours.

aiohttp answers these from its protocol handler with plain text and logs each as an ERROR with a
traceback; no middleware sees them. The handler class is chosen by the low-level ``Server`` that the
application builds when it starts, so we give that one server our handler class.
"""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web
from aiohttp.web_protocol import RequestHandler
from aiohttp.web_request import BaseRequest
from aiohttp.web_server import Server

from .errors import AppError, error_body, internal

log = logging.getLogger(__name__)

CODES = {
    413: "validation.payload_too_large",
    431: "validation.headers_too_large",
}


def _code(status: int, exc: BaseException | None) -> str:
    if status in CODES:
        return CODES[status]
    if exc is not None and "too long" in str(exc).lower():
        return "validation.headers_too_large"
    return "validation.bad_request"


class _ArenaRequestHandler(RequestHandler):
    def handle_error(self, request: BaseRequest, status: int = 500, exc: BaseException | None = None,
                     message: str | None = None) -> web.StreamResponse:
        if status >= 500:
            self.log_exception("error handling request from %s", request.remote, exc_info=exc)
            err = internal()
        else:
            reason = (getattr(exc, "message", None) or message or str(exc or "")).strip() or "bad request"
            log.info("refused a malformed request from %s: %s", request.remote, reason)
            log.debug("malformed request", exc_info=exc)
            err = AppError(_code(status, exc), reason, status)
        if request.writer.output_size > 0:
            raise ConnectionError("response already started; cannot send the error")
        response = web.json_response(error_body(err), status=status)
        response.force_close()
        return response


class _ArenaServer(Server):
    def __call__(self) -> RequestHandler:
        return _ArenaRequestHandler(self, loop=self._loop, **self._kwargs)


def install(app: web.Application) -> None:
    """Make the HTTP server this app builds at start-up use our request handler class."""
    build = app._make_handler

    def make_handler(**kwargs: Any) -> Server:
        server = build(**kwargs)
        # Same object and state, one overridden method: the protocol handler it creates.
        server.__class__ = _ArenaServer
        return server

    app._make_handler = make_handler  # type: ignore[method-assign]
