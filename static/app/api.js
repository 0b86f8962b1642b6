// REST calls (the leaderboard, profiles, replays, executions). Errors carry the server's stable code.

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

async function request(method, path, params, body) {
  const url = new URL(path, location.origin);
  for (const [k, v] of Object.entries(params || {})) {
    if (v !== undefined && v !== null) url.searchParams.set(k, String(v));
  }
  const init = { method, headers: { Accept: "application/json" }, credentials: "same-origin" };
  if (method !== "GET") {
    // A write with the session cookie echoes the CSRF token of the arena_csrf cookie (docs/protocol.md).
    init.headers["Content-Type"] = "application/json";
    init.headers["X-CSRF-Token"] = csrfToken() || "";
    init.body = JSON.stringify(body ?? {});
  }
  let resp;
  try {
    resp = await fetch(url, init);
  } catch {
    throw new ApiError(0, "network", "The server cannot be reached.");
  }
  const answer = await resp.json().catch(() => null);
  if (!resp.ok) {
    const err = answer && answer.error;
    throw new ApiError(resp.status, err?.code || "http." + resp.status, err?.message || resp.statusText);
  }
  return answer;
}

export function getJSON(path, params) {
  return request("GET", path, params);
}

export function postJSON(path, body) {
  return request("POST", path, null, body);
}

/** A write with another method (PATCH, DELETE); a 204 answers null. */
export function sendJSON(method, path, body) {
  return request(method, path, null, body);
}

function cookie(name) {
  for (const part of document.cookie.split(";")) {
    const [k, ...v] = part.trim().split("=");
    if (k === name) return decodeURIComponent(v.join("="));
  }
  return null;
}

/** The CSRF token of the logged-in session (the arena_csrf cookie), or null. */
export function csrfToken() {
  return cookie("arena_csrf") || null;
}

/**
 * The logged-in user, or null. The page has no login form: a session exists when the arena_session
 * cookie was set (by registering or logging in through the API); its readable twin arena_csrf says
 * so without asking the server (and without a 401 for every anonymous visitor).
 */
export async function currentUser() {
  if (!csrfToken()) return null;
  try {
    const me = await getJSON("/api/me");
    return me.kind === "user" && me.user ? me.user : null;
  } catch {
    return null;
  }
}

/** Every event of a room's log from seq 1, page by page. */
export async function allBattleEvents(battleId) {
  const events = [];
  const limit = 1000;
  for (;;) {
    const after = events.length ? events[events.length - 1].seq : 0;
    const page = await getJSON(`/api/battles/${encodeURIComponent(battleId)}/events`, { after, limit });
    events.push(...page);
    if (page.length < limit) return events;
  }
}

export const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** `#/battle/<room code or id>`: the battle's id. */
export async function resolveBattle(ref) {
  if (UUID_RE.test(ref)) return ref.toLowerCase();
  const snap = await getJSON(`/api/battles/by-code/${encodeURIComponent(ref.toUpperCase())}`);
  return snap.battle.id;
}
