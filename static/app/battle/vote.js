// The audience vote (during VOTING) and the live tally.
//
// A vote carries an idempotency key; it is kept (per battle) until the server has answered, so a
// retry after a dropped connection is the same vote, never a second one.

import { h, fill } from "../dom.js";
import { seatLabel } from "../format.js";

function newKey() {
  if (globalThis.crypto?.randomUUID) return crypto.randomUUID(); // secure contexts (https, localhost)
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const hex = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

const store = {
  get(battleId) {
    try {
      return JSON.parse(localStorage.getItem(`arena:vote:${battleId}`)) || null;
    } catch {
      return null;
    }
  },
  set(battleId, value) {
    try {
      localStorage.setItem(`arena:vote:${battleId}`, JSON.stringify(value));
    } catch {
      // private mode: the vote still counts, the page just forgets it on reload
    }
  },
};

const ERRORS = {
  "battle.already_voted": "You have already voted in this battle.",
  "battle.wrong_state": "Voting is closed.",
  rate_limited: "Too many requests; try again in a moment.",
};

/** The vote panel. `conn` is null in a replay (tally only). */
export function votePanel(conn) {
  const el = h("section", { class: "card vote", "aria-labelledby": "vote-title", hidden: true });
  const title = h("h2", { id: "vote-title" }, "Audience vote");
  const buttons = h("div", { class: "vote-buttons" });
  const message = h("p", { class: "vote-message", role: "status" });
  const tally = h("ul", { class: "tally" });
  const total = h("p", { class: "tally-total muted" });
  el.append(title, buttons, message, tally, total);
  let state = null;
  let mine = null;
  let busy = false;

  async function cast(seat) {
    const battleId = state.battle.id;
    if (!mine || mine.seat !== seat || mine.done) mine = { seat, key: newKey(), done: false };
    store.set(battleId, mine);
    busy = true;
    message.textContent = "Sending your vote…";
    render();
    let ack;
    try {
      ack = await conn.call("battle:vote", { battle_id: battleId, target_seat: seat, idempotency_key: mine.key });
    } catch {
      ack = { ok: false, error: { code: "network", message: "The vote was not confirmed; try again." } };
    }
    busy = false;
    if (ack.ok) {
      mine = { ...mine, seat: ack.data.target_seat, done: true };
      store.set(battleId, mine);
      message.textContent = "";
    } else if (ack.error.code === "battle.already_voted") {
      mine = { seat: null, key: mine.key, done: true };
      store.set(battleId, mine);
      message.textContent = ERRORS[ack.error.code];
    } else {
      message.textContent = ERRORS[ack.error.code] || ack.error.message;
    }
    render();
  }

  function render() {
    const b = state.battle;
    const open = Boolean(conn) && b.status === "VOTING";
    const showTally = state.tally && ["VOTING", "JUDGING", "COMPLETED"].includes(b.status);
    el.hidden = !open && !showTally;
    if (el.hidden) return;
    title.textContent = open ? "Who argued best? Vote now" : "Audience vote";
    const fighters = state.participants.filter((p) => !p.forfeited);
    const showButtons = open && !(mine && mine.done);
    // Rebuilt only when something on them changes, so a tally arriving mid-click loses no click.
    const signature = showButtons ? JSON.stringify([busy, fighters.map((p) => [p.seat, seatLabel(p)])]) : "";
    if (signature !== buttons.dataset.signature) {
      buttons.dataset.signature = signature;
      fill(buttons, showButtons ? fighters.map((p) => h("button", {
        type: "button", class: `vote-btn seat-${p.seat}`, dataset: { seat: p.seat }, disabled: busy,
        onclick: () => cast(p.seat),
      }, h("span", { class: "avatar" }, p.seat), h("span", {}, seatLabel(p)))) : []);
    }
    if (conn && mine && mine.done && mine.seat) {
      const p = state.participants.find((x) => x.seat === mine.seat);
      message.textContent = `Your vote for ${seatLabel(p, mine.seat)} is in.`;
    }
    const counts = state.tally?.counts || {};
    const n = state.tally?.total || 0;
    const max = Math.max(1, ...Object.values(counts));
    fill(tally, state.participants.map((p) => {
      const c = counts[p.seat] || 0;
      return h("li", { class: `tally-row seat-${p.seat}`, dataset: { seat: p.seat } },
        h("span", { class: "avatar small" }, p.seat),
        h("span", { class: "tally-name", title: seatLabel(p) }, seatLabel(p)), // cut short: the title has it all
        h("span", { class: "tally-bar", "aria-hidden": "true" },
          h("span", { class: "tally-fill", style: { width: `${(100 * c) / max}%` } })),
        h("span", { class: "count", "aria-label": `${c} votes` }, String(c)));
    }));
    total.textContent = n === 1 ? "1 vote" : `${n} votes`;
  }

  return {
    el,
    update(next) {
      state = next;
      if (conn && mine === null && state.battle) mine = store.get(state.battle.id);
      render();
    },
  };
}
