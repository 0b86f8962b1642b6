// A replay: `#/replay/<battle id>`. Every event from seq 1 (GET /api/battles/<id>/events); the view
// at step n is rebuilt from the first n events alone.

import { allBattleEvents } from "../api.js";
import { battleView } from "../battle/render.js";
import { stateAt } from "../battle/state.js";
import { fill, h, route } from "../dom.js";
import { STATUSES } from "../format.js";
import { icon } from "../icons.js";

const PACE_MS = { "battle:turn": 1400, "battle:completed": 1400, default: 450 };

function describe(ev) {
  const d = ev.data || {};
  switch (ev.type) {
    case "battle:created": return "The battle is opened";
    case "battle:joined": return `Fighter ${d.participant?.seat} takes a seat`;
    case "battle:attached": return `A ${d.role} joins`;
    case "battle:left": return d.forfeited ? `Fighter ${d.seat} forfeits` : `Fighter ${d.seat} leaves`;
    case "battle:status": return `Now: ${STATUSES[d.status] || d.status}`;
    case "battle:turn_started": return `Turn ${d.turn_number}: fighter ${d.seat} to answer`;
    case "battle:turn": return d.timed_out ? `Turn ${d.turn_number} timed out` : `Turn ${d.turn_number} by fighter ${d.seat}`;
    case "battle:commentary": return `Commentary on turn ${d.turn_number}`;
    case "battle:presence": return `Fighter ${d.seat} ${d.connected ? "is back" : "lost connection"}`;
    case "battle:tally": return `Votes: ${d.total}`;
    case "battle:revealed": return "Identities revealed";
    case "battle:completed": return "Result";
    default: return ev.type;
  }
}

export async function mount(root, [battleId], _ctx) {
  document.title = "Agent Arena · Replay";
  root.append(h("p", { class: "loading" }, "Loading the replay…"));
  let events;
  try {
    events = await allBattleEvents(battleId);
  } catch (err) {
    fill(root, h("section", { class: "card problem" }, h("h1", {}, "No replay"),
      h("p", {}, err.status === 404 || err.status === 422 ? "There is no battle with this id." : err.message),
      h("p", {}, h("a", { href: "#/" }, "Back to the lobby"))));
    return null;
  }
  const total = events.length;
  const view = battleView({ live: false });
  const back = h("button", { type: "button", class: "button", "aria-label": "Step back", title: "Step back (←)" },
    icon("back"), "Back");
  const play = h("button", { type: "button", class: "button primary play" });
  const fwd = h("button", { type: "button", class: "button", "aria-label": "Step forward", title: "Step forward (→)" },
    "Forward", icon("forward"));
  const playing = (on) => {
    fill(play, icon(on ? "pause" : "play"), on ? "Pause" : "Play");
    play.setAttribute("aria-pressed", String(on));
  };
  playing(false);
  const slider = h("input", { type: "range", min: "1", max: String(total), value: "1", "aria-label": "Position" });
  const where = h("p", { class: "replay-where muted", "aria-live": "polite" });
  const speed = h("select", { class: "speed", "aria-label": "Speed" },
    [1, 2, 4, 8].map((x) => h("option", { value: String(x) }, `${x}×`)));
  const controls = h("div", { class: "replay-controls card" },
    h("div", { class: "replay-buttons" }, back, play, fwd), slider, speed, where);
  let pos = Math.min(1, total);
  let timer = null;

  function show() {
    slider.value = String(pos);
    back.disabled = pos <= 1;
    fwd.disabled = pos >= total;
    const ev = events[pos - 1];
    where.textContent = ev ? `Event ${pos} of ${total} · ${describe(ev)}` : "This battle has no events.";
    if (ev) view.update(stateAt(events, pos));
    root.dataset.replayPos = String(pos);
    root.dataset.replayDone = String(pos >= total);
  }

  function pause() {
    clearTimeout(timer);
    timer = null;
    playing(false);
  }

  function scheduleNext() {
    const next = events[pos];
    timer = setTimeout(() => {
      step(1);
      if (pos >= total) pause();
      else scheduleNext();
    }, (PACE_MS[next?.type] || PACE_MS.default) / Number(speed.value));
  }

  function start() {
    if (pos >= total) pos = 1; // play again from the start
    show();
    playing(true);
    scheduleNext();
  }

  function step(delta) {
    pos = Math.max(1, Math.min(total, pos + delta));
    show();
  }

  back.addEventListener("click", () => { pause(); step(-1); });
  fwd.addEventListener("click", () => { pause(); step(1); });
  play.addEventListener("click", () => (timer ? pause() : start()));
  slider.addEventListener("input", () => { pause(); pos = Number(slider.value); show(); });
  const onKey = (e) => {
    if (e.target instanceof Element && e.target.closest("input, textarea, select")) return;
    if (e.key === "ArrowLeft") { pause(); step(-1); }
    else if (e.key === "ArrowRight") { pause(); step(1); }
  };
  document.addEventListener("keydown", onKey);

  const first = events[0]?.data?.battle;
  fill(root,
    h("nav", { class: "toolbar", "aria-label": "Replay" }, h("a", { class: "back", href: "#/" }, "← Lobby"),
      h("span", { class: "pill replay-pill" }, "Replay"),
      first ? h("a", { class: "button small", href: route("battle", first.room_code) }, "Open the battle page") : null),
    controls, view.el);
  show();
  return () => {
    pause();
    view.stop();
    document.removeEventListener("keydown", onKey);
  };
}
