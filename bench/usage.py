"""API usage accounting: REST and socket throughput with accounting on versus off, in the same run.

    .venv/bin/python bench/usage.py [--seconds 4] [--rounds 3] [--rest-workers 16] [--sockets 8]

The script starts the embedded PostgreSQL and Redis in a temporary directory and two server processes
on them: one with ``USAGE_ACCOUNTING=false`` (the baseline) and one with it on. One agent, made over
REST, is the caller. Each round measures, on each server in turn (off, then on; the next round on,
then off, so drift on this noisy machine falls on both alike), for ``--seconds``:

- REST: ``--rest-workers`` concurrent loops of ``GET /api/me`` with the agent's key (the cheapest
  authenticated call, so the accounting's share of a request is as large as it gets);
- socket: ``--sockets`` agent sockets, each a loop of ``agent:config_result`` for an unknown
  deployment (gate, rate limit, one scoped read, an error ack).

It prints requests per second for each, per round, and the ratio on/off of the medians (the issue's
target: at least 0.95), and the server process's CPU time per request (the fairer figure on a
machine whose load generator shares the two cores). At the end the accounting server is stopped
with SIGTERM (a clean stop) and the rows in ``api_usage`` are compared with the calls and events it
answered: none may be missing.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import aiohttp
import socketio

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path[:0] = [str(ROOT), str(BENCH)]

from fanout import HOST, ServerProcess, free_port  # noqa: E402

from server.db import create_pool  # noqa: E402
from server.embedded import EmbeddedPostgres, EmbeddedRedis  # noqa: E402


async def rest_load(url: str, key: str, workers: int, seconds: float) -> int:
    """Calls answered in ``seconds`` by ``workers`` concurrent loops."""
    done = 0
    end = time.monotonic() + seconds
    headers = {"Authorization": f"Bearer {key}"}
    connector = aiohttp.TCPConnector(limit=workers)
    async with aiohttp.ClientSession(connector=connector) as http:
        async def loop() -> None:
            nonlocal done
            while time.monotonic() < end:
                async with http.get(f"{url}/api/me", headers=headers) as r:
                    await r.read()
                    assert r.status == 200, r.status
                done += 1

        await asyncio.gather(*(loop() for _ in range(workers)))
    return done


async def socket_load(clients: list[socketio.AsyncClient], seconds: float) -> int:
    done = 0
    end = time.monotonic() + seconds

    async def loop(client: socketio.AsyncClient) -> None:
        nonlocal done
        while time.monotonic() < end:
            ack = await client.call("agent:config_result", {"deployment_id": str(uuid.uuid4()), "ok": True},
                                    namespace="/agent", timeout=10)
            assert ack["error"]["code"] == "deployment.not_found", ack
            done += 1

    await asyncio.gather(*(loop(c) for c in clients))
    return done


async def connect_all(url: str, key: str, n: int) -> list[socketio.AsyncClient]:
    out = []
    for _ in range(n):
        client = socketio.AsyncClient(reconnection=False)
        await client.connect(url, namespaces=["/agent"], transports=["websocket"], auth={"api_key": key},
                             wait_timeout=10)
        out.append(client)
    return out


async def run(args: argparse.Namespace, data_dir: Path) -> int:
    pg, rd = EmbeddedPostgres(data_dir), EmbeddedRedis(data_dir)
    db_url, redis_url = await pg.start(), await rd.start()
    secret = "bench-" + uuid.uuid4().hex
    base_env = {**os.environ, "DATABASE_URL": db_url, "REDIS_URL": redis_url, "SECRET_KEY": secret,
                "RATE_SOCKET_EVENT": "1000000/1", "RATE_REGISTER": "100000/60", "LOG_LEVEL": "WARNING",
                "DB_POOL_MAX": "20"}
    servers = {}
    for name, accounting in (("off", "false"), ("on", "true")):
        port = free_port()
        servers[name] = ServerProcess(
            f"arena-usage-{name}", [sys.executable, "-m", "server", "serve", "--host", HOST, "--port", str(port),
                                    "--data-dir", str(data_dir / f"arena-{name}")],
            port, {**base_env, "USAGE_ACCOUNTING": accounting}, data_dir)
    try:
        for server in servers.values():
            await server.wait_ready(120)
        async with aiohttp.ClientSession() as http:
            async with http.post(f"{servers['off'].url}/api/users", json={
                    "email": "bench@example.com", "username": "bench", "password": "correct horse battery"}) as r:
                token = (await r.json())["session"]["token"]
            async with http.post(f"{servers['off'].url}/api/agents", json={"name": "usage-bench"},
                                 headers={"Authorization": f"Bearer {token}"}) as r:
                body = await r.json()
                key, agent_id = body["api_key"], body["agent"]["id"]
        sockets = {name: await connect_all(s.url, key, args.sockets) for name, s in servers.items()}
        answered_on = 0
        figures: dict[str, dict[str, list[float]]] = {"rest": {"on": [], "off": []}, "socket": {"on": [], "off": []}}
        cpu: dict[str, dict[str, list[float]]] = {"rest": {"on": [], "off": []}, "socket": {"on": [], "off": []}}
        # A warm-up on each, not counted.
        for name, s in servers.items():
            n = await rest_load(s.url, key, args.rest_workers, 1.0) + await socket_load(sockets[name], 1.0)
            answered_on += n if name == "on" else 0
        for i in range(args.rounds):
            order = ("off", "on") if i % 2 == 0 else ("on", "off")
            line = []
            for name in order:
                cpu0 = servers[name].cpu()[0]
                n_rest = await rest_load(servers[name].url, key, args.rest_workers, args.seconds)
                cpu1 = servers[name].cpu()[0]
                n_sock = await socket_load(sockets[name], args.seconds)
                cpu2 = servers[name].cpu()[0]
                if name == "on":
                    answered_on += n_rest + n_sock
                figures["rest"][name].append(n_rest / args.seconds)
                figures["socket"][name].append(n_sock / args.seconds)
                cpu["rest"][name].append((cpu1 - cpu0) * 1e6 / n_rest)
                cpu["socket"][name].append((cpu2 - cpu1) * 1e6 / n_sock)
                line.append(f"{name}: rest {n_rest / args.seconds:6.0f}/s socket {n_sock / args.seconds:6.0f}/s")
            print(f"round {i + 1}: " + "   ".join(line), flush=True)
        for what in ("rest", "socket"):
            on, off = statistics.median(figures[what]["on"]), statistics.median(figures[what]["off"])
            print(f"{what:6}: off {off:7.0f}/s, on {on:7.0f}/s, on/off {on / off:.3f} (target >= 0.95)")
            c_on, c_off = statistics.median(cpu[what]["on"]), statistics.median(cpu[what]["off"])
            print(f"{'':6}  server CPU per request: off {c_off:.0f} us, on {c_on:.0f} us, on/off {c_on / c_off:.3f}")

        for client in sockets["on"]:
            await client.disconnect()
        for client in sockets["off"]:
            await client.disconnect()
        servers["on"].stop()  # SIGTERM: a clean stop writes what is buffered
        pool = await create_pool(db_url, 1, 1)
        try:
            rows = await pool.fetchval("SELECT count(*) FROM api_usage WHERE agent_id = $1", uuid.UUID(agent_id))
        finally:
            await pool.close()
        print(f"accounted after a clean stop: {rows} rows for {answered_on} calls and events answered "
              f"({'none lost' if rows == answered_on else f'{answered_on - rows:+d} DIFFERENT'})")
        return 0 if rows == answered_on else 1
    finally:
        for server in servers.values():
            server.stop()
        rd.stop()
        pg.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--rest-workers", type=int, default=16)
    parser.add_argument("--sockets", type=int, default=8)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="arena-bench-usage-") as tmp:
        return asyncio.run(run(args, Path(tmp)))


if __name__ == "__main__":
    raise SystemExit(main())
