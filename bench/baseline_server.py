"""The baseline: a bare python-socketio server that only broadcasts.

Same library, same async mode (aiohttp), same event loop (uvloop when installed, like the arena),
default in-memory client manager, no database, no Redis, no validation, no rate limits, no
sessions. It speaks the subset of the arena's protocol bench/fanout.py uses, with payloads of the
same shape, so the benchmark drives both servers with the same code:

- ``/agent``: ``battle:create`` → ack ``{"ok": true, "data": {"id", "room_code"}}``;
  ``battle:join {"room_code"}``, after which seat A gets ``battle:your_turn``;
  ``battle:turn {"battle_id", "content"}`` → the room gets ``battle:turn`` and ``battle:turn_started``
  (or ``battle:status`` after the last turn), the next seat gets ``battle:your_turn``, the ack
  returns the turn.
- ``/spectate``: ``battle:watch {"battle_id"}`` → enters the room, ack ``{"ok": true, "data": {...}}``.

Room events are sent like the arena sends them: the ``{"room", "seq", "type", "data", "at"}``
envelope, emitted to the room on ``/agent`` and on ``/spectate``, one emit per event and namespace.

Run: ``python bench/baseline_server.py --port 8801`` (GET /readyz answers 200 once it listens).
"""

from __future__ import annotations

import argparse
import secrets
import uuid
from datetime import UTC, datetime

import socketio
from aiohttp import web

AGENT_NS = "/agent"
SPECTATE_NS = "/spectate"
NAMESPACES = (AGENT_NS, SPECTATE_NS)


class Battle:
    def __init__(self, max_turns: int) -> None:
        self.id = str(uuid.uuid4())
        self.room = f"battle:{self.id}"
        self.room_code = "".join(secrets.choice("ABCDEFGHJKMNPQRSTUVWXYZ23456789") for _ in range(6))
        self.max_turns = max_turns
        self.seats: list[tuple[str, str]] = []  # (sid, agent id)
        self.turn = 0  # turns played
        self.seq = 0
        self.status = "WAITING"


def now_iso() -> str:
    return datetime.now(UTC).isoformat()


def create_app() -> web.Application:
    sio = socketio.AsyncServer(async_mode="aiohttp", cors_allowed_origins="*", logger=False,
                               engineio_logger=False, max_http_buffer_size=256 * 1024)
    app = web.Application()
    sio.attach(app, socketio_path="socket.io")
    battles: dict[str, Battle] = {}
    by_code: dict[str, Battle] = {}

    async def publish(b: Battle, type_: str, data: dict) -> None:
        b.seq += 1
        payload = {"room": b.room, "seq": b.seq, "type": type_, "data": data, "at": now_iso()}
        for ns in NAMESPACES:
            await sio.emit(type_, payload, room=b.room, namespace=ns)

    async def prompt(b: Battle) -> None:
        seat = b.turn % len(b.seats)
        sid, _ = b.seats[seat]
        await publish(b, "battle:turn_started", {"battle_id": b.id, "turn_number": b.turn + 1, "seat": "AB"[seat],
                                                 "deadline_at": now_iso()})
        await sio.emit("battle:your_turn", {"battle_id": b.id, "room_code": b.room_code, "turn_number": b.turn + 1,
                                            "seat": "AB"[seat], "max_turns": b.max_turns},
                       to=sid, namespace=AGENT_NS)

    @sio.on("connect", namespace=AGENT_NS)
    async def connect_agent(sid: str, environ: dict, auth: object = None) -> None:
        await sio.save_session(sid, {"agent_id": str(uuid.uuid4())}, namespace=AGENT_NS)

    @sio.on("connect", namespace=SPECTATE_NS)
    async def connect_spectator(sid: str, environ: dict, auth: object = None) -> None:
        return None

    @sio.on("battle:create", namespace=AGENT_NS)
    async def create(sid: str, body: dict) -> dict:
        b = Battle(int(body.get("max_turns", 10)))
        battles[b.id] = by_code[b.room_code] = b
        b.seats.append((sid, (await sio.get_session(sid, namespace=AGENT_NS))["agent_id"]))
        await sio.enter_room(sid, b.room, namespace=AGENT_NS)
        return {"ok": True, "data": {"id": b.id, "room_code": b.room_code, "status": b.status}}

    @sio.on("battle:join", namespace=AGENT_NS)
    async def join(sid: str, body: dict) -> dict:
        b = by_code.get(body.get("room_code", ""))
        if b is None or len(b.seats) >= 2:
            return {"ok": False, "error": {"code": "battle.not_found", "message": "no such lobby", "details": None}}
        b.seats.append((sid, (await sio.get_session(sid, namespace=AGENT_NS))["agent_id"]))
        await sio.enter_room(sid, b.room, namespace=AGENT_NS)
        b.status = "IN_PROGRESS"
        sio.start_background_task(prompt, b)
        return {"ok": True, "data": {"id": b.id, "room_code": b.room_code, "status": b.status}}

    @sio.on("battle:turn", namespace=AGENT_NS)
    async def turn(sid: str, body: dict) -> dict:
        b = battles.get(body.get("battle_id", ""))
        if b is None or b.status != "IN_PROGRESS" or b.seats[b.turn % len(b.seats)][0] != sid:
            return {"ok": False, "error": {"code": "battle.not_your_turn", "message": "not your turn",
                                           "details": None}}
        seat = b.turn % len(b.seats)
        b.turn += 1
        view = {"battle_id": b.id, "turn_number": b.turn, "seat": "AB"[seat], "agent_id": b.seats[seat][1],
                "content": body.get("content", ""), "duration_ms": 1, "timed_out": False, "commentary": None,
                "tokens": None, "cost": None, "created_at": now_iso()}
        await publish(b, "battle:turn", view)
        if b.turn >= b.max_turns:
            b.status = "VOTING"
            await publish(b, "battle:status", {"battle_id": b.id, "status": b.status, "previous": "IN_PROGRESS",
                                               "deadline_at": None, "current_turn": b.turn})
        else:
            await prompt(b)
        return {"ok": True, "data": view}

    @sio.on("battle:watch", namespace=SPECTATE_NS)
    async def watch(sid: str, body: dict) -> dict:
        b = battles.get(body.get("battle_id", ""))
        if b is None:
            return {"ok": False, "error": {"code": "room.not_found", "message": "no such room", "details": None}}
        await sio.enter_room(sid, b.room, namespace=SPECTATE_NS)
        return {"ok": True, "data": {"room": b.room, "snapshot": {"id": b.id, "status": b.status}, "events": [],
                                     "last_seq": b.seq}}

    async def readyz(request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    app.router.add_get("/readyz", readyz)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8801)
    args = parser.parse_args()
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    web.run_app(create_app(), host=args.host, port=args.port, print=None, access_log=None, shutdown_timeout=2)


if __name__ == "__main__":
    main()
