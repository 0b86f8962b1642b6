// A simulation as the page keeps it: the snapshot of simulation:watch / simulation:get, then its
// room events applied in seq order (docs/protocol.md, "Simulations"). Applying an event twice
// changes nothing (runs and messages are upserted by id), so an overlap between a snapshot and the
// live events is harmless. An event whose effect the page cannot compute from its data alone (a
// fallback that changed the crew, a delegation's new run) asks for a fresh snapshot: `applyEvent`
// returns "refresh".

export const SIM_STATUSES = {
  ready: "Ready",
  starting: "Starting",
  running: "Running",
  completed: "Completed",
  failed: "Failed",
  failed_missing_resources: "Missing crew",
  cancelled: "Cancelled",
};

export const RUN_STATUSES = {
  pending: "Pending",
  running: "Working",
  waiting_human: "Asked a question",
  awaiting_approval: "Awaiting approval",
  completed: "Completed",
  skipped: "Skipped",
  failed: "Failed",
  cancelled: "Cancelled",
};

export const MEMBER_STATUSES = {
  pending: "Waiting",
  active: "In the crew",
  missing: "Missing",
  substituted: "Substituted",
  skipped: "Skipped",
};

export const isSimEnded = (status) => ["completed", "failed", "failed_missing_resources", "cancelled"].includes(status);
export const isSimLive = (status) => ["starting", "running"].includes(status);
export const isRunOpen = (status) => ["pending", "running", "waiting_human", "awaiting_approval"].includes(status);

const SIM_FIELDS = [
  "id", "scenario_id", "title", "user_id", "starter_agent_id", "process_type", "manager_agent_id",
  "max_iterations", "max_retries", "task_timeout_s", "connect_wait_s", "fallback_strategy", "message_policy",
  "crew_configuration", "is_public", "status", "completion_summary", "failure_reason", "fallback_log",
  "iterations", "forked_from", "forked_from_position", "started_at", "completed_at", "created_at",
  "updated_at", "last_seq", "room",
];

export function fromSnapshot(snap) {
  const sim = {};
  for (const key of SIM_FIELDS) sim[key] = snap[key];
  const state = {
    sim,
    scenario: snap.scenario || null,
    crew: snap.crew || [],
    runs: new Map(),
    messages: new Map(),
    fallbacks: snap.fallbacks || [],
    delegations: [], // {from_agent_id, to_agent_id, task_run_id, iteration}, in order
  };
  for (const run of snap.tasks || []) state.runs.set(run.id, { ...run });
  for (const m of snap.messages || []) state.messages.set(m.id, m);
  // The delegation graph of a snapshot is in its runs (a plan task handed over, or a new one), in the
  // order they were handed out; live ones come as simulation:delegation.
  const handed = orderedRuns(state).filter((r) => r.delegated_by_agent_id)
    .sort((a, b) => (Date.parse(a.started_at) || Infinity) - (Date.parse(b.started_at) || Infinity) || a.position - b.position);
  handed.forEach((run, i) => state.delegations.push({ from_agent_id: run.delegated_by_agent_id, to_agent_id: run.agent_id,
    task_run_id: run.id, iteration: i + 1 }));
  return state;
}

export function orderedRuns(state) {
  return [...state.runs.values()].sort((a, b) => a.position - b.position);
}

export function orderedMessages(state) {
  return [...state.messages.values()].sort((a, b) => Date.parse(a.created_at) - Date.parse(b.created_at) || (a.id < b.id ? -1 : 1));
}

/** Agent id -> a name to show: the crew's names, else the id's first characters. */
export function nameOf(state, agentId) {
  if (!agentId) return "—";
  const m = state.crew.find((c) => c.agent_id === agentId || c.original_agent_id === agentId);
  if (m) return m.display_name || m.name || agentId.slice(0, 8);
  return agentId.slice(0, 8);
}

function upsertRun(state, run) {
  if (!run || !run.id) return false;
  const had = state.runs.get(run.id);
  state.runs.set(run.id, { ...had, ...run });
  return true;
}

function patchRun(state, id, patch) {
  const run = state.runs.get(id);
  if (!run) return "refresh";
  Object.assign(run, patch);
  return true;
}

/** Apply one room event. true: the state changed; "refresh": reload the snapshot; false: ignored. */
export function applyEvent(state, ev) {
  const d = ev.data || {};
  if (typeof ev.seq === "number") state.sim.last_seq = Math.max(state.sim.last_seq || 0, ev.seq);
  switch (ev.type) {
    case "simulation:status":
      state.sim.status = d.status;
      if (Array.isArray(d.crew)) state.crew = d.crew;
      if (d.status === "running" && !state.sim.started_at) state.sim.started_at = ev.at;
      return Array.isArray(d.crew) || d.status === "ready" ? "refresh" : true;
    case "simulation:task_started":
    case "simulation:task_retry":
    case "simulation:task_completed":
    case "simulation:task_skipped":
    case "simulation:task_failed":
    case "simulation:task_cancelled":
    case "simulation:approval_needed":
      return upsertRun(state, d.task_run);
    case "simulation:task_progress": {
      const run = state.runs.get(d.task_run_id);
      if (!run) return "refresh";
      run.progress = (run.progress || "") + d.text;
      return true;
    }
    case "simulation:deadline_missed":
      return patchRun(state, d.task_run_id, { error: "deadline missed", deadline_at: null });
    case "simulation:approved":
      return patchRun(state, d.task_run_id, { status: "running" }); // task_completed follows
    case "simulation:sent_back":
      return patchRun(state, d.task_run_id, { status: "running", error: null });
    case "simulation:question":
      state.messages.set(d.message.id, d.message);
      return patchRun(state, d.task_run_id, { status: "waiting_human", deadline_at: null });
    case "simulation:answer":
      state.messages.set(d.message.id, d.message);
      if (d.message.task_run_id) patchRun(state, d.message.task_run_id, { status: "running" });
      return true;
    case "simulation:message":
    case "simulation:message_delivered":
    case "simulation:response":
      if (!d.message) return false;
      state.messages.set(d.message.id, d.message);
      return true;
    case "simulation:interrupted":
      return patchRun(state, d.task_run_id, { error: "interrupted by a message" });
    case "simulation:delegation":
      if (!state.delegations.some((x) => x.task_run_id === d.task_run_id)) {
        state.delegations.push({ from_agent_id: d.from_agent_id, to_agent_id: d.to_agent_id,
          task_run_id: d.task_run_id, iteration: d.iteration });
      }
      state.sim.iterations = Math.max(state.sim.iterations || 0, d.iteration || 0);
      return state.runs.has(d.task_run_id) ? true : "refresh";
    case "simulation:fallback":
      if (!state.fallbacks.some((f) => f.id === d.id)) state.fallbacks.push(d);
      return "refresh"; // the crew changed (a substitute, a skipped member)
    case "simulation:ended":
      state.sim.status = d.status;
      state.sim.completion_summary = d.completion_summary;
      state.sim.failure_reason = d.failure_reason;
      state.sim.completed_at = state.sim.completed_at || ev.at;
      return "refresh"; // the open runs were closed with it
    default:
      return "refresh"; // an event this page does not know yet: the snapshot has its effect
  }
}
