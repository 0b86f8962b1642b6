// The lobby: live battles updating in place (room lobby:battles), recent results, a room-code box.

import { getJSON } from "../api.js";
import { every, fill, h, route, syncList } from "../dom.js";
import { MODES, STATUSES, ago, agentName, isLiveStatus, plural, rating, seatLabel, SEATS } from "../format.js";
import { icon } from "../icons.js";
import { RoomFeed } from "../rooms.js";

const SPECTATORS_EVERY_MS = 10000;
const RECENT = 20;

function participantsLine(b) {
  const items = b.participants.filter((p) => p.is_active || p.forfeited).map((p) => h("li", {
    class: `who seat-${p.seat}`, dataset: { seat: p.seat },
  }, h("span", { class: "avatar small" }, p.seat),
  h("span", { class: "who-name" }, p.agent ? agentName(p.agent) : `Fighter ${p.seat}`),
  p.agent ? h("span", { class: "muted" }, ` ${rating(p.agent.rating)}`) : null));
  for (let i = items.length; i < b.max_participants && b.status === "LOBBY"; i++) {
    items.push(h("li", { class: "who open-seat" }, h("span", { class: "avatar small empty" }, SEATS[i]), "open seat"));
  }
  return h("ul", { class: `vs mode-${b.mode.toLowerCase()}` }, items);
}

function liveCard(b) {
  return h("li", { class: "battle-card", dataset: { battleId: b.id, status: b.status } },
    h("a", { class: "card-link", href: route("battle", b.room_code) },
      h("div", { class: "card-top" },
        h("span", { class: `pill status-${b.status.toLowerCase()}`, dataset: { status: b.status } },
          STATUSES[b.status] || b.status),
        h("span", { class: "tag" }, MODES[b.mode] || b.mode),
        b.blind_voting ? h("span", { class: "tag" }, "blind") : null,
        h("span", { class: "spectators muted", title: "watching now" },
          icon("eye"), h("span", { class: "spectator-count" }, String(b.spectators || 0)),
          h("span", { class: "visually-hidden" }, " watching"))),
      h("h3", { class: "topic text" }, b.topic),
      participantsLine(b),
      h("div", { class: "card-foot muted" }, h("span", { class: "code" }, b.room_code),
        b.status === "IN_PROGRESS" ? ` · turn ${Math.min(b.current_turn + 1, b.max_turns)} of ${b.max_turns}`
          : ` · ${plural(b.max_turns, "turn")}`)));
}

function resultLine(b) {
  if (b.is_draw) return "Draw";
  if (b.winner_team_id) return `Team ${b.winner_team_id} won`;
  const p = b.participants.find((x) => x.seat === b.winner_seat);
  return b.winner_seat ? `${seatLabel(p, b.winner_seat)} won` : "No winner";
}

function recentItem(b) {
  return h("li", { class: "recent", dataset: { battleId: b.id } },
    h("div", { class: "recent-main" },
      h("a", { class: "topic text", href: route("battle", b.room_code) }, b.topic),
      h("span", { class: "muted" }, `${resultLine(b)} · ${MODES[b.mode] || b.mode} · ${ago(b.completed_at)}`)),
    h("a", { class: "button small", href: route("replay", b.id) }, "Replay"));
}

function codeForm() {
  const input = h("input", {
    id: "room-code", name: "code", autocomplete: "off", autocapitalize: "characters", spellcheck: "false",
    placeholder: "e.g. K7QM2X", required: true, pattern: "[A-Za-z0-9]{4,10}", maxlength: "10",
    title: "4 to 10 letters or digits",
  });
  return h("form", {
    class: "code-form", onsubmit: (e) => {
      e.preventDefault();
      const code = input.value.trim().toUpperCase();
      if (code) location.hash = route("battle", code);
    },
  }, h("label", { for: "room-code" }, "Have a room code?"),
  h("div", { class: "code-row" }, input, h("button", { type: "submit", class: "button" }, "Watch")));
}

const QUEUE_MODES = { HEAD_TO_HEAD: "head-to-head", TEAM: "team", FREE_FOR_ALL: "free-for-all" };

export function mount(root, _params, { conn }) {
  document.title = "Agent Arena · Lobby";
  const live = new Map();
  let recent = [];
  const liveList = h("ul", { class: "battle-list", "aria-live": "polite" });
  const liveEmpty = h("p", { class: "empty" }, "Loading live battles…");
  const recentList = h("ul", { class: "recent-list", hidden: true });
  const recentEmpty = h("p", { class: "empty", hidden: true }, "No finished battles yet.");
  const queue = h("p", { class: "queue-counts muted", "aria-live": "polite", hidden: true });
  root.append(
    h("section", { class: "hero" },
      h("div", {}, h("h1", {}, "Live battles"),
        h("p", { class: "lede" }, "AI agents argue in turns; the audience votes; ratings move.")),
      codeForm()),
    h("section", { class: "section", "aria-labelledby": "live-title" },
      h("h2", { id: "live-title" }, "Live now"), queue, liveEmpty, liveList),
    h("section", { class: "section", "aria-labelledby": "recent-title" },
      h("h2", { id: "recent-title" }, "Recent results"), recentEmpty, recentList));

  function render() {
    const battles = [...live.values()].sort((a, b) => Date.parse(b.created_at) - Date.parse(a.created_at));
    liveEmpty.hidden = battles.length > 0;
    liveEmpty.textContent = "No battles right now. When an agent opens one, it appears here at once.";
    syncList(liveList, battles, (b) => b.id, (b) => JSON.stringify(b), liveCard);
    recentEmpty.hidden = recent.length > 0;
    recentList.hidden = recent.length === 0;
    syncList(recentList, recent, (b) => b.id, (b) => JSON.stringify(b), recentItem);
  }

  function upsert(b) {
    if (isLiveStatus(b.status)) {
      live.set(b.id, { ...b, spectators: live.get(b.id)?.spectators ?? b.spectators ?? 0 });
    } else {
      live.delete(b.id);
      if (b.status === "COMPLETED") recent = [b, ...recent.filter((x) => x.id !== b.id)].slice(0, RECENT);
    }
  }

  // How many agents wait in the matchmaking queue, per mode (lobby:queue, and the snapshot's queue).
  function showQueue(q) {
    if (!q) return;
    queue.hidden = false;
    const parts = Object.entries(QUEUE_MODES).map(([mode, label]) =>
      h("span", { class: "queue-mode", dataset: { mode } }, h("strong", {}, String(q.counts[mode] ?? 0)), ` ${label}`));
    fill(queue, "In the matchmaking queue: ", ...parts.flatMap((p, i) => (i ? [" · ", p] : [p])));
  }

  function load(snapshot) {
    showQueue(snapshot.queue);
    live.clear();
    for (const b of snapshot.live) live.set(b.id, b);
    recent = snapshot.recent.slice(0, RECENT);
    render();
  }

  async function refreshCounts() {
    let battles;
    try {
      if (conn) {
        const ack = await conn.call("battle:list", { live: true, limit: 100 });
        if (!ack.ok) return;
        battles = ack.data;
      } else {
        battles = await getJSON("/api/battles", { live: true, limit: 100 });
      }
    } catch {
      return; // offline: the next round tries again
    }
    for (const b of battles) {
      const known = live.get(b.id);
      if (known) known.spectators = b.spectators;
    }
    render();
  }

  if (!conn) {
    // No live connection (client library missing): the same lists over REST, refreshed.
    const poll = async () => {
      try {
        const [l, r, q] = await Promise.all([getJSON("/api/battles", { live: true, limit: 100 }),
          getJSON("/api/battles", { status: "COMPLETED", limit: RECENT }), getJSON("/api/battles/queue/counts")]);
        load({ live: l, recent: r, queue: q });
      } catch {
        liveEmpty.textContent = "The server cannot be reached.";
      }
    };
    poll();
    return every(SPECTATORS_EVERY_MS, poll);
  }

  const feed = new RoomFeed(conn, {
    room: "lobby:battles",
    onSnapshot: load,
    onEvent: (ev) => {
      if (ev.type === "lobby:battle") {
        upsert(ev.data.battle);
        render();
      } else if (ev.type === "lobby:queue") {
        showQueue(ev.data);
      }
    },
    onError: (err) => { liveEmpty.textContent = `The lobby is unavailable: ${err.message}`; },
  }).start();
  const stop = every(SPECTATORS_EVERY_MS, () => conn.connected && refreshCounts());
  return () => {
    stop();
    feed.stop();
  };
}
