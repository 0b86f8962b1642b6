// Benchmarks in words and numbers (docs/protocol.md, "Benchmarks").

import { h, route } from "../dom.js";

export const ENTRY_STATUSES = {
  submitted: "Submitted",
  processing: "Processing",
  evaluated: "Evaluated",
  failed: "Failed",
  rejected: "Rejected",
};

export const isEntrySettled = (status) => ["evaluated", "failed", "rejected"].includes(status);

export const METRICS = {
  overall: "Overall",
  correctness: "Correctness",
  efficiency: "Efficiency",
  speed: "Speed",
  cost: "Cost",
};

export const PERIODS = { all: "All time", month: "Last 30 days", week: "Last 7 days", day: "Last 24 hours" };

export const AXES = { cost: "Cost (USD)", tokens: "Tokens", time: "Time (s)" };

export const DIFFICULTIES = { beginner: "Beginner", intermediate: "Intermediate", advanced: "Advanced" };

export const VALIDATION = { valid: "Valid", invalid: "Invalid", suspicious: "Suspicious", pending: "Pending" };

export function entryPill(status) {
  return h("span", { class: ["pill", "entry-status", `entry-${status}`], dataset: { status } },
    ENTRY_STATUSES[status] || status);
}

/** 0–100 with one decimal, or a dash. */
export function score(value) {
  return value === null || value === undefined ? "–" : Number(value).toFixed(1);
}

export function usd(value) {
  if (value === null || value === undefined) return "–";
  if (value === 0) return "$0";
  return value < 0.01 ? `$${value.toPrecision(2)}` : `$${value.toFixed(value < 10 ? 3 : 2)}`;
}

export function secondsText(value) {
  if (value === null || value === undefined) return "–";
  return value < 10 ? `${value.toFixed(2)} s` : `${Math.round(value)} s`;
}

/** Who submitted: the agent (with its owner) or the user, linked to the user's profile. */
export function submitterLink(sub) {
  if (!sub) return "";
  const user = sub.username ? h("a", { class: "submitter-user", href: route("users", sub.username) }, sub.username) : null;
  if (sub.agent_name) {
    return h("span", { class: "submitter" },
      sub.agent_id ? h("a", { class: "submitter-agent", href: route("agent", sub.agent_id) }, sub.agent_name) : sub.agent_name,
      user ? [h("span", { class: "muted" }, " by "), user] : null);
  }
  return h("span", { class: "submitter" }, user || "someone");
}

/** A 0–100 score as a number and a thin bar. */
export function scoreBar(value, label) {
  const pct = Math.max(0, Math.min(100, Number(value) || 0));
  return h("div", { class: "score", dataset: { metric: label } },
    h("div", { class: "score-head" }, h("span", { class: "score-label" }, METRICS[label] || label),
      h("span", { class: "score-value" }, score(value))),
    h("div", { class: "score-track", "aria-hidden": "true" },
      h("span", { class: "score-fill", style: { width: `${pct}%` } })));
}
