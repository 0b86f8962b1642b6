// One simulation: `#/simulations/<id>`. Its state from simulation:watch, then its room events exactly
// once and in order (rooms.js); outputs stream in as simulation:task_progress. The starter (the
// logged-in user who created it, or an admin) starts, cancels, talks to the crew, answers questions
// and approves outputs, over REST. Without the client library: the same over REST, polled.

import { ApiError, UUID_RE, currentUser, getJSON, postJSON } from "../api.js";
import { fill, h, problemCard } from "../dom.js";
import { RoomFeed } from "../rooms.js";
import {
  conversationView, crewView, delegationView, fallbackView, headerView, timelineView,
} from "../simulations/render.js";
import { SIM_STATUSES, applyEvent, fromSnapshot, isSimEnded } from "../simulations/state.js";

const POLL_MS = 3000;
const REFRESH_DEBOUNCE_MS = 150;
const NOT_FOUND = new Set(["simulation.not_found", "validation.failed"]);

function problem(root, title, text) {
  problemCard(root, title, text, ["#/simulations", "Back to the simulations"], "sim-problem");
}

function notFound(root) {
  problem(root, "Simulation not found",
    "There is no simulation with this id that you may see. A private simulation is visible only to its starter and its crew.");
}

export async function mount(root, [ref], { conn }) {
  document.title = "Agent Arena · Simulation";
  if (!UUID_RE.test(ref)) {
    notFound(root);
    return null;
  }
  const simulationId = ref.toLowerCase();
  const base = `/api/simulations/${encodeURIComponent(simulationId)}`;
  root.append(h("p", { class: "loading" }, "Loading the simulation…"));

  let state = null;
  let me = null;
  let shown = false;
  let frame = 0;
  let gone = false;
  let refreshTimer = null;
  // A snapshot read by simulation:get holds every event up to its last_seq: live events at or below
  // it are in it already (applying a progress event twice would double its text), and those that
  // arrive while it is read are applied again on top of it.
  let snapshotSeq = 0;
  let refreshing = null; // events received while a refresh is on its way

  const actions = {
    start: () => postJSON(`${base}/start`, {}),
    cancel: () => postJSON(`${base}/cancel`, {}),
    message: (text) => postJSON(`${base}/messages`, { message: text }),
    answer: (questionId, text) => postJSON(`${base}/questions/${encodeURIComponent(questionId)}/answer`, { answer: text }),
    approve: (runId, body) => postJSON(`${base}/tasks/${encodeURIComponent(runId)}/approval`, body),
  };
  const header = headerView(actions);
  const crew = crewView();
  const timeline = timelineView();
  const delegations = delegationView();
  const conversation = conversationView(actions);
  const fallbacks = fallbackView();
  const page = h("article", { class: "simulation", dataset: { simulationId } },
    h("nav", { class: "toolbar", "aria-label": "Simulation" }, h("a", { class: "back", href: "#/simulations" }, "← Simulations")),
    header.el,
    h("div", { class: "sim-grid" },
      h("div", { class: "sim-main" }, timeline.el, delegations.el),
      h("div", { class: "sim-side" }, crew.el, conversation.el, fallbacks.el)));

  const canSteer = () => Boolean(me && state && (me.is_admin || me.id === state.sim.user_id));

  function render() {
    frame = 0;
    if (!state || gone) return;
    if (!shown) {
      fill(root, page);
      shown = true;
    }
    const ctx = { canSteer: canSteer(), actions };
    page.dataset.status = state.sim.status;
    document.title = `Agent Arena · Simulation · ${SIM_STATUSES[state.sim.status] || state.sim.status}`;
    header.update(state, ctx);
    crew.update(state, ctx);
    timeline.update(state, ctx);
    delegations.update(state, ctx);
    conversation.update(state, ctx);
    fallbacks.update(state, ctx);
  }

  const schedule = () => {
    if (!frame) frame = requestAnimationFrame(render);
  };

  function failed(err) {
    gone = true;
    if (NOT_FOUND.has(err?.code) || err?.status === 404 || err?.status === 422) notFound(root);
    else problem(root, "The simulation cannot be loaded", err?.message || "Check your connection and reload.");
  }

  currentUser().then((user) => {
    me = user;
    schedule();
  });

  // The whole snapshot again (an event whose effect needs it: a fallback, a new run, the end).
  let refreshAgain = false;
  async function refresh() {
    if (refreshing) {
      refreshAgain = true; // read again after this one: it may predate what asked for it
      return;
    }
    refreshing = [];
    try {
      const snap = conn && conn.connected
        ? await conn.call("simulation:get", { simulation_id: simulationId }).then((ack) => {
          if (!ack?.ok) throw Object.assign(new Error(ack?.error?.message || "no answer"), ack?.error || {});
          return ack.data;
        })
        : await getJSON(base);
      if (gone) return;
      state = fromSnapshot(snap);
      snapshotSeq = snap.last_seq;
      for (const ev of refreshing) if (ev.seq > snapshotSeq) applyEvent(state, ev);
      schedule();
    } catch {
      // the next event or poll tries again
    } finally {
      refreshing = null;
      if (refreshAgain && !gone) {
        refreshAgain = false;
        refreshSoon();
      }
    }
  }
  const refreshSoon = () => {
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(refresh, REFRESH_DEBOUNCE_MS);
  };

  if (!conn) {
    let busy = false;
    const poll = async () => {
      if (busy || gone || (state && isSimEnded(state.sim.status))) return;
      busy = true;
      try {
        state = fromSnapshot(await getJSON(base));
        schedule();
      } catch (err) {
        if (!state || (err instanceof ApiError && err.status === 404)) failed(err);
      } finally {
        busy = false;
      }
    };
    poll();
    const id = setInterval(poll, POLL_MS);
    return () => {
      clearInterval(id);
      cancelAnimationFrame(frame);
    };
  }

  const feed = new RoomFeed(conn, {
    room: `simulation:${simulationId}`,
    watch: (since, snapshotOnly) => ["simulation:watch",
      { simulation_id: simulationId, since_seq: since, snapshot_only: snapshotOnly }],
    onSnapshot: (snapshot) => {
      state = fromSnapshot(snapshot);
      snapshotSeq = snapshot.last_seq;
      schedule();
    },
    onEvent: (ev) => {
      if (!state || ev.seq <= snapshotSeq) return;
      if (refreshing) refreshing.push(ev);
      const changed = applyEvent(state, ev);
      if (changed === "refresh") refreshSoon();
      if (changed) schedule();
    },
    onError: (err) => {
      feed.stop();
      failed(err);
    },
  }).start();
  window.arena.simulation = { feed, state: () => state }; // for the curious (and the browser tests)
  return () => {
    feed.stop();
    clearTimeout(refreshTimer);
    cancelAnimationFrame(frame);
    if (window.arena.simulation?.feed === feed) delete window.arena.simulation;
  };
}
