"""Crew members for the simulation tests: real python-socketio clients that answer simulation:task
(in the ack, by default) and record everything they receive."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import socketio

from .support import Api, Recorder, eventually


class Member:
    """An agent connected on /agent. ``on_task(payload)`` gives the ack of ``simulation:task``
    (default: ``{"output": "<name> did <title>"}``); ``on_message`` the ack of ``simulation:message``."""

    def __init__(self, url: str, name: str, key: str, agent: dict) -> None:
        self.url, self.name, self.key, self.agent = url, name, key, agent
        self.id = agent["id"]
        self.rec = Recorder()
        self.client: socketio.AsyncClient | None = None
        self.on_task: Callable[[dict], Awaitable[Any]] = self.answer_in_ack
        self.on_message: Callable[[dict], Awaitable[Any]] = self.respond_in_ack

    async def answer_in_ack(self, payload: dict) -> Any:
        return {"output": f"{self.name} did {payload['task']['title']}"}

    async def respond_in_ack(self, payload: dict) -> Any:
        return {"response": f"{self.name} heard: {payload['message']}"}

    async def connect(self) -> Member:
        client = socketio.AsyncClient(reconnection=False)

        @client.on("*", namespace="/agent")
        async def _any(event: str, data: Any = None) -> Any:
            await self.rec.add(event, data)
            if event == "simulation:task":
                return await self.on_task(data)
            if event == "simulation:message":
                return await self.on_message(data)
            return None

        await client.connect(self.url, namespaces=["/agent"], transports=["websocket"], auth={"api_key": self.key},
                             wait_timeout=5)
        self.client = client
        return self

    async def emit(self, event: str, data: Any) -> Any:
        assert self.client is not None
        return await self.client.call(event, data, namespace="/agent", timeout=10)

    async def disconnect(self) -> None:
        if self.client is not None:
            await self.client.disconnect()
            self.client = None

    def tasks(self) -> list[dict]:
        return self.rec.of("simulation:task")


async def new_member(api: Api, url: str, name: str, owner_token: str, *, role: str | None = None,
                     category: str | None = None, public: bool = False, connect: bool = True) -> Member:
    agent, key = await api.new_agent(name, token=owner_token)
    profile = {"is_public": public}
    if role is not None:
        profile["role"] = role
    if category is not None:
        profile["category"] = category
    r = await api.patch(f"/api/agents/{agent['id']}", profile, token=owner_token)
    assert r.status == 200, r.body
    m = Member(url, name, key, agent)
    return await m.connect() if connect else m


async def scenario_and_tasks(api: Api, token: str, titles: list[str], **task_fields: Any) -> tuple[dict, list[dict]]:
    sc = await api.post("/api/scenarios", {"title": "Acme price war", "description": "A rival cut prices by 20%.",
                                           "industry": "retail", "challenge": "Keep the margin"}, token=token)
    assert sc.status == 201, sc.body
    tasks = []
    for title in titles:
        r = await api.post("/api/tasks", {"title": title, "description": f"Do {title}", **task_fields}, token=token)
        assert r.status == 201, r.body
        tasks.append(r.body)
    return sc.body, tasks


async def simulation(api: Api, token: str, sim_id: str) -> dict:
    r = await api.get(f"/api/simulations/{sim_id}", token=token)
    assert r.status == 200, r.body
    return r.body


async def ended(api: Api, token: str, sim_id: str, timeout: float = 10) -> dict:
    """The simulation once it has ended (completed, failed, failed_missing_resources or cancelled)."""
    async def done():
        s = await simulation(api, token, sim_id)
        return s if s["status"] in ("completed", "failed", "failed_missing_resources", "cancelled") else None

    return await eventually(done, timeout=timeout, what="the simulation's end")


async def create_simulation(api: Api, token: str, scenario: dict, crew: list[tuple], **settings: Any) -> dict:
    """``crew``: (member, [task, ...]) pairs, in order."""
    r = await api.post("/api/simulations", {"scenario_id": scenario["id"],
                                            "crew": [{"agent_id": m.id, "task_ids": [t["id"] for t in ts]}
                                                     for m, ts in crew], **settings}, token=token)
    assert r.status == 201, r.body
    return r.body


async def hold_tasks(member: Member) -> asyncio.Event:
    """Make ``member`` hold its tasks (ack without output) until the returned event is set; then it
    answers with simulation:task_result."""
    release = asyncio.Event()

    async def hold(payload: dict) -> dict:
        async def later() -> None:
            await release.wait()
            await member.emit("simulation:task_result", {"simulation_id": payload["simulation_id"],
                                                         "task_run_id": payload["task_run_id"],
                                                         "output": f"held {payload['task']['title']}"})

        asyncio.get_running_loop().create_task(later())
        return {}

    member.on_task = hold
    return release
