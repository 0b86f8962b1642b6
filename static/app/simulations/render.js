// Drawing a simulation (simulations/state.js): header and the starter's controls, the crew, the task
// timeline with outputs as they stream, the delegation graph, the conversation and the fallback log.
// Everything an agent or a person wrote becomes text nodes only (dom.js has no way to pass markup).

import { attempt, fill, h, route, s, syncList } from "../dom.js";
import { ago, plural } from "../format.js";
import { fact, longText } from "../executions/render.js";
import {
  MEMBER_STATUSES, RUN_STATUSES, SIM_STATUSES, isRunOpen, isSimEnded, isSimLive, nameOf, orderedMessages, orderedRuns,
} from "./state.js";

const OUTPUT_SHOWN = 4000;
const PROGRESS_SHOWN = 2000; // the last characters of a streaming output
const SUMMARY_SHOWN = 2000;

export function simStatusPill(status) {
  return h("span", { class: ["pill", "sim-status", `sim-${status}`], dataset: { status } }, SIM_STATUSES[status] || status);
}

function runStatusTag(status) {
  return h("span", { class: ["tag", "run-status", `run-${status}`], dataset: { status } }, RUN_STATUSES[status] || status);
}

function when(iso) {
  return iso ? h("time", { datetime: iso, title: new Date(iso).toLocaleString() }, ago(iso)) : "–";
}

/** A form's error line (a stable code from the server becomes its message). */
function problemLine() {
  return h("p", { class: "sim-form-problem", role: "alert" });
}

// -- header -----------------------------------------------------------------------------------------

export function headerView(actions) {
  const el = h("header", { class: "sim-head" });
  const controls = h("div", { class: "sim-controls" });
  const problem = problemLine();
  let drawn = "";
  let confirming = false;

  function drawControls(sim, canSteer) {
    if (!canSteer) {
      fill(controls);
      return;
    }
    const parts = [];
    if (sim.status === "ready") {
      const start = h("button", { type: "button", class: "button small primary sim-start" }, "Start");
      start.addEventListener("click", () => attempt(problem, start, actions.start));
      parts.push(start);
    }
    if (!isSimEnded(sim.status)) {
      if (confirming) {
        const yes = h("button", { type: "button", class: "button small danger sim-cancel-yes" }, "Yes, stop the crew");
        yes.addEventListener("click", async () => {
          if (await attempt(problem, yes, actions.cancel)) confirming = false;
          drawn = "";
        });
        const no = h("button", { type: "button", class: "button small sim-cancel-no" }, "Keep it running");
        no.addEventListener("click", () => { confirming = false; drawn = ""; drawControls(sim, canSteer); });
        parts.push(h("span", { class: "sim-cancel-ask" }, "Stop this simulation?"), yes, no);
      } else {
        const cancel = h("button", { type: "button", class: "button small danger sim-cancel" }, "Cancel");
        cancel.addEventListener("click", () => { confirming = true; drawControls(sim, canSteer); });
        parts.push(cancel);
      }
    }
    fill(controls, parts);
  }

  function update(state, { canSteer }) {
    const sim = state.sim;
    const sig = JSON.stringify([sim, state.scenario?.title, canSteer, state.crew.length, state.runs.size]);
    if (sig === drawn) return;
    drawn = sig;
    const runs = orderedRuns(state);
    const done = runs.filter((r) => r.status === "completed").length;
    const notes = [];
    if (sim.completion_summary) {
      notes.push(h("div", { class: "sim-summary" }, h("span", { class: "sim-label muted" }, "Result"),
        longText("p", "sim-summary-text", sim.completion_summary, SUMMARY_SHOWN)));
    }
    if (sim.failure_reason) {
      notes.push(h("div", { class: "sim-failure", role: "alert" }, h("strong", {}, "Why it ended: "),
        h("span", { class: "sim-failure-text text" }, sim.failure_reason)));
    }
    drawControls(sim, canSteer);
    fill(el,
      h("div", { class: "sim-title-row" }, simStatusPill(sim.status),
        h("span", { class: "tag" }, sim.process_type === "hierarchical" ? "hierarchical" : "sequential"),
        sim.is_public ? null : h("span", { class: "tag warn" }, "private"),
        sim.forked_from ? h("a", { class: "tag sim-forked", href: route("simulations", sim.forked_from) },
          `forked at task ${sim.forked_from_position}`) : null,
        controls),
      h("h1", { class: "sim-title text" }, sim.title),
      state.scenario ? h("p", { class: "sim-scenario muted" }, "Scenario: ",
        h("span", { class: "sim-scenario-title text" }, state.scenario.title || "untitled"),
        state.scenario.industry ? [" · ", h("span", { class: "text" }, state.scenario.industry)] : null) : null,
      state.scenario?.challenge ? longText("p", "sim-challenge", state.scenario.challenge, 400) : null,
      h("dl", { class: "sim-facts" },
        fact("Tasks", `${done} of ${runs.length} completed`),
        fact("Crew", plural(state.crew.filter((m) => !m.is_manager).length, "member")),
        sim.process_type === "hierarchical" ? fact("Delegations", `${sim.iterations} of ${sim.max_iterations}`) : null,
        fact("Messages", sim.message_policy),
        fact("Fallback", sim.fallback_strategy),
        fact("Started", when(sim.started_at)),
        fact(isSimEnded(sim.status) ? "Ended" : "Created", when(isSimEnded(sim.status) ? sim.completed_at : sim.created_at))),
      problem,
      notes);
  }

  return { el, update };
}

// -- crew -------------------------------------------------------------------------------------------

function memberItem(state, m) {
  const snap = m.agent_snapshot || {};
  const working = orderedRuns(state).find((r) => r.agent_id === m.agent_id && isRunOpen(r.status) && r.status !== "pending");
  const name = m.display_name || m.name || (m.agent_id || m.original_agent_id || "").slice(0, 8);
  return h("li", { class: ["member", `member-${m.status}`, m.connected && "is-connected"],
    dataset: { agentId: m.agent_id || "", status: m.status } },
  h("span", { class: "member-dot", title: m.connected ? "connected" : "not connected", "aria-hidden": "true" }),
  h("div", { class: "member-main" },
    h("div", { class: "member-head" },
      m.agent_id ? h("a", { class: "member-name text", href: route("agent", m.agent_id) }, name)
        : h("span", { class: "member-name text" }, name),
      m.is_manager ? h("span", { class: "tag member-manager" }, "manager") : null,
      h("span", { class: ["tag", "member-status"] }, MEMBER_STATUSES[m.status] || m.status),
      h("span", { class: "visually-hidden" }, m.connected ? "connected" : "not connected")),
    snap.role ? h("p", { class: "member-role text" }, snap.role) : null,
    working ? h("p", { class: "member-working muted" }, `${RUN_STATUSES[working.status] || working.status}: `,
      h("span", { class: "text" }, working.task?.title || "a task")) : null));
}

export function crewView() {
  const list = h("ul", { class: "crew", "aria-label": "Crew" });
  const el = h("section", { class: "card sim-crew", "aria-labelledby": "crew-title" }, h("h2", { id: "crew-title" }, "Crew"), list);
  return {
    el,
    update(state) {
      const members = [...state.crew].sort((a, b) => (b.is_manager - a.is_manager) || a.position - b.position);
      const busy = orderedRuns(state).filter((r) => isRunOpen(r.status)).map((r) => [r.agent_id, r.status, r.task?.title]);
      syncList(list, members, (m) => `${m.position}`, (m) => JSON.stringify([m, busy]), (m) => memberItem(state, m));
    },
  };
}

// -- timeline ---------------------------------------------------------------------------------------

function approvalForm(run, actions) {
  const problem = problemLine();
  const edit = h("textarea", { class: "sim-approval-output", rows: 4, "aria-label": "Edited output", maxlength: 100000 });
  edit.value = run.output || "";
  const feedback = h("input", { type: "text", class: "sim-approval-feedback", maxlength: 5000,
    placeholder: "What should change (when sending it back)", "aria-label": "Feedback" });
  const approve = h("button", { type: "button", class: "button small primary sim-approve" }, "Approve");
  const back = h("button", { type: "button", class: "button small sim-send-back" }, "Send back");
  approve.addEventListener("click", () => attempt(problem, approve, () => {
    const edited = edit.value !== (run.output || "");
    return actions.approve(run.id, { approved: true, ...(edited ? { output: edit.value } : {}) });
  }));
  back.addEventListener("click", () => attempt(problem, back,
    () => actions.approve(run.id, { approved: false, ...(feedback.value.trim() ? { feedback: feedback.value.trim() } : {}) })));
  return h("div", { class: "sim-approval" },
    h("p", { class: "sim-approval-ask" }, "This task waits for your approval. Approve it as it is, edit it first, or send it back."),
    edit, feedback, h("div", { class: "sim-approval-buttons" }, approve, back), problem);
}

function runItem(state, run, { canSteer, actions }) {
  const open = isRunOpen(run.status);
  const output = run.output !== null && run.output !== undefined && run.output !== "";
  const progress = run.progress || "";
  const who = run.agent_id ? nameOf(state, run.agent_id) : "unassigned";
  return h("li", { class: ["run", `run-${run.status}`, open && run.status !== "pending" && "is-live"],
    dataset: { taskRunId: run.id, status: run.status, position: run.position } },
  h("span", { class: "run-marker", "aria-hidden": "true" }),
  h("div", { class: "run-main" },
    h("div", { class: "run-head" },
      h("span", { class: "run-position muted" }, `#${run.position}`),
      h("span", { class: "run-title text" }, run.task?.title || (run.kind === "manage" ? "Manage the crew" : "Task")),
      runStatusTag(run.status),
      run.kind !== "task" ? h("span", { class: "tag run-kind" }, run.kind) : null,
      run.inherited ? h("span", { class: "tag run-inherited" }, "from the fork") : null,
      run.human_input ? h("span", { class: "tag run-human" }, "needs approval") : null,
      run.attempts > 1 ? h("span", { class: "tag run-attempts" }, `attempt ${run.attempts}`) : null),
    h("p", { class: "run-who muted" }, "by ", h("span", { class: "run-agent text" }, who),
      run.delegated_by_agent_id ? [", delegated by ", h("span", { class: "text" }, nameOf(state, run.delegated_by_agent_id))] : null,
      run.original_agent_id && run.agent_id && run.original_agent_id !== run.agent_id
        ? [" (for ", h("span", { class: "text" }, nameOf(state, run.original_agent_id)), ")"] : null),
    run.task?.description ? longText("p", "run-description muted", run.task.description, 300) : null,
    !output && progress ? h("pre", { class: "run-progress text", "aria-live": "polite" },
      progress.length > PROGRESS_SHOWN ? "…" + progress.slice(-PROGRESS_SHOWN) : progress) : null,
    output ? longText("pre", "run-output", run.output, OUTPUT_SHOWN) : null,
    run.error && open ? h("p", { class: "run-error" }, h("span", { class: "text" }, run.error)) : null,
    run.status === "awaiting_approval" && canSteer ? approvalForm(run, actions) : null,
    run.status === "failed" && run.error ? h("p", { class: "run-error" }, h("span", { class: "text" }, run.error)) : null));
}

export function timelineView() {
  const list = h("ol", { class: "runs", "aria-label": "Tasks" });
  const empty = h("p", { class: "empty" }, "No tasks yet.");
  const el = h("section", { class: "card sim-timeline", "aria-labelledby": "timeline-title" },
    h("h2", { id: "timeline-title" }, "Tasks"), empty, list);
  return {
    el,
    update(state, ctx) {
      const runs = orderedRuns(state);
      empty.hidden = runs.length > 0;
      // An open approval form keeps its element (and what is typed in it) while other runs change.
      syncList(list, runs, (r) => r.id, (r) => JSON.stringify([r, ctx.canSteer, nameOf(state, r.agent_id)]),
        (r) => runItem(state, r, ctx));
    },
  };
}

// -- delegation graph -------------------------------------------------------------------------------

const NODE_R = 22;

export function delegationView() {
  const figure = h("div", { class: "delegation-graph" });
  const list = h("ol", { class: "delegations" });
  const el = h("section", { class: "card sim-delegations", "aria-labelledby": "delegations-title", hidden: true },
    h("h2", { id: "delegations-title" }, "Delegations"), figure, list);
  let drawn = "";
  return {
    el,
    update(state) {
      el.hidden = state.sim.process_type !== "hierarchical";
      const sig = JSON.stringify([state.delegations, state.crew.map((m) => [m.agent_id, m.name, m.display_name]),
        [...state.runs.values()].filter((r) => r.kind === "delegation").map((r) => [r.id, r.status])]);
      if (el.hidden || sig === drawn) return;
      drawn = sig;
      const manager = state.sim.manager_agent_id;
      const crew = state.crew.filter((m) => !m.is_manager && m.agent_id).map((m) => m.agent_id);
      const counts = new Map();
      for (const d of state.delegations) {
        const key = `${d.from_agent_id}>${d.to_agent_id}`;
        counts.set(key, (counts.get(key) || 0) + 1);
      }
      const width = Math.max(320, crew.length * 120);
      const height = 190;
      const pos = new Map([[manager, [width / 2, 50]]]);
      crew.forEach((id, i) => pos.set(id, [(width / crew.length) * (i + 0.5), 150]));
      const edges = [];
      for (const [key, n] of counts) {
        const [from, to] = key.split(">");
        const a = pos.get(from);
        const b = pos.get(to);
        if (!a || !b) continue;
        edges.push(s("g", { class: "edge", "data-from": from, "data-to": to },
          s("line", { x1: a[0], y1: a[1] + NODE_R, x2: b[0], y2: b[1] - NODE_R, "marker-end": "url(#arrow)" }),
          s("text", { x: (a[0] + b[0]) / 2 + 6, y: (a[1] + b[1]) / 2, class: "edge-count" }, `×${n}`)));
      }
      const nodes = [...pos.entries()].map(([id, [x, y]]) => s("g", { class: ["node", id === manager && "node-manager"], "data-agent-id": id },
        s("circle", { cx: x, cy: y, r: NODE_R }),
        // the manager's name above it (its edges leave below), the others' below them
        s("text", { x, y: id === manager ? y - NODE_R - 8 : y + NODE_R + 16, "text-anchor": "middle" }, nameOf(state, id))));
      fill(figure, s("svg", { viewBox: `0 0 ${width} ${height + 10}`, role: "img",
        "aria-label": `The manager delegated ${plural(state.delegations.length, "time")}` },
      s("defs", {}, s("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 6, markerHeight: 6, orient: "auto" },
        s("path", { d: "M0,0 L10,5 L0,10 z" }))),
      edges, nodes));
      fill(list, state.delegations.map((d) => {
        const run = state.runs.get(d.task_run_id);
        return h("li", { class: "delegation", dataset: { taskRunId: d.task_run_id } },
          h("span", { class: "text" }, nameOf(state, d.from_agent_id)), " → ",
          h("span", { class: "text" }, nameOf(state, d.to_agent_id)), ": ",
          h("span", { class: "text" }, run?.task?.title || "a task"), " ",
          run ? runStatusTag(run.status) : null);
      }));
      if (!state.delegations.length) fill(list, h("li", { class: "muted" }, "The manager has not delegated yet."));
    },
  };
}

// -- conversation -----------------------------------------------------------------------------------

function answerForm(message, actions) {
  const problem = problemLine();
  const input = h("textarea", { class: "sim-answer-input", rows: 2, maxlength: 10000, required: true, "aria-label": "Your answer" });
  const send = h("button", { type: "submit", class: "button small primary" }, "Answer");
  const form = h("form", { class: "sim-answer-form" }, input, send, problem);
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    attempt(problem, send, () => actions.answer(message.id, text));
  });
  return form;
}

function messageItem(state, m, { canSteer, actions }) {
  const who = m.agent_id ? nameOf(state, m.agent_id) : "the crew";
  if (m.kind === "question") {
    return h("li", { class: ["msg", "msg-question", `msg-${m.status}`], dataset: { messageId: m.id, status: m.status } },
      h("div", { class: "msg-bubble crew" }, h("span", { class: "msg-who" }, h("span", { class: "text" }, who), " asks"),
        h("p", { class: "msg-text text" }, m.crew_response || "")),
      m.user_message !== null && m.user_message !== undefined
        ? h("div", { class: "msg-bubble person" }, h("span", { class: "msg-who" }, "Answer"), h("p", { class: "msg-text text" }, m.user_message))
        : m.status === "open" && canSteer ? answerForm(m, actions)
          : h("p", { class: "muted msg-waiting" }, m.status === "open" ? "Waiting for the starter's answer." : m.status));
  }
  return h("li", { class: ["msg", "msg-message", `msg-${m.status}`], dataset: { messageId: m.id, status: m.status } },
    h("div", { class: "msg-bubble person" }, h("span", { class: "msg-who" }, "Starter"), h("p", { class: "msg-text text" }, m.user_message || "")),
    m.crew_response !== null && m.crew_response !== undefined
      ? h("div", { class: "msg-bubble crew" }, h("span", { class: "msg-who text" }, who), h("p", { class: "msg-text text" }, m.crew_response))
      : h("p", { class: "muted msg-waiting" }, { queued: "Queued until the crew member is free.", delivered: `Delivered to ${who}.`,
        cancelled: "Not delivered: the simulation ended." }[m.status] || m.status));
}

export function conversationView(actions) {
  const list = h("ol", { class: "conversation", "aria-label": "Conversation", "aria-live": "polite" });
  const empty = h("p", { class: "empty" }, "No messages yet.");
  const problem = problemLine();
  const input = h("textarea", { class: "sim-message-input", rows: 2, maxlength: 10000, "aria-label": "Message to the crew",
    placeholder: "Talk to the crew" });
  const send = h("button", { type: "submit", class: "button small primary sim-message-send" }, "Send");
  const form = h("form", { class: "sim-message-form", hidden: true }, input, send, problem);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    if (await attempt(problem, send, () => actions.message(text))) input.value = "";
  });
  const el = h("section", { class: "card sim-conversation", "aria-labelledby": "conversation-title" },
    h("h2", { id: "conversation-title" }, "Conversation"), empty, list, form);
  return {
    el,
    update(state, ctx) {
      const messages = orderedMessages(state);
      empty.hidden = messages.length > 0;
      syncList(list, messages, (m) => m.id, (m) => JSON.stringify([m, ctx.canSteer, nameOf(state, m.agent_id)]),
        (m) => messageItem(state, m, ctx));
      form.hidden = !(ctx.canSteer && isSimLive(state.sim.status));
    },
  };
}

// -- fallback log -----------------------------------------------------------------------------------

export function fallbackView() {
  const list = h("ol", { class: "fallbacks" });
  const el = h("section", { class: "card sim-fallbacks", "aria-labelledby": "fallbacks-title" },
    h("h2", { id: "fallbacks-title" }, "Fallback log"), list);
  let drawn = "";
  return {
    el,
    update(state) {
      const entries = state.fallbacks;
      const sig = JSON.stringify([entries, state.crew.map((m) => m.name)]);
      if (sig === drawn) return;
      drawn = sig;
      if (!entries.length) {
        fill(list, h("li", { class: "muted" }, "No fallbacks: every crew member was there."));
        return;
      }
      fill(list, entries.map((f) => h("li", { class: "fallback", dataset: { strategy: f.fallback_strategy } },
        h("span", { class: "tag" }, f.fallback_strategy), " ",
        h("span", { class: "text" }, f.original_resource_id ? nameOf(state, f.original_resource_id) : "—"),
        f.fallback_resource_id ? [" → ", h("span", { class: "text" }, nameOf(state, f.fallback_resource_id))] : null,
        ": ", h("span", { class: "fallback-reason text" }, f.reason), " ", h("span", { class: "muted" }, when(f.created_at)))));
    },
  };
}
