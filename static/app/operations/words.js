// The operations console in words and small pieces: roles, agent and deployment statuses, priorities,
// a deployment's progress as one line, and the rule of who may steer an agent. Everything an agent
// or a person wrote (names, error messages, configs) goes in as text.

import { h } from "../dom.js";

export const ROLES = { admin: "Admin", agent_manager: "Agent manager", viewer: "Viewer" };

export const AGENT_STATUSES = { active: "Active", paused: "Paused", error: "Error", inactive: "Inactive" };

/** What a person may set (``error`` is the arena's to set: a failed deployment). */
export const SETTABLE = ["active", "paused", "inactive"];

export const DEPLOY_STATUSES = {
  pending: "pending",
  deploying: "deploying",
  deployed: "deployed",
  failed: "failed",
  stopped: "stopped",
};

export const PRIORITIES = ["critical", "high", "medium", "low"];

export const BUCKETS = ["1m", "5m", "15m", "1h", "6h", "1d"];

export const METRICS = { tokens: "Tokens", cost: "Cost", calls: "Calls" };
export const PERIODS = { day: "day", week: "week", month: "month" };

// A deployment only moves forward: pending -> deploying -> deployed | failed | stopped, and a deployed
// one may be stopped later (superseded). Events and REST answers may arrive in any order; the one
// further along wins.
const RANK = { pending: 0, deploying: 1, deployed: 2, failed: 3, stopped: 3 };

/** Whether `next` (a deployment) may replace `prev` (the same one, as known so far). */
export function newer(prev, next) {
  if (!prev) return true;
  return (RANK[next.status] ?? 0) >= (RANK[prev.status] ?? 0);
}

export const isDeployOpen = (status) => status === "pending" || status === "deploying";

/** "v3 deploying…", "v3 deployed", "v3 failed: <error>". */
export function progressText(d) {
  if (!d) return "never deployed";
  const word = DEPLOY_STATUSES[d.status] || d.status;
  if (isDeployOpen(d.status)) return `v${d.version} ${word}…`;
  if (d.status === "failed" && d.error_message) return `v${d.version} failed: ${d.error_message}`;
  return `v${d.version} ${word}`;
}

export function statusBadge(status, cls = null) {
  return h("span", { class: ["pill", "ops-status", `ops-status-${status}`, cls], dataset: { status } },
    AGENT_STATUSES[status] || status);
}

export function roleTag(role, cls = null) {
  return h("span", { class: ["tag", "ops-role", `ops-role-${role}`, cls], dataset: { role } }, ROLES[role] || role);
}

/** The name an agent is shown by (its display name, else its name). */
export function agentLabel(agent) {
  return (agent && (agent.display_name || agent.name)) || "an agent";
}

/** Whether `me` (with `role` in the team) may steer `agent`: an admin or agent manager of the team,
 * or the agent's owner (what the server allows; a viewer only looks). */
export function maySteer(role, me, agent) {
  if (role === "admin" || role === "agent_manager") return true;
  return Boolean(me && agent && agent.owner && agent.owner === me.username);
}

/** 1234.5 -> "1,234.5"; small ones with up to 3 decimals. */
export function num(value, digits = 2) {
  if (value === null || value === undefined || !Number.isFinite(Number(value))) return "–";
  return Number(value).toLocaleString("en-US", { maximumFractionDigits: digits });
}

export function when(iso) {
  if (!iso) return null;
  return new Date(iso).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

/** A form's refusal line. */
export function problemLine(cls = "") {
  return h("p", { class: ["mk-problem", "ops-problem-line", cls], role: "alert" });
}
