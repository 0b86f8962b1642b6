"""Crew members for the simulation tests: real python-socketio clients that answer simulation:task
(in the ack, by default) and record everything they receive."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import socketio

from .support import Api, Recorder


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
