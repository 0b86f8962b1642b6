// One execution: `#/executions/<id>`. Its state and log from execution:watch, then room events and
// log lines exactly once and in order (executions/feed.js); the log tail is a virtualized list
// (executions/logview.js). Without the client library: the same over REST, polled.

import { ApiError, UUID_RE, currentUser, getJSON, postJSON } from "../api.js";
import { every, fill, h, problemCard } from "../dom.js";
import { EXEC_STATUSES, isExecEnded } from "../format.js";
import { ExecutionFeed } from "../executions/feed.js";
import { LogStore } from "../executions/logstore.js";
import { logView } from "../executions/logview.js";
import { artifactsView, headerView, stepsView, thoughtsView, tickElapsed } from "../executions/render.js";
import { applyEvent, fromSnapshot } from "../executions/state.js";

const POLL_MS = 3000;
const PAGE_LINES = 5000;
const NOT_FOUND = new Set(["execution.not_found", "validation.failed"]);

function problem(root, title, text) {
  problemCard(root, title, text, ["#/executions", "Back to the executions"], "exec-problem");
}

function notFound(root) {
  problem(root, "Execution not found",
    "There is no execution with this id that you may see. A private execution is visible only to its owner.");
}

/** The owner's cancel button (and a second click to confirm). Shown to the owning user or an admin. */
function cancelControl(executionId) {
  const el = h("span", { class: "exec-cancel", hidden: true });
  let state = null;
  let me = null;
  let mode = "idle"; // idle | confirm | busy | sent
  let message = "";

  async function send() {
    mode = "busy";
    message = "";
    render();
    try {
      await postJSON(`/api/executions/${encodeURIComponent(executionId)}/cancel`, {});
      mode = "sent"; // the room events (execution:cancelling, then execution:ended) say the rest
    } catch (err) {
      mode = "idle";
      message = err instanceof ApiError ? err.message : "The cancel was not confirmed; try again.";
    }
    render();
  }

  function render() {
    const e = state?.execution;
    const allowed = Boolean(me && e && (me.is_admin || me.id === e.user_id) && !isExecEnded(e.status));
    el.hidden = !allowed;
    if (!allowed) return;
    const note = message ? h("span", { class: "exec-cancel-message", role: "alert" }, message) : null;
    if (e.cancel_deadline_at || mode === "sent" || mode === "busy") {
      fill(el, h("button", { type: "button", class: "button small danger", disabled: true },
        mode === "busy" ? "Cancelling…" : "Cancel requested"), note);
    } else if (mode === "confirm") {
      fill(el, h("span", { class: "exec-cancel-ask" }, "Stop this execution?"),
        h("button", { type: "button", class: "button small danger exec-cancel-yes", onclick: send }, "Yes, cancel it"),
        h("button", { type: "button", class: "button small exec-cancel-no",
          onclick: () => { mode = "idle"; render(); } }, "Keep it running"));
    } else {
      fill(el, h("button", { type: "button", class: "button small danger exec-cancel-button",
        onclick: () => { mode = "confirm"; render(); } }, "Cancel execution"), note);
    }
  }

  return {
    el,
    update(nextState, user) {
      state = nextState;
      me = user;
      render();
    },
  };
}

export async function mount(root, [ref], { conn }) {
  document.title = "Agent Arena · Execution";
  if (!UUID_RE.test(ref)) {
    notFound(root);
    return null;
  }
  const executionId = ref.toLowerCase();
  root.append(h("p", { class: "loading" }, "Loading the execution…"));

  const store = new LogStore();
  const header = headerView();
  const steps = stepsView();
  const thoughts = thoughtsView();
  const artifacts = artifactsView();
  const logs = logView(store, { exportUrl: `/api/executions/${executionId}/logs/export` });
  const cancel = cancelControl(executionId);
  const page = h("article", { class: "execution", dataset: { executionId } },
    h("nav", { class: "toolbar", "aria-label": "Execution" }, h("a", { class: "back", href: "#/executions" }, "← Executions")),
    header.el,
    h("div", { class: "exec-grid" },
      h("div", { class: "exec-main" }, steps.el,
        h("section", { class: "card exec-log", "aria-labelledby": "log-title" }, h("h2", { id: "log-title" }, "Log"), logs.el)),
      h("div", { class: "exec-side" }, thoughts.el, artifacts.el)));
  let state = null;
  let me = null;
  let shown = false;
  let frame = 0;
  let gone = false;

  const now = () => (conn ? conn.serverNow() : Date.now());
  const tick = () => shown && tickElapsed(page, now());

  function render() {
    frame = 0;
    if (!state || gone) return;
    if (!shown) {
      fill(root, page);
      shown = true;
    }
    const status = state.execution.status;
    page.dataset.status = status;
    document.title = `Agent Arena · Execution · ${EXEC_STATUSES[status] || status}`;
    header.update(state, cancel.el);
    steps.update(state);
    thoughts.update(state);
    artifacts.update(state);
    cancel.update(state, me);
    tick();
  }

  const schedule = () => {
    if (!frame) frame = requestAnimationFrame(render);
  };

  function failed(err) {
    gone = true;
    if (NOT_FOUND.has(err?.code) || err?.status === 404 || err?.status === 422) notFound(root);
    else problem(root, "The execution cannot be loaded", err?.message || "Check your connection and reload.");
  }

  currentUser().then((user) => {
    me = user;
    if (state) cancel.update(state, me);
  });

  const stopTicking = every(1000, tick);

  if (!conn) {
    // Without the client library: the state and the new lines over REST, every few seconds.
    let after = 0;
    let busy = false;
    const poll = async () => {
      if (busy || gone || (state && isExecEnded(state.execution.status))) return;
      busy = true;
      try {
        state = fromSnapshot(await getJSON(`/api/executions/${encodeURIComponent(executionId)}`));
        schedule();
        for (;;) {
          const part = await getJSON(`/api/executions/${encodeURIComponent(executionId)}/logs`, { after, limit: PAGE_LINES });
          if (store.append(part.lines)) logs.update();
          after = part.next_after;
          if (!part.more) break;
        }
      } catch (err) {
        if (!state || (err instanceof ApiError && err.status === 404)) failed(err);
      } finally {
        busy = false;
      }
    };
    poll();
    const stopPolling = every(POLL_MS, poll);
    return () => {
      stopPolling();
      stopTicking();
      logs.stop();
      cancelAnimationFrame(frame);
    };
  }

  const feed = new ExecutionFeed(conn, executionId, {
    onSnapshot: (snapshot) => {
      state = fromSnapshot(snapshot);
      schedule();
    },
    onEvent: (ev) => {
      if (state && applyEvent(state, ev)) schedule();
    },
    onLines: (lines) => {
      if (store.append(lines)) logs.update();
    },
    onBacklog: (progress) => logs.setBacklog(progress),
    onError: (err) => {
      feed.stop();
      failed(err);
    },
  }).start();
  window.arena.execution = { feed, store }; // for the curious (and the browser tests)
  return () => {
    stopTicking();
    feed.stop();
    logs.stop();
    cancelAnimationFrame(frame);
    if (window.arena.execution?.feed === feed) delete window.arena.execution;
  };
}
