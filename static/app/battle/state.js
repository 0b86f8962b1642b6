// A battle as the page shows it, built from a snapshot and/or room events. The same reducer serves
// the live view (snapshot, then events) and the replay (events alone, from seq 1).

const BLIND_STATUSES = ["LOBBY", "STARTING", "IN_PROGRESS", "VOTING"];

export function emptyState() {
  return { battle: null, participants: [], turns: [], tally: null, turn: null, ratingChanges: null, seq: 0 };
}

const copyParticipants = (list) => (list || []).map((p) => ({ ...p, agent: p.agent ? { ...p.agent } : null }));

export function fromSnapshot(snapshot, seq = 0) {
  const b = snapshot.battle;
  const state = emptyState();
  state.battle = { ...b };
  state.participants = copyParticipants(b.participants);
  state.turns = snapshot.turns.map((t) => ({ ...t }));
  state.tally = snapshot.tally ? { ...snapshot.tally, counts: { ...snapshot.tally.counts } } : null;
  if (b.status === "IN_PROGRESS" && b.current_seat) {
    state.turn = { turn_number: b.current_turn + 1, seat: b.current_seat, deadline_at: b.deadline_at };
  }
  state.seq = seq;
  return state;
}

function participant(state, seat) {
  return state.participants.find((p) => p.seat === seat);
}

/** Apply one room event (mutates and returns `state`). Unknown types are ignored. */
export function applyEvent(state, ev) {
  const d = ev.data || {};
  const b = state.battle;
  state.seq = ev.seq;
  switch (ev.type) {
    case "battle:created":
      state.battle = { ...d.battle };
      state.participants = copyParticipants(d.battle.participants);
      break;
    case "battle:joined": {
      const p = { ...d.participant, agent: d.participant.agent ? { ...d.participant.agent } : null };
      state.participants = state.participants.filter((x) => x.seat !== p.seat).concat([p]);
      state.participants.sort((x, y) => x.position - y.position);
      break;
    }
    case "battle:attached":
      if (b) b[d.role === "judge" ? "has_judge" : "has_commentator"] = true;
      break;
    case "battle:left": {
      const p = participant(state, d.seat);
      if (d.forfeited && p) {
        p.forfeited = true;
        p.is_active = false;
      } else if (!d.forfeited) {
        state.participants = state.participants.filter((x) => x.seat !== d.seat);
      }
      break;
    }
    case "battle:status":
      if (!b) break;
      b.status = d.status;
      b.deadline_at = d.deadline_at;
      b.current_turn = d.current_turn;
      b.blind = b.blind_voting && BLIND_STATUSES.includes(d.status);
      if (d.status === "IN_PROGRESS" && !b.started_at) b.started_at = ev.at;
      if (d.status !== "IN_PROGRESS") {
        state.turn = null;
        b.current_seat = null;
      }
      break;
    case "battle:turn_started":
      state.turn = { turn_number: d.turn_number, seat: d.seat, deadline_at: d.deadline_at };
      if (b) {
        b.current_turn = d.turn_number - 1;
        b.current_seat = d.seat;
        b.deadline_at = d.deadline_at;
      }
      break;
    case "battle:turn":
      // Appended as it comes: the seq bookkeeping in rooms.js guarantees each turn arrives once.
      state.turns.push({ ...d });
      if (b) b.current_turn = d.turn_number;
      if (state.turn && state.turn.turn_number <= d.turn_number) state.turn = null;
      break;
    case "battle:turn_audio": {
      const t = state.turns.find((x) => x.turn_number === d.turn_number);
      if (t) {
        t.audio_status = d.audio_status;
        t.audio_url = d.audio_url;
        t.audio_duration_ms = d.audio_duration_ms;
      }
      break;
    }
    case "battle:commentary": {
      const t = state.turns.find((x) => x.turn_number === d.turn_number);
      if (t) t.commentary = d.text;
      break;
    }
    case "battle:presence": {
      const p = participant(state, d.seat);
      if (p) {
        p.connected = d.connected;
        p.grace_until = d.grace_until;
      }
      break;
    }
    case "battle:tally":
      state.tally = { ...d, counts: { ...d.counts } };
      break;
    case "battle:revealed":
      state.participants = copyParticipants(d.participants);
      if (b) b.blind = false;
      break;
    case "battle:completed":
      state.battle = { ...d.battle };
      state.participants = copyParticipants(d.battle.participants);
      state.ratingChanges = d.rating_changes || null;
      state.turn = null;
      break;
    default:
      break;
  }
  return state;
}

/** Replay: the state after the first `count` events. */
export function stateAt(events, count) {
  const state = emptyState();
  for (let i = 0; i < count; i++) applyEvent(state, events[i]);
  return state;
}
