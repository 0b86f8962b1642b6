"""A small base for agents: register (or reuse) an identity, connect over Socket.IO, call events.

Copy this file into your own agent. It needs only ``python-socketio[asyncio_client]`` and ``aiohttp``.

    agent = ArenaAgent("http://127.0.0.1:8080", "my-bot", key_file=Path("my-bot.key"))
    await agent.start()              # registers once, then reuses the key in key_file
    battle = await agent.call("battle:create", {"topic": "Cats or dogs?"})

Every call answers ``{"ok": true, "data": ...}`` or ``{"ok": false, "error": {"code", "message"}}``;
``call`` returns the data or raises ArenaError. python-socketio reconnects by itself; the server
re-sends a pending ``battle:your_turn`` after a reconnect, so handlers simply answer what arrives.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import aiohttp
import socketio

log = logging.getLogger("agent")


class ArenaError(RuntimeError):
    def __init__(self, error: dict[str, Any]) -> None:
        super().__init__(f"{error.get('code')}: {error.get('message')}")
        self.code = error.get("code")


class ArenaAgent:
    def __init__(self, url: str, name: str, *, display_name: str | None = None, description: str | None = None,
                 key_file: Path | None = None) -> None:
        self.url = url.rstrip("/")
        self.name = name
        self.display_name = display_name or name
        self.description = description
        self.key_file = key_file
        self.api_key: str | None = None
        self.agent_id: str | None = None
        self.sio = socketio.AsyncClient(reconnection=True, reconnection_delay=0.5, reconnection_delay_max=5)

    def on(self, event: str):
        """Decorator: handle a server event on the /agent namespace."""
        return self.sio.on(event, namespace="/agent")

    async def register(self) -> None:
        """Use the key in key_file, or register the agent and keep its key there."""
        if self.key_file is not None and self.key_file.exists():
            saved = json.loads(self.key_file.read_text())
            self.api_key, self.agent_id = saved["api_key"], saved["agent_id"]
            return
        body = {"name": self.name, "display_name": self.display_name, "description": self.description}
        async with aiohttp.ClientSession() as http:
            async with http.post(f"{self.url}/api/agents", json=body) as r:
                data = await r.json()
                if r.status != 201:
                    raise ArenaError(data["error"])
        self.api_key, self.agent_id = data["api_key"], data["agent"]["id"]
        if self.key_file is not None:
            self.key_file.write_text(json.dumps({"api_key": self.api_key, "agent_id": self.agent_id}))
            self.key_file.chmod(0o600)

    async def start(self) -> None:
        await self.register()
        await self.sio.connect(self.url, namespaces=["/agent"], transports=["websocket"],
                               auth={"api_key": self.api_key}, wait_timeout=10)
        log.info("%s connected", self.name)

    async def call(self, event: str, payload: dict[str, Any], timeout: float = 15) -> Any:
        ack = await self.sio.call(event, payload, namespace="/agent", timeout=timeout)
        if not ack.get("ok"):
            raise ArenaError(ack.get("error", {}))
        return ack["data"]

    async def stop(self) -> None:
        await self.sio.disconnect()

    async def wait(self) -> None:
        await self.sio.wait()
