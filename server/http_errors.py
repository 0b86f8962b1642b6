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
from aiohttp.http_exceptions import LineTooLong
from aiohttp.web_protocol import RequestHandler
from aiohttp.web_request import BaseRequest
from aiohttp.web_server import Server

from .errors import AppError, error_body, internal

log = logging.getLogger(__name__)



def _refusal(status: int, exc: BaseException | None, message: str | None) -> AppError:
    if isinstance(exc, LineTooLong):
        return AppError("validation.headers_too_large", "a request header (or the request line) is too long", 431)
    if status == 413:
        return AppError("validation.payload_too_large", "the request is too large", 413)
    reason = (getattr(exc, "message", None) or message or str(exc or "")).strip() or "bad request"
    return AppError("validation.bad_request", f"malformed HTTP request: {reason}", status)


class _ArenaRequestHandler(RequestHandler):
    def handle_error(self, request: BaseRequest, status: int = 500, exc: BaseException | None = None,
                     message: str | None = None) -> web.StreamResponse:
        if status >= 500:
            self.log_exception("error handling request from %s", request.remote, exc_info=exc)
            err = internal()
        else:
            err = _refusal(status, exc, message)
            log.info("refused a malformed request from %s: %s", request.remote, err.code)
            log.debug("malformed request", exc_info=exc)
        if request.writer.output_size > 0:
            raise ConnectionError("response already started; cannot send the error")
        response = web.json_response(error_body(err), status=err.status)
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
