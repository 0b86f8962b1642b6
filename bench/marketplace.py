"""Marketplace discovery at 100,000 items: browse pages in every order, deep pages by cursor, and
typo-tolerant search, through the server's REST route; against the same page's SQL run bare on the
same database (the baseline, in the same run) and against OFFSET paging at the same depth.

    .venv/bin/python bench/marketplace.py [--items 100000] [--depth 2000] [--repeat 30]

The script starts the embedded PostgreSQL and Redis in a temporary directory and one server process
(``python -m server serve``). It makes ``--items`` public tools, tasks and scenarios (a quarter of them
private) with plain INSERTs into the item tables (the listing triggers fill the marketplace's index),
then ANALYZEs. Figures (medians over ``--repeat`` requests, milliseconds):

- ``first``: the first page (24 items) of ``GET /api/marketplace/search?kind=tool&sort=...``;
- ``deep``: the page ``--depth`` items down, reached by its cursor;
- ``sql``: the route's browse statement for the first page, run bare on one connection (no HTTP, no
  validation, no JSON): the floor;
- ``offset``: the same order with ``OFFSET --depth`` run bare: what a page number would cost;
- ``deep/sql``: our deep page over the floor (what HTTP, validation and JSON add, and whether depth
  costs anything);
- search: ``q`` with two typos, first page.

No target is named by the issue; the figure to watch is that ``deep`` stays at ``first`` (a cursor
page is one index range whatever the depth) while ``offset`` grows with depth.
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

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path[:0] = [str(ROOT), str(BENCH)]

from fanout import HOST, ServerProcess, free_port  # noqa: E402

from server.db import create_pool  # noqa: E402
from server.embedded import EmbeddedPostgres, EmbeddedRedis  # noqa: E402
from server.marketplace import store  # noqa: E402

SORTS = ("newest", "most_used", "most_cloned", "best_rated", "trending")
FILL = {
    "tools": """
INSERT INTO tools (name, description, tool_type, tags, is_public, usage_count, clone_count, average_rating,
                   rating_count, created_by_user_id, created_at)
SELECT 'tool ' || i || ' ' || md5(i::text), 'does thing number ' || i, (ARRAY['api', 'math', 'search'])[1 + i % 3],
       '["x"]'::jsonb, i % 4 <> 0, i % 997, i % 101, (i % 5) + 1, i % 7, $2, now() - make_interval(secs => i)
FROM generate_series(1, $1) AS i""",
    "tasks": """
INSERT INTO tasks (title, description, category, is_public, usage_count, clone_count, created_by_user_id, created_at)
SELECT 'task ' || i || ' ' || md5(i::text), 'write report ' || i, 'writing', i % 4 <> 0, i % 991, i % 89, $2,
       now() - make_interval(secs => i)
FROM generate_series(1, $1) AS i""",
    "scenarios": """
INSERT INTO scenarios (title, description, industry, is_public, usage_count, created_by_user_id, created_at)
SELECT 'scenario ' || i || ' ' || md5(i::text), 'a market in turmoil ' || i, 'retail', i % 4 <> 0, i % 983, $2,
       now() - make_interval(secs => i)
FROM generate_series(1, $1) AS i""",
}


async def timed(fn, repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        await fn()
        samples.append((time.perf_counter() - t0) * 1000)
    return statistics.median(samples)


async def run(args: argparse.Namespace, data_dir: Path) -> int:
    pg, rd = EmbeddedPostgres(data_dir), EmbeddedRedis(data_dir)
    db_url, redis_url = await pg.start(), await rd.start()
    port = free_port()
    env = {**os.environ, "DATABASE_URL": db_url, "REDIS_URL": redis_url, "SECRET_KEY": "bench-" + uuid.uuid4().hex,
           "RATE_REGISTER": "100000/60", "LOG_LEVEL": "WARNING"}
    server = ServerProcess("arena", [sys.executable, "-m", "server", "serve", "--host", HOST, "--port", str(port),
                                     "--data-dir", str(data_dir / "arena")], port, env, data_dir)
    try:
        await server.wait_ready(120)
        async with aiohttp.ClientSession() as http:
            async with http.post(f"{server.url}/api/users", json={
                    "email": "bench@example.com", "username": "bench", "password": "correct horse battery"}) as r:
                user_id = (await r.json())["user"]["id"]
            pool = await create_pool(db_url, 1, 1)
            conn = await pool.acquire()
            t0 = time.perf_counter()
            share = args.items // 3
            for sql in FILL.values():
                await conn.execute(sql, share, uuid.UUID(user_id))
            await conn.execute("ANALYZE")
            listed = await conn.fetchval("SELECT count(*) FROM marketplace_listings")
            print(f"made {listed} listings ({share} per kind, a quarter private) in {time.perf_counter() - t0:.1f} s")

            async def page(params: dict) -> dict:
                async with http.get(f"{server.url}/api/marketplace/search", params=params) as r:
                    assert r.status == 200, await r.text()
                    return await r.json()

            print(f"{'sort':12} {'first':>7} {'deep':>7} {'sql':>7} {'offset':>8} {'deep/sql':>9}")
            for sort in SORTS:
                base = {"kind": "tool", "sort": sort, "limit": "24"}
                cursor, seen = None, 0
                while seen < args.depth:  # walk down by cursor, 100 at a time, to the depth
                    body = await page({**base, "limit": "100", **({"cursor": cursor} if cursor else {})})
                    cursor, seen = body["next_cursor"], seen + len(body["items"])
                first = await timed(lambda base=base: page(base), args.repeat)
                deep = await timed(lambda base=base, cursor=cursor: page({**base, "cursor": cursor}), args.repeat)
                filters = {"kind": "tool", "tags": [], "category": None, "industry": None, "tool_type": None,
                           "min_rating": None, "template": None, "owner": None}

                async def bare(sort=sort, filters=filters) -> None:
                    async with conn.transaction():
                        await store.browse(conn, sort, filters, None, 25)

                sql = await timed(bare, args.repeat)
                offset_sql = store.BROWSE[sort].replace("LIMIT $11", "LIMIT $11 OFFSET " + str(int(args.depth)))

                async def offset(sort=sort, offset_sql=offset_sql, filters=filters) -> None:
                    extra = [None] if sort == "best_rated" else []
                    async with conn.transaction():
                        await conn.execute(store.SEARCH_SETTINGS)
                        await conn.fetch(offset_sql, *store._filters(filters), None, None, 25, *extra)

                off = await timed(offset, args.repeat)
                print(f"{sort:12} {first:7.2f} {deep:7.2f} {sql:7.2f} {off:8.2f} {deep / sql:9.2f}")
            for q in ("tool 4242", "sceanrio 777", "wrte reprot 31"):
                ms = await timed(lambda q=q: page({"q": q}), args.repeat)
                body = await page({"q": q})
                top = body["items"][0]["name"] if body["items"] else "-"
                print(f"search {q!r:18} {ms:7.2f} ms, {len(body['items'])} hits, first: {top}")
            await pool.release(conn)
            await pool.close()
    finally:
        server.stop()
        rd.stop()
        pg.stop()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--depth", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="arena-bench-market-") as tmp:
        return asyncio.run(run(args, Path(tmp)))


if __name__ == "__main__":
    raise SystemExit(main())
