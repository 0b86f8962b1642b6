"""Bursts and outages on a real `arena serve` (embedded PostgreSQL and Redis, supervised).

    .venv/bin/python bench/outages.py [--burst 2000] [--freeze 3]

Prints, against the same call on the same server while healthy (the baseline of this run):
- a burst of concurrent logins for one account: how many passwords were checked (each 401 is one)
  against the limit, the statuses, and the wall time;
- Redis frozen (SIGSTOP): how long a call that needs Redis takes to be refused;
- Redis killed, and the PostgreSQL postmaster killed: how long calls take to be refused while the
  service is down, and how long until /readyz is back (the server restarts the service itself).

A benchmark, not a test: it prints figures and fails only if something breaks.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import aiohttp
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fanout import HOST, ServerProcess, free_port  # noqa: E402

LOGIN_LIMIT = 10


async def timed(http: aiohttp.ClientSession, method: str, url: str, **kw) -> tuple[float, int, str | None]:
    """(milliseconds, status, error code) of one request."""
    started = time.perf_counter()
    async with http.request(method, url, **kw) as r:
        body = await r.json(content_type=None)
    code = body.get("error", {}).get("code") if isinstance(body, dict) else None
    return (time.perf_counter() - started) * 1000, r.status, code


async def probe(http: aiohttp.ClientSession, url: str, n: int, method: str, path: str, **kw) -> list[tuple]:
    return [await timed(http, method, url + path, **kw) for _ in range(n)]


def summary(samples: list[tuple]) -> str:
    ms = [s[0] for s in samples]
    codes = Counter(f"{s[1]} {s[2] or 'ok'}" for s in samples)
    shown = ", ".join(f"{k} ×{v}" for k, v in codes.items())
    return f"p50 {statistics.median(ms):7.1f} ms  max {max(ms):7.1f} ms  ({shown})"


async def until_ready(http: aiohttp.ClientSession, url: str, since: float, timeout: float = 60) -> float:
    while time.monotonic() - since < timeout:
        with contextlib.suppress(aiohttp.ClientError):
            async with http.get(url + "/readyz") as r:
                if r.status == 200:
                    return time.monotonic() - since
        await asyncio.sleep(0.05)
    raise RuntimeError("the server did not become ready again")


def service_pid(server: ServerProcess, name: str) -> int:
    kids = psutil.Process(server.proc.pid).children(recursive=False)
    return next(k.pid for k in kids if k.name() == name)


async def run(args: argparse.Namespace, data_dir: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(RATE_LOGIN=f"{LOGIN_LIMIT}/3600", RATE_KEY_EXCHANGE="1000000/60", LOG_LEVEL="ERROR")
    server = ServerProcess("arena", [sys.executable, "-m", "server", "serve", "--host", HOST, "--port", str(port),
                                     "--data-dir", str(data_dir / "arena")], port, env, data_dir)
    try:
        await server.wait_ready(120)
        url = server.url
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:
            await http.post(url + "/api/users", json={"email": "b@example.com", "username": "burst",
                                                      "password": "a long password"})
            bad_key = {"api_key": "ak_000000000000_" + "x" * 43}  # limiter (Redis), then PostgreSQL
            healthy = await probe(http, url, 20, "POST", "/api/auth/token", json=bad_key)
            healthy_read = await probe(http, url, 20, "GET", "/api/battles")
            print(f"healthy    key exchange        {summary(healthy)}")
            print(f"healthy    GET /api/battles    {summary(healthy_read)}")

            gate = asyncio.Event()

            async def login(i: int) -> int:
                await gate.wait()
                async with http.post(url + "/api/auth/login", json={"login": "burst", "password": f"no {i}"}) as r:
                    await r.read()
                    return r.status

            tasks = [asyncio.create_task(login(i)) for i in range(args.burst)]
            await asyncio.sleep(0.2)
            started = time.perf_counter()
            gate.set()
            statuses = Counter(await asyncio.gather(*tasks))
            print(f"burst      {args.burst} logins at once: {statuses[401]} passwords checked (limit {LOGIN_LIMIT}), "
                  f"statuses {dict(sorted(statuses.items()))}, {time.perf_counter() - started:.2f} s")

            redis = service_pid(server, "redis-server")
            os.kill(redis, signal.SIGSTOP)
            try:
                frozen = await probe(http, url, 10, "POST", "/api/auth/token", json=bad_key)
                await asyncio.sleep(max(0.0, args.freeze - sum(s[0] for s in frozen) / 1000))
            finally:
                os.kill(redis, signal.SIGCONT)
            back = await until_ready(http, url, time.monotonic())
            print(f"frozen     Redis, key exchange {summary(frozen)}; "
                  f"{statistics.median(s[0] for s in frozen) / statistics.median(s[0] for s in healthy):.1f}× healthy; "
                  f"ready {back:.2f} s after SIGCONT")

            for name, path, method, kw in [("redis-server", "/api/auth/token", "POST", {"json": bad_key}),
                                           ("postgres", "/api/battles", "GET", {})]:
                killed_at = time.monotonic()
                os.kill(service_pid(server, name), signal.SIGKILL)
                down = await probe(http, url, 5, method, path, **kw)
                back = await until_ready(http, url, killed_at)
                print(f"killed     {name:<12} {path:<16} {summary(down)}; ready again {back:.2f} s after SIGKILL")
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--burst", type=int, default=2000, help="concurrent logins in the burst")
    parser.add_argument("--freeze", type=float, default=3.0, help="seconds Redis stays frozen")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (server log)")
    args = parser.parse_args()
    data_dir = Path(tempfile.mkdtemp(prefix="arena-outages-"))
    try:
        asyncio.run(run(args, data_dir))
    finally:
        if not args.keep:
            import shutil

            shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
