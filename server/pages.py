"""The spectator web app: our static files, and the pinned socket.io-client from npm.

The page is plain ES modules (no build step). Its one dependency, socket.io-client, is installed by
npm into static/node_modules from the exact version in static/package.json; it is never fetched
from a CDN at run time. Without it the page still loads and says how to install it.
"""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

STATIC = Path(__file__).resolve().parent.parent / "static"
APP_DIR = STATIC / "app"
VENDOR = {
    "socket.io.esm.min.js": STATIC / "node_modules" / "socket.io-client" / "dist" / "socket.io.esm.min.js",
}
NO_CACHE = {"Cache-Control": "no-cache"}


async def index(request: web.Request) -> web.StreamResponse:
    return web.FileResponse(STATIC / "index.html", headers=NO_CACHE)


async def vendor(request: web.Request) -> web.StreamResponse:
    path = VENDOR.get(request.match_info["name"])
    if path is None or not path.exists():
        raise web.HTTPNotFound(reason="client library not installed: run npm ci --prefix static")
    return web.FileResponse(path, headers={"Cache-Control": "public, max-age=3600"})


async def _revalidate_app_files(request: web.Request, response: web.StreamResponse) -> None:
    # Our modules change with every deploy and import each other: a browser must not mix versions.
    if request.path.startswith("/app/"):
        response.headers["Cache-Control"] = "no-cache"


def mount(app: web.Application) -> None:
    app.router.add_get("/", index)
    app.router.add_get("/vendor/{name}", vendor)
    if APP_DIR.exists():
        app.router.add_static("/app/", APP_DIR, append_version=False)
        app.on_response_prepare.append(_revalidate_app_files)
