"""Server memory per Socket.IO websocket, with permessage-deflate off (our default) and on.

Starts ``arena serve`` (embedded PostgreSQL/Redis) twice, opens N websocket connections that offer
permessage-deflate as browsers do, joins each to /spectate, and prints the arena process's RSS
growth per connection. Run: .venv/bin/python bench/ws_memory.py [--n 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import aiohttp
import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from server.embedded import free_port  # noqa: E402


async def _ready(url: str, proc: subprocess.Popen) -> None:
    async with aiohttp.ClientSession() as http:
        for _ in range(600):
            if proc.poll() is not None:
                raise SystemExit("server exited")
            try:
                async with http.get(url + "/readyz") as r:
                    if r.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    raise SystemExit("server not ready")


async def _open(http: aiohttp.ClientSession, ws_url: str) -> aiohttp.ClientWebSocketResponse:
    ws = await http.ws_connect(ws_url, compress=15)
    await ws.receive_str()  # engine.io open
    await ws.send_str("40/spectate,")
    while not (await ws.receive_str()).startswith("40/spectate"):
        pass
    return ws


async def measure(n: int, compression: bool) -> tuple[float, str]:
    port = free_port()
    data = Path(tempfile.mkdtemp(prefix="arena-wsmem-"))
    env = {**os.environ, "WS_COMPRESSION": "true" if compression else "false", "LOG_LEVEL": "WARNING"}
    for k in ("DATABASE_URL", "REDIS_URL"):
        env.pop(k, None)
    proc = subprocess.Popen(  # noqa: ASYNC220 - started once, before any measuring
        [sys.executable, "-m", "server", "serve", "--port", str(port), "--data-dir", str(data)],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        await _ready(url, proc)
        server = psutil.Process(proc.pid)
        ws_url = url.replace("http", "ws") + "/socket.io/?EIO=4&transport=websocket"
        conn = aiohttp.TCPConnector(limit=0)
        async with aiohttp.ClientSession(connector=conn) as http:
            warm = [await _open(http, ws_url) for _ in range(20)]
            await asyncio.sleep(0.5)
            before = server.memory_info().rss
            sockets = []
            for i in range(0, n, 50):
                sockets += await asyncio.gather(*(_open(http, ws_url) for _ in range(min(50, n - i))))
            await asyncio.sleep(1.0)
            after = server.memory_info().rss
            ext = sockets[0]._response.headers.get("Sec-WebSocket-Extensions", "") or "(none)"
            for ws in warm + sockets:
                await ws.close()
        return (after - before) / n / 1024, ext
    finally:
        proc.terminate()
        proc.wait(30)
        shutil.rmtree(data, ignore_errors=True)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=1000)
    args = parser.parse_args()
    off, ext_off = await measure(args.n, False)
    on, ext_on = await measure(args.n, True)
    print(f"{args.n} websocket connections offering permessage-deflate, server RSS growth per connection:")
    print(f"  WS_COMPRESSION=false (default): {off:7.1f} KB   negotiated: {ext_off}")
    print(f"  WS_COMPRESSION=true           : {on:7.1f} KB   negotiated: {ext_on}")
    print(f"  ratio on/off: {on / off:.2f}")


if __name__ == "__main__":
    asyncio.run(main())
