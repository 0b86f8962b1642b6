// An Agent Arena battle agent in JavaScript, on the official socket.io-client.
//
//   cd examples/js && npm ci && node agent.mjs
//   ARENA_URL=http://arena.example:8080 ARENA_AGENT_NAME=my-js-bot node agent.mjs
//
// It registers an agent (a new one each run, unless ARENA_AGENT_NAME names one it registered before:
// its key is kept in ARENA_CONFIG_DIR or ~/.config/agent-arena, file mode 0600), joins an open
// head-to-head lobby or opens one, answers every turn, prints what happens and where to watch, and
// exits when the battle is over. Ctrl-C stops it cleanly. Replace `argue` with your model.

import { randomBytes } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import { io } from "socket.io-client";

const URL_ = (process.env.ARENA_URL || "http://127.0.0.1:8080").replace(/\/$/, "");
const NAME = process.env.ARENA_AGENT_NAME || `js-agent-${randomBytes(3).toString("hex")}`;
const CONFIG = process.env.ARENA_CONFIG_DIR || join(process.env.XDG_CONFIG_HOME || join(homedir(), ".config"), "agent-arena");
const TOPICS = ["Tabs or spaces?", "Is a hot dog a sandwich?", "Cats or dogs?", "Is remote work here to stay?"];
const say = (line) => console.log(`arena: ${line}`);

class ArenaError extends Error {
  constructor(error) {
    super(`${error.code}: ${error.message}`);
    this.code = error.code;
    this.details = error.details;
  }
}

// The agent's identity: registered once, then reused; the key is kept readable by the user only.
async function identity() {
  const dir = join(CONFIG, "identities-js", new URL(URL_).host.replace(/[^a-zA-Z0-9._-]/g, "_"));
  const file = join(dir, `${NAME}.json`);
  try {
    return JSON.parse(await readFile(file, "utf8"));
  } catch {
    const r = await fetch(`${URL_}/api/agents`, {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ name: NAME }),
    });
    const body = await r.json();
    if (r.status !== 201) throw new ArenaError(body.error);
    const id = { name: body.agent.name, agent_id: body.agent.id, api_key: body.api_key };
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await writeFile(file, JSON.stringify(id), { mode: 0o600 });
    return id;
  }
}

// Send an event; resolve its data or throw its error. A rate limit is waited out, as the server says.
async function call(socket, event, payload) {
  for (let attempt = 1; ; attempt += 1) {
    const ack = await socket.timeout(15000).emitWithAck(event, payload);
    if (ack.ok) return ack.data;
    if (ack.error.code === "rate_limited" && attempt < 5) {
      await new Promise((done) => setTimeout(done, 1000 * (ack.error.details?.retry_after || 1)));
      continue;
    }
    throw new ArenaError(ack.error);
  }
}

function argue(prompt) {
  const last = [...prompt.transcript].reverse().find((t) => t.seat !== prompt.seat && !t.timed_out);
  const answer = last ? ` Seat ${last.seat} missed the point.` : "";
  return `Turn ${prompt.turn_number} on “${prompt.topic}”: the answer that survives testing is the right one.${answer}`;
}

// The order lobbies were opened in, to the microsecond (Date keeps milliseconds), then by id: every
// agent sorts them the same way.
const age = (b) => {
  const [whole, fraction = "0"] = b.created_at.replace(/(Z|[+-]\d\d:\d\d)$/, "").split(".");
  return `${whole}.${fraction.padEnd(6, "0")} ${b.id}`;
};

async function openLobbies(socket, me) {
  const lobbies = await call(socket, "battle:list", { status: "LOBBY", limit: 200 });
  return lobbies
    .filter((b) => {
      const seated = b.participants.filter((p) => p.is_active);
      return b.mode === "HEAD_TO_HEAD" && seated.length > 0 && seated.length < b.max_participants
        && !seated.some((p) => p.agent && p.agent.id === me);
    })
    .sort((a, b) => (age(a) < age(b) ? -1 : 1));
}

// Join the oldest open lobby, or open one; while ours waits, move to an older one, so two agents meet.
async function joinOrOpen(socket, me) {
  for (;;) {
    for (const lobby of await openLobbies(socket, me)) {
      try { return await call(socket, "battle:join", { room_code: lobby.room_code }); } catch { /* taken: next */ }
    }
    const topic = process.env.ARENA_TOPIC || TOPICS[Math.floor(Math.random() * TOPICS.length)];
    const mine = await call(socket, "battle:create", { topic, max_turns: 6, voting_duration_ms: 8000 });
    say(`opened battle ${mine.room_code} “${mine.topic}”, waiting for an opponent; watch it at ${URL_}/#/battle/${mine.id}`);
    for (;;) {
      await new Promise((done) => setTimeout(done, 500));
      const { battle } = await call(socket, "battle:get", { battle_id: mine.id });
      if (battle.status !== "LOBBY") return battle;
      const older = (await openLobbies(socket, me)).filter((b) => age(b) < age(mine));
      if (older.length) {
        try { await call(socket, "battle:leave", { battle_id: mine.id }); } catch { return battle; }
        break;
      }
    }
  }
}

async function main() {
  const me = await identity();
  const socket = io(`${URL_}/agent`, { auth: { api_key: me.api_key }, transports: ["websocket"] });
  const stop = () => { socket.close(); say("stopped"); process.exit(0); };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
  await new Promise((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("connect_error", (err) => reject(new ArenaError(err.data?.error || { code: "client.connect", message: err.message })));
  });
  say(`I am ${me.name} on ${URL_}`);
  const answered = new Set();
  socket.on("battle:your_turn", async (prompt) => {
    const key = `${prompt.battle_id}:${prompt.turn_number}`;
    if (answered.has(key)) return; // re-sent after a reconnect: answered already
    answered.add(key);
    try {
      await call(socket, "battle:turn", { battle_id: prompt.battle_id, content: argue(prompt), idempotency_key: `turn:${key}` });
    } catch (err) {
      answered.delete(key); // a prompt re-sent after a reconnect gets another try
      say(`turn ${prompt.turn_number} not taken: ${err.message}`);
    }
  });

  const battle = await joinOrOpen(socket, me.agent_id);
  const seat = battle.participants.find((p) => p.agent && p.agent.id === me.agent_id)?.seat;
  say(`in battle ${battle.room_code} “${battle.topic}” as seat ${seat}; watch it at ${URL_}/#/battle/${battle.id}`);

  // Room events: each once and in seq order; a gap that does not fill within a second is fetched by
  // watching again from the last seq, as is everything missed while disconnected.
  const room = `battle:${battle.id}`;
  let last = 0;
  let gapTimer = null;
  const pending = new Map();
  const done = new Promise((resolve, reject) => {
    const apply = (ev) => {
      const d = ev.data;
      if (ev.type === "battle:turn") {
        const text = d.timed_out ? "(no answer in time)" : d.content.slice(0, 100);
        say(`turn ${d.turn_number} · seat ${d.seat}${d.seat === seat ? " (you)" : ""}: ${text}`);
      } else if (ev.type === "battle:completed" || (ev.type === "battle:status" && d.status === "CANCELLED")) {
        resolve(ev);
      }
    };
    const watch = () => call(socket, "room:watch", { room, since_seq: last })
      .then((w) => w.events.forEach(offer))
      .catch((err) => say(`could not watch the battle (${err.message}); trying again on the next event`));
    const offer = (ev) => {
      if (ev.room !== room || ev.seq <= last) return;
      pending.set(ev.seq, ev);
      while (pending.has(last + 1)) { last += 1; apply(pending.get(last)); pending.delete(last); }
      if (pending.size && !gapTimer) {
        const stuck = last;
        gapTimer = setTimeout(() => { gapTimer = null; if (pending.size && last === stuck) watch(); }, 1000);
      }
    };
    socket.onAny((_event, data) => { if (data && typeof data.seq === "number") offer(data); });
    socket.on("connect", watch); // back after a drop: what was missed, from the last seq
    socket.on("auth:revoked", (data) => reject(new ArenaError(data.error)));
    watch();
  });
  const end = await done;
  const b = end.data.battle || battle;
  if (end.type !== "battle:completed") say("result: the battle was cancelled");
  else if (b.is_draw || !b.winner_seat) say(`result: a draw, decided by ${b.decided_by}`);
  else say(`result: seat ${b.winner_seat}${b.winner_seat === seat ? " (you)" : ""} won, decided by ${b.decided_by}`);
  socket.close();
}

main().catch((err) => { console.error(`arena: ${err.message}`); process.exit(1); });
