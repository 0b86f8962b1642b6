// The side of a team's console: budgets as bars (live from `ops:budget`), the last day's usage per
// agent as bars, this person's notifications by priority (new ones arrive live), and the members
// with their roles (an admin adds people). Every name and message goes in as text.

import { getJSON, postJSON } from "../api.js";
import { attempt, fill, h } from "../dom.js";
import { ago, plural } from "../format.js";
import { METRICS, PRIORITIES, ROLES, num, problemLine, roleTag, when } from "./words.js";

function bar(share, cls, label) {
  const pct = Math.max(0, Math.min(100, share * 100));
  return h("span", { class: ["ops-bar", cls], role: "img", "aria-label": label },
    h("span", { class: "ops-bar-fill", style: { width: `${pct.toFixed(1)}%` } }));
}

// -- budgets ---------------------------------------------------------------------------------------

function budgetItem(b, nameOf) {
  const exhausted = Boolean(b.exhausted_at);
  const subject = b.agent_id ? nameOf(b.agent_id) : "the team";
  const what = `${METRICS[b.metric] || b.metric} per ${b.period}`;
  const used = b.metric === "cost" ? `$${num(b.used, 4)} of $${num(b.limit, 4)}` : `${num(b.used)} of ${num(b.limit)}`;
  const pct = `${num(b.share * 100, 1)}%`;
  return h("li", { class: ["ops-budget", exhausted && "is-exhausted"], dataset: { budgetId: b.id, exhausted: String(exhausted),
    metric: b.metric } },
  h("div", { class: "ops-budget-head" },
    h("span", { class: "ops-budget-what" }, what),
    h("span", { class: "muted ops-budget-subject text" }, ` · ${subject}`),
    exhausted ? h("span", { class: "tag ops-exhausted", title: `since ${when(b.exhausted_at)}` }, "exhausted") : null),
  h("div", { class: "ops-budget-bar-box" }, bar(b.share, exhausted ? "is-bad" : b.share >= Math.min(...b.warn_at, 1) ? "is-warn" : "",
    `${what}: ${used} (${pct})`),
  (b.warn_at || []).map((w) => h("span", { class: "ops-warn-mark", title: `warning at ${num(w * 100, 0)}%`,
    style: { left: `${Math.min(100, w * 100)}%` } }))),
  h("p", { class: "ops-budget-text muted" }, `${used} · ${pct} · resets ${when(b.resets_at) || "–"}`));
}

export function budgetsView() {
  const list = h("ul", { class: "ops-budget-list" });
  const empty = h("p", { class: "muted ops-no-budgets", hidden: true }, "No budgets.");
  const problem = problemLine("ops-budgets-problem");
  const el = h("section", { class: "card ops-budgets" }, h("h2", {}, "Budgets"), problem, empty, list);

  function update(state, nameOf) {
    const items = [...state.budgets.values()].sort((a, b) => (a.agent_id ? 1 : 0) - (b.agent_id ? 1 : 0)
      || a.metric.localeCompare(b.metric) || a.period.localeCompare(b.period));
    empty.hidden = items.length > 0;
    fill(list, items.map((b) => budgetItem(b, nameOf)));
  }

  return { el, update, problem };
}

// -- usage -----------------------------------------------------------------------------------------

export function usageView(teamId) {
  const list = h("ul", { class: "ops-usage-list" });
  const note = h("p", { class: "muted ops-usage-note" }, "Loading…");
  const refresh = h("button", { type: "button", class: "button small ops-usage-refresh" }, "Refresh");
  const el = h("section", { class: "card ops-usage" },
    h("div", { class: "ops-card-head" }, h("h2", {}, "Usage, last 24 hours"), refresh), note, list);
  let stopped = false;

  async function load() {
    refresh.disabled = true;
    try {
      const usage = await getJSON(`/api/teams/${encodeURIComponent(teamId)}/usage`);
      if (stopped) return;
      const items = usage.items;
      const maxCalls = Math.max(1, ...items.map((u) => u.calls));
      const maxMs = Math.max(1, ...items.map((u) => u.avg_ms || 0));
      note.hidden = items.some((u) => u.calls > 0);
      note.textContent = "No API calls in the last 24 hours.";
      fill(list, items.filter((u) => u.calls > 0 || u.errors > 0).map((u) => h("li", { class: "ops-usage-row",
        dataset: { agentId: u.agent_id, calls: u.calls, errors: u.errors } },
      h("div", { class: "ops-usage-name text" }, u.name),
      h("div", { class: "ops-usage-bars" },
        h("span", { class: "ops-usage-label muted" }, "calls"),
        h("span", { class: "ops-bar ops-calls-bar", role: "img", "aria-label": `${u.calls} calls, ${u.errors} errors` },
          h("span", { class: "ops-bar-fill", style: { width: `${((100 * u.calls) / maxCalls).toFixed(1)}%` } },
            h("span", { class: "ops-bar-errors", style: { width: `${u.calls ? ((100 * u.errors) / u.calls).toFixed(1) : 0}%` } }))),
        h("span", { class: "ops-usage-label muted" }, "avg ms"),
        bar((u.avg_ms || 0) / maxMs, "ops-ms-bar", `${num(u.avg_ms, 0)} ms on average`)),
      h("p", { class: "ops-usage-text muted" }, `${plural(u.calls, "call")} · ${plural(u.errors, "error")} · `,
        u.avg_ms === null ? "no timing" : `${num(u.avg_ms, 0)} ms avg`,
        u.cost_usd === null ? "" : ` · $${num(u.cost_usd, 4)}`))));
    } catch (err) {
      if (stopped) return;
      note.hidden = false;
      note.textContent = `The usage cannot be loaded: ${err.message}`;
    } finally {
      refresh.disabled = false;
    }
  }
  refresh.addEventListener("click", load);
  load();
  return { el, load, stop: () => { stopped = true; } };
}

// -- notifications ---------------------------------------------------------------------------------

const LIMIT = 50;

export function notificationsView(conn) {
  const box = h("div", { class: "ops-note-groups" }, h("p", { class: "loading" }, "Loading…"));
  const el = h("section", { class: "card ops-notifications" }, h("h2", {}, "Your notifications"), box);
  let items = [];
  let stopped = false;
  let pushes = 0;

  function draw() {
    if (!items.length) {
      fill(box, h("p", { class: "muted ops-no-notes" }, "Nothing yet."));
      return;
    }
    const groups = PRIORITIES.map((p) => [p, items.filter((n) => n.priority === p)]).filter(([, list]) => list.length);
    fill(box, groups.map(([p, list]) => h("section", { class: ["ops-priority-group", `priority-${p}`], dataset: { priority: p } },
      h("h3", {}, `${p[0].toUpperCase()}${p.slice(1)} (${list.length})`),
      h("ul", { class: "ops-note-list" }, list.map((n) => h("li", { class: ["ops-note", !n.read_at && "unread"],
        dataset: { id: n.id, type: n.type, priority: n.priority } },
      h("span", { class: "ops-note-title text" }, n.title),
      h("span", { class: "ops-note-message muted text" }, n.message),
      h("time", { class: "ops-note-time muted", datetime: n.created_at, title: when(n.created_at) }, ago(n.created_at))))))));
  }

  async function load() {
    for (let tries = 0; tries < 3; tries++) {
      const before = pushes;
      const page = await getJSON("/api/notifications", { limit: LIMIT });
      if (stopped) return;
      if (pushes !== before) continue; // a live one overtook this read: read again
      items = page.items;
      draw();
      return;
    }
  }

  const onNotification = (payload) => {
    const n = payload?.notification;
    if (!n || stopped) return;
    pushes += 1;
    items = [n, ...items.filter((x) => x.id !== n.id)].slice(0, LIMIT);
    draw();
  };
  const onConnect = () => load().catch(() => {});
  if (conn?.socket) {
    conn.socket.on("notification", onNotification);
    conn.socket.on("connect", onConnect);
  }
  load().catch((err) => {
    if (!stopped) fill(box, h("p", { class: "mk-problem" }, `Your notifications cannot be loaded: ${err.message}`));
  });
  return {
    el,
    stop: () => {
      stopped = true;
      if (conn?.socket) {
        conn.socket.off("notification", onNotification);
        conn.socket.off("connect", onConnect);
      }
    },
  };
}

// -- members ---------------------------------------------------------------------------------------

export function membersView(teamId) {
  const list = h("ul", { class: "ops-member-list" });
  const formBox = h("div", {});
  const el = h("section", { class: "card ops-members" }, h("h2", {}, "Members"), list, formBox);
  let stopped = false;
  let formFor = null;
  const base = `/api/teams/${encodeURIComponent(teamId)}/members`;

  async function load() {
    try {
      const page = await getJSON(base);
      if (stopped) return;
      fill(list, page.items.map((m) => h("li", { class: "ops-member", dataset: { username: m.username, role: m.role } },
        h("span", { class: "ops-member-name text" }, m.username),
        m.full_name ? h("span", { class: "muted text" }, ` (${m.full_name})`) : null, " ", roleTag(m.role),
        h("span", { class: "ops-member-granted muted" }, m.granted_by ? ` granted by ${m.granted_by} ${ago(m.granted_at)}` : ""))));
    } catch (err) {
      if (!stopped) fill(list, h("li", { class: "mk-problem" }, err.message));
    }
  }

  function drawForm(role) {
    const admin = role === "admin";
    if (formFor === admin) return;
    formFor = admin;
    if (!admin) {
      fill(formBox);
      return;
    }
    const username = h("input", { class: "ops-member-username", name: "username", required: true, maxlength: 50,
      autocomplete: "off", placeholder: "username" });
    const roleSelect = h("select", { class: "ops-member-role", name: "role" },
      Object.entries(ROLES).map(([value, label]) => h("option", { value, selected: value === "viewer" }, label)));
    const submit = h("button", { type: "submit", class: "button small ops-member-add" }, "Add");
    const problem = problemLine("ops-member-problem");
    const form = h("form", { class: "mk-form ops-member-form" }, h("h3", {}, "Add a member"),
      h("label", { class: "mk-field" }, h("span", {}, "Username"), username),
      h("label", { class: "mk-field" }, h("span", {}, "Role"), roleSelect),
      h("div", { class: "mk-form-buttons" }, submit), problem);
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      const ok = await attempt(problem, submit, () => postJSON(base, { username: username.value.trim(), role: roleSelect.value }));
      if (!ok) return;
      username.value = "";
      load();
    });
    fill(formBox, form);
  }

  load();
  return { el, load, drawForm, stop: () => { stopped = true; } };
}
