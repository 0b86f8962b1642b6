// The Node baseline: the official socket.io server, speaking exactly what bench/baseline_server.py speaks.
//
// A port of bench/baseline_server.py (read its docstring for the protocol): same namespaces, events,
// acks and payload shapes, battles in a Map, default in-memory adapter, no database, no validation,
// no rate limits, auth ignored. bench/fanout.py drives it with the same agents and spectators.
//
// - /agent: battle:create -> ack {ok, data: {id, room_code, status}}; battle:join {room_code}, after
//   which seat A gets battle:your_turn; battle:turn {battle_id, content} -> the room gets battle:turn
//   and battle:turn_started (or battle:status after the last turn), the next seat gets
//   battle:your_turn, the ack returns the turn.
// - /spectate: battle:watch {battle_id} -> enters the room, ack {ok, data: {...}}.
//
// Room events use the arena's {room, seq, type, data, at} envelope, emitted to the room on /agent and
// on /spectate, one emit per event and namespace.
//
// Run: node bench/node/baseline_server.js --port 8802 (GET /readyz answers 200 once it listens).
"use strict";

const { createServer } = require("node:http");
const { randomInt, randomUUID } = require("node:crypto");
const { performance } = require("node:perf_hooks");
const { parseArgs } = require("node:util");
const { Server } = require("socket.io");

const AGENT_NS = "/agent";
const SPECTATE_NS = "/spectate";
const CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789";

class Battle {
  constructor(maxTurns) {
    this.id = randomUUID();
    this.room = `battle:${this.id}`;
    this.room_code = Array.from({ length: 6 }, () => CODE_ALPHABET[randomInt(CODE_ALPHABET.length)]).join("");
    this.maxTurns = maxTurns;
    this.seats = []; // {socket, agentId}
    this.turn = 0; // turns played
    this.seq = 0;
    this.status = "WAITING";
  }
}

/** The time as Python's datetime.now(UTC).isoformat() writes it (microseconds, +00:00). */
function nowIso() {
  const ms = performance.timeOrigin + performance.now();
  const whole = Math.floor(ms);
  const micros = String(Math.floor((ms - whole) * 1000)).padStart(3, "0");
  return `${new Date(whole).toISOString().slice(0, -1)}${micros}+00:00`;
}

/** Register a handler whose return value is the ack, like a python-socketio handler's. */
function on(socket, event, handler) {
  socket.on(event, (body, ack) => {
    const result = handler(body ?? {});
    if (typeof ack === "function") ack(result);
  });
}

function readyz(req, res) {
  const path = new URL(req.url, "http://localhost").pathname;
  if (path === "/readyz" && (req.method === "GET" || req.method === "HEAD")) {
    res.writeHead(200, { "Content-Type": "application/json; charset=utf-8" });
    res.end('{"status": "ok"}'); // as aiohttp's json_response writes it
  } else {
    res.writeHead(404, { "Content-Type": "text/plain; charset=utf-8" });
    res.end("404: Not Found");
  }
}

function createApp() {
  const http = createServer(readyz);
  const io = new Server(http, {
    path: "/socket.io",
    serveClient: false,
    cors: { origin: "*" },
    maxHttpBufferSize: 256 * 1024,
  });
  const agents = io.of(AGENT_NS);
  const spectators = io.of(SPECTATE_NS);
  const battles = new Map();
  const byCode = new Map();

  function publish(b, type, data) {
    b.seq += 1;
    const payload = { room: b.room, seq: b.seq, type, data, at: nowIso() };
    agents.to(b.room).emit(type, payload);
    spectators.to(b.room).emit(type, payload);
  }

  function prompt(b) {
    const seat = b.turn % b.seats.length;
    publish(b, "battle:turn_started", { battle_id: b.id, turn_number: b.turn + 1, seat: "AB"[seat],
                                        deadline_at: nowIso() });
    b.seats[seat].socket.emit("battle:your_turn", { battle_id: b.id, room_code: b.room_code,
                                                    turn_number: b.turn + 1, seat: "AB"[seat],
                                                    max_turns: b.maxTurns });
  }

  function sit(b, socket) {
    b.seats.push({ socket, agentId: socket.data.agentId });
    socket.join(b.room);
    return { ok: true, data: { id: b.id, room_code: b.room_code, status: b.status } };
  }

  function create(socket, body) {
    const b = new Battle(Number.parseInt(body.max_turns ?? 10, 10));
    battles.set(b.id, b);
    byCode.set(b.room_code, b);
    return sit(b, socket);
  }

  function join(socket, body) {
    const b = byCode.get(body.room_code ?? "");
    if (b === undefined || b.seats.length >= 2) {
      return { ok: false, error: { code: "battle.not_found", message: "no such lobby", details: null } };
    }
    b.status = "IN_PROGRESS";
    const ack = sit(b, socket);
    setImmediate(prompt, b); // python: sio.start_background_task(prompt, b)
    return ack;
  }

  function turn(socket, body) {
    const b = battles.get(body.battle_id ?? "");
    if (b === undefined || b.status !== "IN_PROGRESS" || b.seats[b.turn % b.seats.length].socket !== socket) {
      return { ok: false, error: { code: "battle.not_your_turn", message: "not your turn", details: null } };
    }
    const seat = b.turn % b.seats.length;
    b.turn += 1;
    const view = { battle_id: b.id, turn_number: b.turn, seat: "AB"[seat], agent_id: b.seats[seat].agentId,
                   content: body.content ?? "", duration_ms: 1, timed_out: false, commentary: null,
                   tokens: null, cost: null, created_at: nowIso() };
    publish(b, "battle:turn", view);
    if (b.turn >= b.maxTurns) {
      b.status = "VOTING";
      publish(b, "battle:status", { battle_id: b.id, status: b.status, previous: "IN_PROGRESS",
                                    deadline_at: null, current_turn: b.turn });
    } else {
      prompt(b);
    }
    return { ok: true, data: view };
  }

  function watch(socket, body) {
    const b = battles.get(body.battle_id ?? "");
    if (b === undefined) {
      return { ok: false, error: { code: "room.not_found", message: "no such room", details: null } };
    }
    socket.join(b.room);
    return { ok: true, data: { room: b.room, snapshot: { id: b.id, status: b.status }, events: [],
                               last_seq: b.seq } };
  }

  agents.on("connection", (socket) => {
    socket.data.agentId = randomUUID();
    on(socket, "battle:create", (body) => create(socket, body));
    on(socket, "battle:join", (body) => join(socket, body));
    on(socket, "battle:turn", (body) => turn(socket, body));
  });
  spectators.on("connection", (socket) => {
    on(socket, "battle:watch", (body) => watch(socket, body));
  });
  return { http, io };
}

function main() {
  const { values } = parseArgs({ options: { host: { type: "string", default: "127.0.0.1" },
                                            port: { type: "string", default: "8801" } } });
  const { http, io } = createApp();
  for (const signal of ["SIGINT", "SIGTERM"]) {
    process.once(signal, () => {
      io.close(() => process.exit(0));
      setTimeout(() => process.exit(0), 2000).unref(); // like the Python baseline's shutdown_timeout
    });
  }
  http.listen(Number.parseInt(values.port, 10), values.host);
}

main();
