// The operations console. `#/ops`: your teams and a form to make one. `#/ops/<team id>` (and
// `#/ops/<team id>/<agent id>`, an agent selected): the team's agents with their live status,
// deployments and workflow counters; the selected agent's status control, deploy form, deployment
// history with rollback, and metrics chart; budgets, usage, your notifications by priority, and the
// members. Live through the team room `team:<id>` (rooms.js: each event once and in order); what no
// event tells (whether an agent is connected) is read again now and then. Without the client
// library: the same over REST, polled.

import { UUID_RE, currentUser, getJSON } from "../api.js";
import { fill, h, problemCard, route } from "../dom.js";
import { agentPanel } from "../operations/agent_panel.js";
import { fleetView } from "../operations/fleet.js";
import { budgetsView, membersView, notificationsView, usageView } from "../operations/panels.js";
import { applyEvent, fromSnapshot, mergeDashboard, noteDeployment } from "../operations/state.js";
import { teamsPage } from "../operations/teams.js";
import { agentLabel, maySteer, roleTag } from "../operations/words.js";
import { RoomFeed } from "../rooms.js";

const DASHBOARD_EVERY_MS = 20000; // what no event carries (another workflow's counters), read again
const POLL_MS = 4000; // without the live client
const DEBOUNCE_MS = 250;

function problem(root, title, text) {
  problemCard(root, title, text, ["#/ops", "Back to your teams"], "ops-missing");
}

function notFound(root) {
  problem(root, "Team not found",
    "It does not exist, or you are not a member of it: only a team's members see its console. Ask one of its admins to add you.");
}

function signIn(root) {
  problem(root, "Sign in to see operations",
    "The operations console shows the teams you are a member of: sign in first.");
}

export async function mount(root, [teamRef, agentRef], { conn }) {
  document.title = "Agent Arena · Operations";
  root.append(h("p", { class: "loading" }, "Loading…"));
  const me = await currentUser();
  if (!me) {
    signIn(root);
    return null;
  }
  if (teamRef === undefined) {
    root.replaceChildren();
    return teamsPage(root);
  }
  if (!UUID_RE.test(teamRef)) {
    notFound(root);
    return null;
  }
  return consoleView(root, teamRef.toLowerCase(), agentRef && UUID_RE.test(agentRef) ? agentRef.toLowerCase() : null,
    me, conn);
}

function consoleView(root, teamId, wantedAgent, me, conn) {
  const teamApi = `/api/teams/${encodeURIComponent(teamId)}`;
  let state = null;
  let shown = false;
  let ended = false;
  let frame = 0;
  let selected = wantedAgent;
  let panel = null;
  const timers = [];
  const dirty = new Set(["team", "agents", "budgets"]);

  // -- the page's parts -----------------------------------------------------------------------------

  const title = h("h1", { class: "ops-team-name text" });
  const facts = h("p", { class: "ops-team-facts muted" });
  const detailBox = h("div", { class: "ops-detail-box" });
  const fleet = fleetView((agentId) => select(agentId === selected ? null : agentId));
  const budgets = budgetsView();
  // usage, notifications and members read the server: made once the watch says this is a member
  let usage = null;
  let notes = null;
  let members = null;
  const side = h("div", { class: "ops-side" }, budgets.el);
  const pickHint = h("p", { class: "muted ops-pick-hint" }, "Choose an agent to see its deployments and metrics.");
  const page = h("article", { class: "ops-console", dataset: { teamId } },
    h("nav", { class: "toolbar", "aria-label": "Operations" }, h("a", { class: "back", href: "#/ops" }, "← Teams")),
    h("header", { class: "ops-head" }, title, facts),
    h("div", { class: "ops-grid" },
      h("div", { class: "ops-main" }, fleet.el, pickHint, detailBox),
      side));

  const nameOf = (agentId) => {
    const row = state?.agents.get(agentId);
    return row ? agentLabel(row) : "an agent of the team";
  };
  const canSteer = (agentId) => Boolean(state && maySteer(state.role, me, state.agents.get(agentId)));

  // -- drawing --------------------------------------------------------------------------------------

  function render() {
    frame = 0;
    if (!state || ended) return;
    if (state.gone) {
      ended = true;
      stopAll();
      problem(root, state.gone === "deleted" ? "This team was deleted" : "You are no longer in this team",
        state.gone === "deleted" ? "Its agents stay their owners'." : "You were removed from this team (or left it), so its console is closed.");
      return;
    }
    if (!shown) {
      fill(root, page);
      shown = true;
    }
    if (dirty.has("team")) {
      title.textContent = state.team.name;
      document.title = `Agent Arena · Operations · ${state.team.name}`;
      fill(facts, h("span", { class: "text" }, state.team.slug), ` · plan ${state.team.plan} · you are `, roleTag(state.role, "ops-my-role"));
      if (members) members.drawForm(state.role);
      if (panel) panel.update();
    }
    if (dirty.has("agents") || dirty.has("team")) {
      if (selected && !state.agents.has(selected) && dirty.has("agents")) select(null);
      fleet.update(state, selected);
      if (panel) panel.update();
      pickHint.hidden = Boolean(selected) || state.agents.size === 0;
    }
    if (dirty.has("budgets") || dirty.has("agents")) budgets.update(state, nameOf);
    dirty.clear();
  }

  const schedule = (...what) => {
    for (const w of what) dirty.add(w);
    if (!frame) frame = requestAnimationFrame(render);
  };

  function select(agentId) {
    if (panel) {
      panel.stop();
      panel = null;
    }
    selected = agentId && state?.agents.has(agentId) ? agentId : null;
    history.replaceState(null, "", selected ? route("ops", teamId, selected) : route("ops", teamId));
    if (selected) {
      panel = agentPanel(selected, {
        row: () => state.agents.get(selected),
        canSteer: () => canSteer(selected),
        onClose: () => select(null),
        changed: (agent) => {
          // the answer to a PATCH: the row as the event will say it (the event changes nothing more)
          const old = state.agents.get(agent.agent_id);
          if (old) state.agents.set(agent.agent_id, { ...old, ...agent });
          schedule("agents");
        },
        deployed: (d) => {
          if (noteDeployment(state, d)) schedule("agents");
        },
      });
      fill(detailBox, panel.el);
    } else {
      fill(detailBox);
    }
    schedule("agents");
  }

  // -- reading what events do not carry -------------------------------------------------------------

  let dashboardBusy = false;
  async function readDashboard() {
    if (dashboardBusy || !state) return;
    dashboardBusy = true;
    const since = state.touched;
    try {
      const board = await getJSON(`${teamApi}/agents`);
      if (ended) return;
      mergeDashboard(state, board.items, since);
      schedule("agents");
      fillErrors();
    } catch {
      // the next read tries again
    } finally {
      dashboardBusy = false;
    }
  }
  let dashboardTimer = null;
  const readDashboardSoon = () => {
    clearTimeout(dashboardTimer);
    dashboardTimer = setTimeout(readDashboard, DEBOUNCE_MS);
  };

  // The dashboard's latest deployment has no error message: a failed one's is read once.
  const askedErrors = new Set();
  function fillErrors() {
    for (const row of state.agents.values()) {
      const d = row.latest_deployment;
      if (!d || d.status !== "failed" || d.error_message || askedErrors.has(d.id)) continue;
      askedErrors.add(d.id);
      getJSON(`/api/deployments/${encodeURIComponent(d.id)}`).then((full) => {
        if (ended) return;
        const now = state.agents.get(full.agent_id)?.latest_deployment;
        if (now && now.id === full.id && !now.error_message) {
          now.error_message = full.error_message;
          schedule("agents");
        }
      }).catch(() => {});
    }
  }

  async function readBudgets() {
    try {
      const list = await getJSON(`${teamApi}/budgets`);
      if (ended || !state) return;
      // a budget an event told of meanwhile is newer than this read
      for (const b of list.items) if (!state.budgets.get(b.id)?.live) state.budgets.set(b.id, b);
      schedule("budgets");
    } catch (err) {
      if (!ended) budgets.problem.textContent = `The budgets cannot be loaded: ${err.message}`;
    }
  }

  let metricsTimer = null;
  const metricsSoon = () => {
    clearTimeout(metricsTimer);
    metricsTimer = setTimeout(() => panel && panel.metrics(), DEBOUNCE_MS);
  };
  let membersTimer = null;
  const membersSoon = () => {
    clearTimeout(membersTimer);
    membersTimer = setTimeout(() => members && members.load(), DEBOUNCE_MS);
  };

  // -- the snapshot and the events ------------------------------------------------------------------

  function started(snapshot) {
    const first = state === null;
    state = fromSnapshot(snapshot, teamId);
    schedule("team", "agents", "budgets");
    if (first) {
      usage = usageView(teamId);
      notes = notificationsView(conn);
      members = membersView(teamId);
      side.append(usage.el, notes.el, members.el);
      readBudgets();
      fillErrors();
      if (selected) {
        const wanted = selected;
        selected = null;
        if (state.agents.has(wanted)) select(wanted);
        else history.replaceState(null, "", route("ops", teamId));
      }
      timers.push(setInterval(readDashboard, DASHBOARD_EVERY_MS));
      timers.push(setInterval(() => schedule("agents"), 30000)); // "2 min ago" moves on
    }
  }

  function onEvent(ev) {
    if (!state) return;
    const r = applyEvent(state, ev, me);
    if (r.deployments && panel && r.deployments.agent_id === selected) panel.deployment(r.deployments);
    if (r.metrics && r.metrics.agent_id === selected) metricsSoon();
    if (r.members) membersSoon();
    if (r.refresh) readDashboardSoon();
    if (r.what.size) schedule(...r.what);
  }

  function failed(err) {
    ended = true;
    stopAll();
    if (err?.code === "team.not_found" || err?.code === "room.not_found" || err?.status === 404) notFound(root);
    else problem(root, "The team cannot be loaded", err?.message || "Check your connection and reload.");
  }

  let feed = null;
  function stopAll() {
    if (feed) feed.stop();
    for (const t of timers) clearInterval(t);
    clearTimeout(dashboardTimer);
    clearTimeout(metricsTimer);
    clearTimeout(membersTimer);
    cancelAnimationFrame(frame);
    if (panel) panel.stop();
    for (const part of [usage, notes, members]) if (part) part.stop();
  }

  if (conn) {
    feed = new RoomFeed(conn, {
      room: `team:${teamId}`,
      onSnapshot: (snapshot) => started(snapshot),
      onEvent,
      onError: (err) => failed(err),
    }).start();
  } else {
    // no live client: the team and its agents over REST, read again every few seconds
    let busy = false;
    const poll = async () => {
      if (busy || ended) return;
      busy = true;
      try {
        if (!state) {
          const [team, board] = await Promise.all([getJSON(teamApi), getJSON(`${teamApi}/agents`)]);
          if (!ended) started({ team, agents: board.items });
        } else {
          await Promise.all([readDashboard(), readBudgets()]);
        }
      } catch (err) {
        if (!state) failed(err);
      } finally {
        busy = false;
      }
    };
    poll();
    timers.push(setInterval(poll, POLL_MS));
  }
  window.arena = window.arena || {};
  window.arena.ops = { state: () => state, feed }; // for the curious (and the browser tests)

  return () => {
    ended = true;
    stopAll();
    if (window.arena?.ops?.feed === feed) delete window.arena.ops;
  };
}
