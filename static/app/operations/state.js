// A team's console as the page keeps it: the snapshot of watching `team:<id>` (the team and its
// agents as dashboard rows), then the room's events applied in seq order. `applyEvent` answers what
// changed, so the view redraws only that: a set of words among "team", "agents", "budgets",
// "members", "gone", and the agent ids whose deployments or metrics moved.

import { newer } from "./words.js";

export function fromSnapshot(snapshot, teamId) {
  const state = {
    teamId,
    team: snapshot.team,
    role: snapshot.team?.role || null, // the watcher's role (the snapshot is read as them)
    agents: new Map(),
    budgets: new Map(),
    gone: null, // "deleted" | "removed" once the team is no more for this person
    touched: 0, // agent rows changed by events (a REST refresh started before must not undo them)
  };
  for (const a of snapshot.agents || []) state.agents.set(a.agent_id, { ...a, touchedAt: 0 });
  return state;
}

/** The agents, as the dashboard orders them (by name). */
export function orderedAgents(state) {
  return [...state.agents.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

function latestOf(d) {
  return { id: d.id, version: d.version, status: d.status, deployed_at: d.deployed_at, created_at: d.created_at,
    error_message: d.error_message ?? null };
}

/** A deployment (an event's or a REST answer's) as the agent's latest, when it is. */
export function noteDeployment(state, d) {
  const row = state.agents.get(d.agent_id);
  if (!row) return false;
  const latest = row.latest_deployment;
  if (latest && d.version < latest.version) return false;
  if (latest && d.id === latest.id && !newer(latest, d)) return false;
  row.latest_deployment = latestOf(d);
  return true;
}

/**
 * One room event. `me`: the signed-in person ({id, username}). Answers {what: Set, agents: Set of
 * agent ids whose deployments moved, metrics: agent id or null, refresh: whether the dashboard
 * should be read again (something the event alone cannot tell)}.
 */
export function applyEvent(state, ev, me) {
  const what = new Set();
  const result = { what, deployments: null, metrics: null, refresh: false, members: false };
  const data = ev.data || {};
  switch (ev.type) {
    case "ops:agent": {
      const agent = data.agent;
      if (!agent) break;
      state.touched += 1;
      if (agent.team_id && agent.team_id !== state.teamId) {
        if (state.agents.delete(agent.agent_id)) what.add("agents");
        break;
      }
      const old = state.agents.get(agent.agent_id);
      if (old) {
        state.agents.set(agent.agent_id, { ...old, ...agent, touchedAt: state.touched });
      } else {
        // new in the team: what the event does not carry comes with the next dashboard read
        state.agents.set(agent.agent_id, { online: false, latest_deployment: null, workflow: null, ...agent,
          touchedAt: state.touched });
        result.refresh = true;
      }
      what.add("agents");
      break;
    }
    case "ops:presence": {
      const row = state.agents.get(data.agent_id);
      if (row) {
        row.online = Boolean(data.online);
        what.add("agents");
      }
      break;
    }
    case "ops:budget_deleted":
      if (state.budgets.delete(data.budget_id)) what.add("budgets");
      break;
    case "ops:agent_left":
      state.touched += 1;
      if (state.agents.delete(data.agent_id)) what.add("agents");
      break;
    case "ops:deployment": {
      const d = data.deployment;
      if (!d) break;
      if (noteDeployment(state, d)) what.add("agents");
      result.deployments = d;
      break;
    }
    case "ops:budget":
      if (data.budget) {
        state.budgets.set(data.budget.id, { ...data.budget, live: true });
        what.add("budgets");
      }
      break;
    case "ops:metrics":
      result.metrics = data;
      break;
    case "ops:workflow": {
      const w = data.workflow;
      const row = w && state.agents.get(w.agent_id);
      if (!row) break;
      if (!row.workflow || row.workflow.workflow_id === w.id) {
        row.workflow = { workflow_id: w.id, name: w.name, execution_count: w.execution_count,
          success_count: w.success_count, error_count: w.error_count };
        what.add("agents");
      } else {
        result.refresh = true; // another workflow of the agent: the dashboard shows its latest one
      }
      break;
    }
    case "team:member": {
      result.members = true;
      const member = data.member || {};
      if (me && member.user_id === me.id) {
        if (data.action === "removed") {
          state.gone = "removed";
          what.add("gone");
        } else if (member.role) {
          state.role = member.role;
          what.add("team");
        }
      }
      break;
    }
    case "team:updated":
      // the team as its updater sees it: keep the watcher's own role
      if (data.team) {
        state.team = { ...state.team, ...data.team, role: state.role };
        what.add("team");
      }
      break;
    case "team:deleted":
      state.gone = "deleted";
      what.add("gone");
      break;
    default:
      break;
  }
  return result;
}

/**
 * A dashboard read by REST (`GET /api/teams/{id}/agents`) started when `state.touched` was `since`:
 * rows no event changed meanwhile are taken as read; the others keep what the events said (only
 * whether the agent is online is taken from the read as well).
 */
export function mergeDashboard(state, items, since) {
  const seen = new Set();
  for (const item of items) {
    seen.add(item.agent_id);
    const old = state.agents.get(item.agent_id);
    if (!old || old.touchedAt <= since) {
      const ours = old?.latest_deployment;
      const read = item.latest_deployment;
      const row = { ...item, touchedAt: old ? old.touchedAt : 0 };
      if (ours && (!read || ours.version > read.version)) {
        row.latest_deployment = ours; // an event told of a newer one after the read
      } else if (ours && read && ours.id === read.id) {
        // the one further along, with the error message the dashboard does not carry
        row.latest_deployment = newer(ours, read) ? { ...read, error_message: ours.error_message ?? null } : ours;
      }
      state.agents.set(item.agent_id, row);
    } else {
      old.online = item.online;
      if (!old.workflow || (item.workflow && old.workflow.workflow_id !== item.workflow.workflow_id)) {
        old.workflow = item.workflow;
      }
    }
  }
  for (const [id, row] of [...state.agents]) if (!seen.has(id) && row.touchedAt <= since) state.agents.delete(id);
}
