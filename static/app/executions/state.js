// An execution as the page shows it: the snapshot of a watch ({execution, steps, thoughts, artifacts}),
// then room events. Every event is an upsert, so applying one twice (an answer and a live event that
// overlap) changes nothing.

export function fromSnapshot(snapshot) {
  return {
    execution: { ...snapshot.execution },
    steps: sortSteps(snapshot.steps || []),
    thoughts: [...(snapshot.thoughts || [])],
    artifacts: [...(snapshot.artifacts || [])],
    version: 0, // counts changes, so the views redraw only what changed
  };
}

function sortSteps(steps) {
  return [...steps].sort((a, b) => (a.position ?? 0) - (b.position ?? 0));
}

function upsert(list, item) {
  const i = list.findIndex((x) => x.id === item.id);
  if (i >= 0) list[i] = item;
  else list.push(item);
}

export function applyEvent(state, ev) {
  const d = ev.data || {};
  switch (ev.type) {
    case "execution:created":
      state.execution = { ...d.execution };
      if (d.steps) state.steps = sortSteps(d.steps);
      break;
    case "execution:status":
    case "execution:ended":
      if (d.execution) state.execution = { ...d.execution };
      else state.execution = { ...state.execution, status: d.status };
      break;
    case "execution:step": {
      upsert(state.steps, d.step);
      state.steps = sortSteps(state.steps);
      if (Number.isInteger(d.total_steps)) state.execution.total_steps = d.total_steps;
      // the server makes a step that becomes running the current one, without a status event
      if (d.step.status === "running") state.execution.current_step = d.step.id;
      break;
    }
    case "execution:thought":
      if (!state.thoughts.some((t) => t.id === d.thought.id)) state.thoughts.push(d.thought);
      break;
    case "execution:artifact":
      upsert(state.artifacts, d.artifact);
      break;
    case "execution:cancelling":
      state.execution = { ...state.execution, cancel_requested_at: state.execution.cancel_requested_at || ev.at,
        cancel_deadline_at: d.deadline_at, cancel_reason: d.reason };
      break;
    default:
      return false;
  }
  state.version += 1;
  return true;
}
