"""``arena serve`` as a user runs it: a subprocess with embedded PostgreSQL and Redis, stopped by
SIGTERM or killed by SIGKILL, leaving no process behind; data survives a restart."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import aiohttp
import arena_client as sdk
import psutil
import pytest

from server.embedded import free_port
from tests.support import wait_until_ready

ROOT = Path(__file__).resolve().parent.parent


class Serve:
    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.proc: subprocess.Popen | None = None
        self.log = data_dir.parent / f"serve-{self.port}.log"

    def start(self, *extra: str) -> None:
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "SECRET_KEY")}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "server", "serve", "--port", str(self.port), "--data-dir", str(self.data_dir),
             *extra],
            cwd=ROOT, env=env, stdout=open(self.log, "ab"), stderr=subprocess.STDOUT,  # noqa: SIM115
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def wait_ready(self, timeout: float = 60) -> None:
        await wait_until_ready(self.url, self.proc, self.log, timeout)

    def service_pids(self) -> list[int]:
        """The embedded postgres (postmaster) and redis processes: direct children of the server."""
        children = psutil.Process(self.proc.pid).children(recursive=False)
        return [c.pid for c in children if c.name() in ("postgres", "redis-server")]


def _gone(pids: list[int], timeout: float = 15) -> bool:
    _, alive = psutil.wait_procs([p for pid in pids if (p := _proc(pid))], timeout=timeout)
    return not alive


def _proc(pid: int) -> psutil.Process | None:
    try:
        return psutil.Process(pid)
    except psutil.NoSuchProcess:
        return None


@pytest.fixture
def serve(tmp_path: Path):
    servers: list[Serve] = []

    def make() -> Serve:
        s = Serve(tmp_path / "data")
        servers.append(s)
        return s

    yield make
    for s in servers:
        if s.proc and s.proc.poll() is None:
            s.proc.kill()
            s.proc.wait()


def _user_cmd(data_dir: Path, action: str, username: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "SECRET_KEY")}
    return subprocess.run([sys.executable, "-m", "server", "user", action, username, "--data-dir", str(data_dir)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


TASK = {"name": "Echo", "slug": "echo", "description": "Say hello.", "category": "basics", "difficulty": "beginner",
        "success_criteria": [{"id": "hello", "check": "contains", "expected": "hello"}]}


async def test_sigterm_stops_server_and_both_services_and_data_survives(serve) -> None:
    first = serve()
    first.start()
    await first.wait_ready()
    pids = first.service_pids()
    assert len(pids) == 2, pids
    async with aiohttp.ClientSession() as http:
        async with http.post(first.url + "/api/agents", json={"name": "survivor"}) as r:
            assert r.status == 201
        async with http.post(first.url + "/api/users", json={"email": "o@example.com", "username": "organiser",
                                                             "password": "correct horse battery"}) as r:
            token = (await r.json())["session"]["token"]
        auth = {"Authorization": f"Bearer {token}"}
        async with http.post(first.url + "/api/benchmarks/tasks", json=TASK, headers=auth) as r:
            assert r.status == 403 and (await r.json())["error"]["code"] == "benchmark.admin_only"
        # While the server runs on the data directory: its PostgreSQL is used, and it counts at once.
        promoted = _user_cmd(first.data_dir, "promote", "organiser")
        assert promoted.returncode == 0, promoted.stderr
        assert promoted.stdout.strip() == "organiser is now an admin"
        async with http.post(first.url + "/api/benchmarks/tasks", json=TASK, headers=auth) as r:
            assert r.status == 201, await r.text()
        missing = _user_cmd(first.data_dir, "promote", "nobody-here")
        assert missing.returncode == 1 and "no user named 'nobody-here'" in missing.stderr
    first.proc.send_signal(signal.SIGTERM)
    assert first.proc.wait(30) == 0
    assert _gone(pids), "embedded services outlived the server"
    assert (first.data_dir / "secret_key").exists()

    # No server running: the command starts the embedded PostgreSQL itself, and stops it.
    demoted = _user_cmd(first.data_dir, "demote", "organiser")
    assert demoted.returncode == 0 and demoted.stdout.strip() == "organiser is no longer an admin", demoted.stderr

    second = serve()
    second.start()
    await second.wait_ready()
    async with aiohttp.ClientSession() as http:
        async with http.get(second.url + "/api/agents") as r:
            assert [a["name"] for a in await r.json()] == ["survivor"]
        async with http.post(second.url + "/api/benchmarks/tasks", json={**TASK, "slug": "echo-2"},
                             headers=auth) as r:
            assert r.status == 403, await r.text()
    second.proc.send_signal(signal.SIGINT)  # Ctrl-C
    assert second.proc.wait(30) == 0


async def test_sigkill_leaves_no_orphans_and_next_start_works(serve) -> None:
    first = serve()
    first.start()
    await first.wait_ready()
    pids = first.service_pids()
    first.proc.kill()
    first.proc.wait()
    assert _gone(pids), "embedded services were orphaned by a crash"
    second = serve()
    second.start()
    await second.wait_ready()
    second.proc.terminate()
    assert second.proc.wait(30) == 0


async def test_second_server_on_same_data_dir_is_refused_clearly(serve) -> None:
    first = serve()
    first.start()
    await first.wait_ready()
    second = serve()
    second.start()
    assert second.proc.wait(30) != 0
    assert "in use by pid" in second.log.read_text()
    assert first.proc.poll() is None
    first.proc.terminate()
    first.proc.wait(30)


async def test_demo_shows_battles_in_progress_within_a_minute(serve, tmp_path, monkeypatch) -> None:
    """Two battles side by side, four different fighters, each with a judge and a commentator."""
    monkeypatch.setenv("ARENA_CONFIG_DIR", str(tmp_path / "visitor-config"))
    demo = serve()
    demo.start("--demo")
    await demo.wait_ready()
    async with aiohttp.ClientSession() as http:
        for _ in range(600):
            async with http.get(demo.url + "/api/battles", params={"live": "true"}) as r:
                live = [b for b in await r.json() if b["status"] == "IN_PROGRESS"]
            snaps = []
            for b in live:
                async with http.get(f"{demo.url}/api/battles/{b['id']}") as r:
                    snaps.append(await r.json())
            if len(snaps) == 2 and all(s["turns"] for s in snaps):
                break
            await asyncio.sleep(0.1)
        else:
            raise AssertionError("no two demo battles in progress:\n" + demo.log.read_text())
    fighters = {p["agent"]["name"] for s in snaps for p in s["battle"]["participants"] if p["agent"]}
    assert all(s["battle"]["has_judge"] and s["battle"]["has_commentator"] for s in snaps)
    assert len(fighters) == 4 or any(s["battle"]["blind"] for s in snaps), fighters
    assert len({s["battle"]["topic"] for s in snaps}) == 2  # no topic twice while another is unused
    assert all(s["turns"][0]["content"] for s in snaps)
    # a crew works through the sample scenario in public: a simulation with an output streaming or made
    async with aiohttp.ClientSession() as http:
        for _ in range(600):
            async with http.get(demo.url + "/api/simulations") as r:
                sims = (await r.json())["items"]
            if sims:
                async with http.get(f"{demo.url}/api/simulations/{sims[-1]['id']}") as r:
                    sim = await r.json()
                if any(t["progress"] or t["output"] for t in sim["tasks"]):
                    break
            await asyncio.sleep(0.1)
        else:
            raise AssertionError("no demo simulation at work:\n" + demo.log.read_text())
    assert sim["is_public"] and sim["status"] in ("running", "completed"), sim
    assert {m["name"] for m in sim["crew"]} == {"crew-researcher", "crew-analyst", "crew-writer"}
    # and a bot of one's own gets an opponent: the demo's sparring partner
    result = await asyncio.wait_for(sdk.play_one_battle(url=demo.url, name="visitor-bot", say=lambda line: None,
                                                        max_turns=2, voting_duration_ms=300), 120)
    opponents = {p["agent"]["name"] for p in result["battle"]["participants"]} - {"visitor-bot"}
    assert result["battle"]["status"] == "COMPLETED" and opponents == {"demo-hypatia"}
    demo_pids = [c.pid for c in psutil.Process(demo.proc.pid).children() if "demo.py" in " ".join(c.cmdline())]
    assert len(demo_pids) == 1
    demo.proc.terminate()
    assert demo.proc.wait(30) == 0
    assert _gone(demo_pids), "the demo agents outlived the server"


async def test_stop_closes_client_websockets_going_away(serve) -> None:
    """At shutdown the server closes open websockets itself (1001 going away) instead of leaving them
    to hold the stop for its whole timeout, or to die with the process (1006)."""
    srv = serve()
    srv.start()
    await srv.wait_ready()
    ws_url = srv.url.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket"
    async with aiohttp.ClientSession() as http:
        async with http.ws_connect(ws_url) as ws:
            assert (await ws.receive_str()).startswith("0{")
            await ws.send_str("40/spectate,")
            assert (await ws.receive_str()).startswith("40/spectate")
            srv.proc.send_signal(signal.SIGTERM)
            while True:
                msg = await asyncio.wait_for(ws.receive(), 30)
                if msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.CLOSING):
                    break
                if msg.type == aiohttp.WSMsgType.TEXT and msg.data == "2":
                    await ws.send_str("3")
            assert ws.close_code == aiohttp.WSCloseCode.GOING_AWAY
    assert await asyncio.to_thread(srv.proc.wait, 30) == 0
