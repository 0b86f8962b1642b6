// Drawing a battle state (battle/state.js): header, phase with countdown, fighters, vote and tally,
// result, transcript. Used by the live view and the replay. Agent text only ever becomes text nodes.

import { h, fill } from "../dom.js";
import {
  DECIDED_BY, MODES, SEATS, STATUSES, agentName, clock, plural, rating, seatLabel, seconds, signed,
} from "../format.js";
import { icon } from "../icons.js";
import { turnVoice } from "./voice.js";
import { votePanel } from "./vote.js";

function statusPill(status, live) {
  // A replay shows the state of its moment, without the pulsing "live" look.
  const label = !live && status === "IN_PROGRESS" ? "In progress" : STATUSES[status] || status;
  return h("span", { class: ["pill", `status-${status.toLowerCase()}`, !live && "past"], dataset: { status } }, label);
}

function eloLine(p, changes) {
  const change = changes?.find((c) => c.seat === p.seat);
  if (!change) return `Elo ${rating(p.agent.rating)}`;
  return [`Elo ${rating(change.after)} `, h("span", { class: change.after >= change.before ? "up" : "down" },
    signed(change.after - change.before))];
}

function fighterItem(p, b, changes) {
  const name = agentName(p.agent);
  const isCurrent = b.status === "IN_PROGRESS" && b.current_seat === p.seat;
  const winner = b.status === "COMPLETED" && !b.is_draw &&
    (b.winner_seat === p.seat || (b.winner_team_id && b.winner_team_id === p.team_id));
  const flags = [];
  if (p.team_id) flags.push(h("span", { class: `tag team-${p.team_id}` }, `team ${p.team_id}`));
  if (p.forfeited) flags.push(h("span", { class: "tag warn" }, "forfeited"));
  if (p.connected === false && !p.forfeited) flags.push(h("span", { class: "tag warn" }, "away"));
  if (winner) flags.push(h("span", { class: "tag win" }, "winner"));
  if (isCurrent) flags.push(h("span", { class: "tag live" }, "answering"));
  return h("li", { class: ["fighter", `seat-${p.seat}`, isCurrent && "current", p.forfeited && "out"],
    dataset: { seat: p.seat } },
  h("span", { class: "avatar" }, p.seat),
  h("span", { class: "fighter-main" },
    name
      ? h("a", { class: "fighter-name", href: `#/agent/${encodeURIComponent(p.agent.id)}` }, name)
      : h("span", { class: "fighter-name hidden-name" }, `Fighter ${p.seat}`),
    h("span", { class: "fighter-sub muted" },
      name ? eloLine(p, changes) : "identity hidden until voting closes")),
  h("span", { class: "flags" }, flags));
}

/** While the lobby fills: the seats nobody has taken yet, so the card shows what the battle waits for. */
function openSeats(state) {
  const b = state.battle;
  if (b.status !== "LOBBY") return [];
  const taken = new Set(state.participants.filter((p) => p.is_active).map((p) => p.seat));
  return [...SEATS.slice(0, b.max_participants)].filter((seat) => !taken.has(seat)).map((seat) =>
    h("li", { class: "fighter open-seat" }, h("span", { class: "avatar empty" }, seat),
      h("span", { class: "fighter-main" }, "open seat")));
}

function winnerText(state) {
  const b = state.battle;
  if (b.is_draw) return "Draw";
  if (b.winner_team_id) return `Team ${b.winner_team_id} wins`;
  if (b.winner_seat) {
    const p = state.participants.find((x) => x.seat === b.winner_seat);
    return `${seatLabel(p, b.winner_seat)} wins`;
  }
  return "No winner";
}

function resultCard(state) {
  const b = state.battle;
  const parts = [h("h2", {}, "Result"), h("p", { class: "winner" }, icon("trophy", { size: 22 }),
    winnerText(state))];
  if (b.decided_by) parts.push(h("p", { class: "muted" }, `Decided ${DECIDED_BY[b.decided_by] || b.decided_by}.`));
  if (b.judge_reasoning) {
    parts.push(h("figure", { class: "reasoning" }, h("figcaption", {}, "The judge's reasoning"),
      h("blockquote", { class: "text" }, b.judge_reasoning)));
  }
  if (state.ratingChanges?.length) {
    parts.push(h("ul", { class: "rating-changes" }, state.ratingChanges.map((c) => {
      const p = state.participants.find((x) => x.seat === c.seat);
      const delta = c.after - c.before;
      return h("li", {}, h("span", { class: `avatar small seat-${c.seat}` }, c.seat), " ", seatLabel(p, c.seat),
        h("span", { class: "muted" }, ` ${rating(c.before)} → ${rating(c.after)} `),
        h("span", { class: delta >= 0 ? "up" : "down" }, signed(delta)));
    })));
  }
  return parts;
}

const AUDIO_NOTES = { pending: "Speech on its way…", failed: "No audio", expired: "Audio removed" };

function audioControl(t, voice) {
  if (t.audio_status === "ready" && t.audio_url) {
    const button = h("button", { type: "button", class: "button small audio-play", "aria-pressed": "false",
      "aria-label": `Play turn ${t.turn_number}`, dataset: { audioUrl: t.audio_url } },
    icon("play"), t.audio_duration_ms ? ` ${seconds(t.audio_duration_ms)}` : " Play");
    button.addEventListener("click", () => voice.toggle(t.turn_number, t.audio_url));
    return button;
  }
  const note = AUDIO_NOTES[t.audio_status];
  return note ? h("span", { class: "audio-note muted" }, note) : null;
}

function turnItem(t, state, voice) {
  const p = state.participants.find((x) => x.seat === t.seat);
  const body = t.timed_out
    ? h("p", { class: "turn-timeout" }, icon("clock"), "Timed out — no answer in time")
    : h("div", { class: "turn-content text" }, t.content || "(empty answer)");
  return h("li", { class: ["turn", `seat-${t.seat}`, t.timed_out && "timed-out"],
    dataset: { turn: t.turn_number, seat: t.seat } },
  h("div", { class: "turn-head" },
    h("span", { class: "avatar small" }, t.seat),
    h("span", { class: "turn-who" }, seatLabel(p, t.seat)),
    h("span", { class: "turn-meta muted" }, `Turn ${t.turn_number}`, t.duration_ms ? ` · ${seconds(t.duration_ms)}` : ""),
    audioControl(t, voice)),
  body,
  t.commentary
    ? h("aside", { class: "commentary" }, h("span", { class: "commentary-label" }, "Commentary"),
      h("p", { class: "text" }, t.commentary))
    : null);
}

function phaseText(state) {
  const b = state.battle;
  const seated = state.participants.filter((p) => p.is_active).length;
  switch (b.status) {
    case "LOBBY": return `Waiting for fighters · ${seated} of ${b.max_participants} seats taken`;
    case "STARTING": return "Starting…";
    case "IN_PROGRESS": {
      if (!state.turn) return `Turn ${b.current_turn} of ${b.max_turns}`;
      const p = state.participants.find((x) => x.seat === state.turn.seat);
      return `Turn ${state.turn.turn_number} of ${b.max_turns} · ${seatLabel(p, state.turn.seat)} is answering`;
    }
    case "VOTING": return "Voting is open";
    case "JUDGING": return b.has_judge && b.enable_judge ? "The judge is deciding" : "Counting the votes";
    case "COMPLETED": return `Finished · ${winnerText(state)}`;
    default: return STATUSES[b.status] || b.status;
  }
}

/**
 * @param live  true for a live battle (countdown, votes), false for a replay.
 * @param conn  the connection to vote through (live only).
 */
export function battleView({ live, conn = null }) {
  const head = h("div", { class: "battle-head" });
  const phase = h("div", { class: "phase", role: "status" });
  const phaseLabel = h("span", { class: "phase-label" });
  const countdown = h("span", { class: "countdown", "aria-live": "off" });
  const progress = h("span", { class: "progress" }, h("span", { class: "progress-fill" }));
  phase.append(phaseLabel, countdown, progress);
  const fighters = h("ul", { class: "fighters" });
  const result = h("section", { class: "card result", hidden: true });
  const votes = votePanel(live ? conn : null);
  const turns = h("ol", { class: "turns", "aria-label": "Turns" });
  const pending = h("p", { class: "turn-pending", hidden: true });
  const transcript = h("section", { class: "battle-main", "aria-label": "Transcript" },
    h("h2", { class: "visually-hidden" }, "Transcript"), turns, pending);
  const el = h("article", { class: "battle" }, head, phase,
    h("div", { class: "battle-grid" },
      h("div", { class: "battle-side" }, result, votes.el,
        h("section", { class: "card" }, h("h2", {}, "Fighters"), fighters)),
      transcript));
  let state = null;
  const rendered = []; // [{key, el}] per turn index
  const voice = turnVoice();
  voice.onChange((playing) => {
    for (const b of turns.querySelectorAll(".audio-play")) {
      const on = b.closest(".turn").dataset.turn === String(playing);
      b.setAttribute("aria-pressed", String(on));
      b.replaceChild(icon(on ? "pause" : "play"), b.firstChild);
    }
  });
  const readAloud = h("input", { type: "checkbox", class: "read-aloud-toggle" });
  readAloud.addEventListener("change", () => voice.setReadAloud(readAloud.checked));
  const readAloudLabel = h("label", { class: "read-aloud", hidden: true }, readAloud, " Read aloud");
  el.append(voice.el);

  function renderTurns() {
    state.turns.forEach((t, i) => {
      const p = state.participants.find((x) => x.seat === t.seat);
      const key = JSON.stringify([t.turn_number, t.seat, seatLabel(p, t.seat), t.commentary, t.timed_out,
        t.audio_status, t.audio_url]);
      if (rendered[i]?.key === key) return;
      const node = turnItem(t, state, voice);
      if (rendered[i]) rendered[i].el.replaceWith(node);
      else turns.append(node);
      rendered[i] = { key, el: node };
    });
    while (rendered.length > state.turns.length) rendered.pop().el.remove();
    const p = state.turn && state.participants.find((x) => x.seat === state.turn.seat);
    pending.hidden = !state.turn;
    pending.textContent = state.turn ? `${seatLabel(p, state.turn.seat)} is writing turn ${state.turn.turn_number}…` : "";
    if (!state.turns.length && !state.turn) {
      pending.hidden = false;
      pending.textContent = state.battle.status === "LOBBY" || state.battle.status === "STARTING"
        ? "The first turn appears here when the battle starts." : "No turns.";
    }
  }

  function deadline() {
    const b = state.battle;
    if (b.status === "IN_PROGRESS") return state.turn?.deadline_at || null;
    if (["STARTING", "VOTING", "JUDGING"].includes(b.status)) return b.deadline_at;
    return null;
  }

  function tick() {
    if (!state?.battle) return;
    const at = live ? deadline() : null;
    if (!at) {
      countdown.hidden = true;
      progress.hidden = true;
      return;
    }
    const b = state.battle;
    const left = Date.parse(at) - (conn ? conn.serverNow() : Date.now());
    const span = b.status === "IN_PROGRESS" ? b.turn_duration_ms + b.overage_ms
      : b.status === "VOTING" ? b.voting_duration_ms : b.status === "JUDGING" ? b.judging_duration_ms : 0;
    countdown.hidden = false;
    countdown.textContent = left > 0 ? `${clock(left)} left` : "time is up";
    countdown.classList.toggle("urgent", left < 5000);
    progress.hidden = !span;
    if (span) progress.firstChild.style.width = `${Math.max(0, Math.min(100, (100 * left) / span))}%`;
  }

  function update(next) {
    state = next;
    const b = state.battle;
    if (!b) return;
    const meta = [MODES[b.mode] || b.mode, plural(b.max_turns, "turn"), `${seconds(b.turn_duration_ms)} per turn`];
    if (b.blind_voting) meta.push("blind voting");
    if (b.enable_judge) meta.push(b.has_judge ? "judged" : "judge wanted");
    if (b.enable_tts) meta.push("spoken turns");
    if (live && b.spectators) meta.push(`${b.spectators} watching`);
    fill(head,
      h("div", { class: "battle-code" }, statusPill(b.status, live),
        h("span", { class: "code", title: "Room code" }, b.room_code)),
      h("h1", { class: "topic text" }, b.topic),
      h("p", { class: "meta muted" }, meta.join(" · ")));
    readAloudLabel.hidden = !(live && b.enable_tts && b.status !== "COMPLETED" && b.status !== "CANCELLED");
    phase.dataset.status = b.status;
    phaseLabel.textContent = phaseText(state);
    fill(fighters, state.participants.map((p) => fighterItem(p, b, state.ratingChanges)), openSeats(state));
    result.hidden = b.status !== "COMPLETED";
    if (!result.hidden) fill(result, resultCard(state));
    votes.update(state);
    renderTurns();
    tick();
  }

  phase.append(readAloudLabel);
  /** A turn's audio became ready (battle:turn_audio), for reading aloud. */
  const audioReady = (d) => voice.ready(d.turn_number, d.audio_url);

  // transcript and turns: for the live view to follow the newest turn (battle/follow.js)
  return { el, transcript, turns, update, tick, audioReady, stop: () => voice.stop() };
}
