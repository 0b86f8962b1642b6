// REST reads (the leaderboard, profiles, replays). Errors carry the server's stable code.

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export async function getJSON(path, params) {
  const url = new URL(path, location.origin);
  for (const [k, v] of Object.entries(params || {})) {
    if (v !== undefined && v !== null) url.searchParams.set(k, String(v));
  }
  let resp;
  try {
    resp = await fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
  } catch {
    throw new ApiError(0, "network", "The server cannot be reached.");
  }
  const body = await resp.json().catch(() => null);
  if (!resp.ok) {
    const err = body && body.error;
    throw new ApiError(resp.status, err?.code || "http." + resp.status, err?.message || resp.statusText);
  }
  return body;
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
