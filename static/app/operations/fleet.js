// The team's agents as cards: online dot, name, live status, type, deployed version, last activity,
// the latest deployment's progress and the workflow counters. A card's name selects the agent (its
// panel opens below). Cards are kept keyed (dom.js syncList): an unchanged one keeps its element.

import { h, syncList } from "../dom.js";
import { ago, plural } from "../format.js";
import { orderedAgents } from "./state.js";
import { agentLabel, progressText, statusBadge, when } from "./words.js";

function fact(cls, label, ...value) {
  return h("div", { class: ["ops-fact", cls] }, h("dt", {}, label), h("dd", {}, ...value));
}

function onlineDot(online) {
  const word = online ? "online" : "offline";
  return h("span", { class: ["ops-online", online && "is-online"], dataset: { online: String(Boolean(online)) },
    title: `Connected: ${word}` }, h("span", { class: "visually-hidden" }, word));
}

export function latestLine(d, cls = "ops-latest") {
  return h("span", { class: [cls, "text", d && `ops-deploy-${d.status}`], dataset: { status: d ? d.status : "none" } },
    progressText(d));
}

function workflowText(w) {
  if (!w) return h("span", { class: "muted" }, "none");
  return h("span", { class: "ops-workflow-counters" }, h("span", { class: "ops-workflow-name text" }, w.name), " · ",
    plural(w.execution_count, "run"), " · ", h("span", { class: "ops-ok" }, `${w.success_count} ok`), " · ",
    h("span", { class: w.error_count ? "ops-bad" : "" }, plural(w.error_count, "error")));
}

function card(a, selected, onSelect) {
  const name = agentLabel(a);
  return h("li", { class: ["ops-agent", selected && "is-selected"], dataset: { agentId: a.agent_id, status: a.status } },
    h("div", { class: "ops-agent-top" },
      onlineDot(a.online),
      h("button", { type: "button", class: "link ops-agent-name text", "aria-pressed": String(selected),
        onclick: () => onSelect(a.agent_id) }, name),
      statusBadge(a.status)),
    h("p", { class: "ops-agent-handle muted text" }, a.name, a.owner ? ` · owner ${a.owner}` : ""),
    h("dl", { class: "ops-agent-facts" },
      fact("ops-type", "Type", h("span", { class: "text" }, a.type)),
      fact("ops-version", "Deployed", a.deployed_version ? `v${a.deployed_version}` : "none"),
      fact("ops-activity", "Last activity", a.last_activity
        ? h("time", { datetime: a.last_activity, title: when(a.last_activity) }, ago(a.last_activity)) : "never"),
      fact("ops-latest-box", "Latest deployment", latestLine(a.latest_deployment)),
      fact("ops-workflow", "Workflow", workflowText(a.workflow))));
}

export function fleetView(onSelect) {
  const list = h("ul", { class: "ops-agents" });
  const empty = h("p", { class: "empty ops-no-agents", hidden: true },
    "No agents in this team yet. An agent's owner (an admin or agent manager here) puts it in the team.");
  const heading = h("h2", {}, "Agents");
  const el = h("section", { class: "section ops-fleet" }, heading, empty, list);

  function update(state, selected) {
    const agents = orderedAgents(state);
    heading.textContent = `Agents (${agents.length})`;
    empty.hidden = agents.length > 0;
    // the clock moves too: "2 min ago" is part of what a card shows
    syncList(list, agents, (a) => a.agent_id,
      (a) => JSON.stringify([a, a.agent_id === selected, ago(a.last_activity)]),
      (a) => card(a, a.agent_id === selected, onSelect));
  }

  return { el, update };
}
