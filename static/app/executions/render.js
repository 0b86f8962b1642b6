// Drawing an execution (executions/state.js): header, step timeline, thoughts tree, artifacts.
// Everything an agent wrote (input, names, outputs, thoughts, artifact JSON, messages) becomes text
// nodes only (dom.js has no way to pass markup).

import { fill, h, route, syncList } from "../dom.js";
import {
  EXEC_STATUSES, STEP_STATUSES, agentName, ago, duration, isExecEnded,
} from "../format.js";

const INPUT_SHOWN = 600; // characters of the input shown before "Show all"
const OUTPUT_SHOWN = 4000;
const JSON_SHOWN = 200000;

export function execStatusPill(status) {
  return h("span", { class: ["pill", "exec-status", `exec-${status}`], dataset: { status } }, EXEC_STATUSES[status] || status);
}

/** A text that may be long: the first `limit` characters, and a button for the rest. */
export function longText(tag, cls, text, limit, { expanded = false, onExpand = null } = {}) {
  const value = String(text ?? "");
  if (expanded || value.length <= limit) return h(tag, { class: `${cls} text` }, value);
  const el = h(tag, { class: `${cls} text` }, value.slice(0, limit) + "…");
  const more = h("button", { type: "button", class: "button small show-all" }, `Show all (${value.length.toLocaleString("en-US")} characters)`);
  more.addEventListener("click", () => {
    el.textContent = value;
    more.remove();
    if (onExpand) onExpand();
  });
  return h("div", { class: "long-text" }, el, more);
}

/** An element whose text is the time since `startedAt` (kept current by tickElapsed). */
function elapsed(startedAt, prefix = "") {
  return h("span", { class: "elapsed", dataset: { since: startedAt, prefix } }, prefix);
}

/** Refresh every running clock in `root`; `now` is the server's time (ms). */
export function tickElapsed(root, now) {
  for (const el of root.querySelectorAll(".elapsed[data-since]")) {
    const since = Date.parse(el.dataset.since);
    if (Number.isFinite(since)) el.textContent = `${el.dataset.prefix || ""}${duration(Math.max(0, now - since))}`;
  }
}

export function fact(label, ...value) {
  return h("div", { class: "fact" }, h("dt", {}, label), h("dd", {}, ...value));
}

function stepLabel(state, id) {
  if (id === null || id === undefined) return null;
  const step = state.steps.find((s) => s.id === id);
  return step ? step.name : id;
}

export function headerView() {
  const el = h("header", { class: "exec-head" });
  let drawn = "";
  let inputExpanded = false; // kept across redraws

  function update(state, extra) {
    const e = state.execution;
    // Redraw only when something shown changed (the running clocks tick on their own).
    const sig = JSON.stringify([e, state.steps.map((s) => [s.id, s.name, s.status])]);
    if (sig === drawn) return;
    drawn = sig;
    const done = state.steps.filter((s) => s.status === "completed").length;
    const ended = isExecEnded(e.status);
    const facts = [
      fact("Agent", h("a", { class: "exec-agent", href: route("agent", e.agent.id) }, agentName(e.agent))),
      fact("Current step", e.current_step !== null && e.current_step !== undefined
        ? h("span", { class: "exec-current-step text" }, stepLabel(state, e.current_step)) : "–"),
      fact("Steps", `${done} of ${e.total_steps ?? state.steps.length} completed`),
      fact("Corrections", h("span", { class: "exec-corrections" }, String(e.corrections_applied ?? 0))),
      fact("Created", h("time", { datetime: e.created_at, title: new Date(e.created_at).toLocaleString() }, ago(e.created_at))),
      fact("Started", e.started_at
        ? h("time", { datetime: e.started_at, title: new Date(e.started_at).toLocaleString() }, ago(e.started_at))
        : "not yet"),
      fact(ended ? "Duration" : "Running for",
        ended ? h("span", { class: "exec-duration" }, e.duration_ms !== null ? duration(e.duration_ms) : "–")
          : e.started_at ? elapsed(e.started_at) : "–"),
    ];
    const notes = [];
    if (e.error_message) {
      notes.push(h("div", { class: "exec-error", role: "alert" }, h("strong", {}, e.status === "cancelled" ? "Cancelled: " : "Error: "),
        h("span", { class: "exec-error-message text" }, e.error_message)));
    }
    if (e.cancel_deadline_at && !ended) {
      notes.push(h("p", { class: "exec-cancelling" }, "Cancelling: the executor has been asked to stop",
        e.cancel_reason ? [" (", h("span", { class: "text" }, e.cancel_reason), ")"] : "",
        `; it ends by ${new Date(e.cancel_deadline_at).toLocaleTimeString()} at the latest.`));
    }
    fill(el,
      h("div", { class: "exec-title-row" }, execStatusPill(e.status),
        h("span", { class: "tag exec-input-type text" }, e.input_type),
        e.is_public ? null : h("span", { class: "tag warn" }, "private"),
        extra || null),
      h("h1", { class: "exec-title" }, "Execution"),
      h("div", { class: "exec-input-box" }, h("span", { class: "exec-input-label muted" }, "Input"),
        longText("p", "exec-input", e.input_value, INPUT_SHOWN,
          { expanded: inputExpanded, onExpand: () => { inputExpanded = true; } }),
        e.input_file && String(e.input_file.url || "").startsWith("/api/")
          ? h("a", { class: "button small", href: e.input_file.url, download: "" },
            `Input file (${e.input_file.mime_type}, ${e.input_file.size.toLocaleString("en-US")} bytes)`)
          : null),
      h("dl", { class: "exec-facts" }, facts),
      notes);
  }

  return { el, update };
}

// -- steps ------------------------------------------------------------------------------------------

function stepItem(step, current) {
  const running = ["running", "validating", "correcting"].includes(step.status);
  const time = step.duration_ms !== null && step.duration_ms !== undefined ? duration(step.duration_ms)
    : running && step.started_at ? elapsed(step.started_at, "for ") : null;
  return h("li", {
    class: ["step", `step-${step.status}`, running && "is-running", current && "current"],
    dataset: { stepId: step.id, status: step.status },
    "aria-current": current ? "step" : null,
  },
  h("span", { class: "step-marker", "aria-hidden": "true" }),
  h("div", { class: "step-main" },
    h("div", { class: "step-head" },
      h("span", { class: "step-name text" }, step.name),
      h("span", { class: ["tag", "step-status", `step-status-${step.status}`] }, STEP_STATUSES[step.status] || step.status),
      step.attempts > 1 ? h("span", { class: "tag step-attempts" }, `${step.attempts} attempts`)
        : step.attempts === 1 ? h("span", { class: "step-attempts muted" }, "1 attempt") : null,
      time ? h("span", { class: "step-time muted" }, time) : null),
    step.description ? h("p", { class: "step-description muted text" }, step.description) : null,
    step.output !== null && step.output !== undefined && step.output !== ""
      ? longText("pre", "step-output", step.output, OUTPUT_SHOWN) : null));
}

export function stepsView() {
  const list = h("ol", { class: "steps", "aria-label": "Steps" });
  const empty = h("p", { class: "empty" }, "This execution has no steps yet.");
  const el = h("section", { class: "card exec-steps", "aria-labelledby": "steps-title" },
    h("h2", { id: "steps-title" }, "Steps"), empty, list);
  return {
    el,
    update(state) {
      const current = state.execution.current_step;
      empty.hidden = state.steps.length > 0;
      syncList(list, state.steps, (s) => s.id, (s) => JSON.stringify([s, s.id === current]),
        (s) => stepItem(s, s.id === current));
    },
  };
}

// -- thoughts ---------------------------------------------------------------------------------------

function confidence(value) {
  if (value === null || value === undefined) return null;
  const pct = Math.round(value * 100);
  return h("span", { class: "confidence", title: `confidence ${pct}%` },
    h("span", { class: "confidence-bar", "aria-hidden": "true" },
      h("span", { class: "confidence-fill", style: { width: `${pct}%` } })),
    h("span", { class: "confidence-value" }, `${pct}%`));
}

function thoughtItem(t) {
  const children = h("ul", { class: "thought-children" });
  const el = h("li", { class: ["thought", `thought-${t.type}`], dataset: { thoughtId: t.id, type: t.type } },
    h("div", { class: "thought-body" },
      h("div", { class: "thought-head" },
        h("span", { class: "tag thought-type" }, t.type),
        confidence(t.confidence),
        t.processing_time_ms !== null && t.processing_time_ms !== undefined
          ? h("span", { class: "muted thought-time" }, duration(t.processing_time_ms)) : null),
      h("p", { class: "thought-content text" }, t.content)),
    children);
  return { el, children };
}

/** The reasoning tree, drawn nested by parent_id. Thoughts only ever arrive (parents first). */
export function thoughtsView() {
  const tree = h("ul", { class: "thought-tree", "aria-label": "Thoughts" });
  const empty = h("p", { class: "empty" }, "No thoughts recorded yet.");
  const el = h("section", { class: "card exec-thoughts", "aria-labelledby": "thoughts-title" },
    h("h2", { id: "thoughts-title" }, "Thoughts"), empty, tree);
  const drawn = new Map(); // id -> {el, children}
  return {
    el,
    update(state) {
      let pending = state.thoughts.filter((t) => !drawn.has(t.id));
      // parents come first; should one be missing, its children wait a round, then go to the top
      for (let round = 0; pending.length && round < 2; round++) {
        const later = [];
        for (const t of pending) {
          const parent = t.parent_id === null || t.parent_id === undefined ? null : drawn.get(t.parent_id);
          if (t.parent_id && !parent && round === 0) {
            later.push(t);
            continue;
          }
          const item = thoughtItem(t);
          (parent ? parent.children : tree).append(item.el);
          drawn.set(t.id, item);
        }
        pending = later;
      }
      empty.hidden = drawn.size > 0;
    },
  };
}

// -- artifacts --------------------------------------------------------------------------------------

function bytes(n) {
  if (n === null || n === undefined) return "";
  if (n < 1024) return `${n} bytes`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

function artifactItem(a) {
  // file_url is made by the server; still, only a path of our own API becomes a link
  const file = typeof a.file_url === "string" && a.file_url.startsWith("/api/executions/") ? a.file_url : null;
  let body;
  if (file) {
    body = h("p", { class: "artifact-file" },
      h("a", { class: "button small artifact-download", href: file, download: "" }, "Download"),
      h("span", { class: "muted" }, ` ${[a.mime_type, bytes(a.file_size_bytes)].filter(Boolean).join(" · ")}`),
      a.sha256 ? h("code", { class: "artifact-sha", title: "SHA-256" }, a.sha256.slice(0, 12)) : null);
  } else {
    let json = JSON.stringify(a.data, null, 2) ?? "";
    if (json.length > JSON_SHOWN) json = json.slice(0, JSON_SHOWN) + "\n…";
    body = h("pre", { class: "artifact-json text" }, json);
  }
  return h("li", { class: "artifact", dataset: { artifactId: a.id, type: a.type } },
    h("div", { class: "artifact-head" },
      h("span", { class: "tag artifact-type" }, a.type),
      h("span", { class: "artifact-name text" }, a.name),
      a.verified ? h("span", { class: "tag win artifact-verified" }, "✓ verified")
        : h("span", { class: "tag artifact-unverified" }, "not verified")),
    body);
}

export function artifactsView() {
  const list = h("ul", { class: "artifacts", "aria-label": "Artifacts" });
  const empty = h("p", { class: "empty" }, "No artifacts yet.");
  const el = h("section", { class: "card exec-artifacts", "aria-labelledby": "artifacts-title" },
    h("h2", { id: "artifacts-title" }, "Artifacts"), empty, list);
  return {
    el,
    update(state) {
      empty.hidden = state.artifacts.length > 0;
      syncList(list, state.artifacts, (a) => a.id, (a) => JSON.stringify(a), artifactItem);
    },
  };
}
