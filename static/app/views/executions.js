// Executions: `#/executions`. The ones running now (GET /api/executions/active) and the most recent
// ones (GET /api/executions, a cursor page at a time). There is no lobby room for executions, so the
// lists are fetched again every few seconds (not while the page is hidden); the running clocks tick
// in between.

import { getJSON } from "../api.js";
import { every, h, route, syncList } from "../dom.js";
import { agentName, ago, duration, isExecActive, isExecEnded, plural } from "../format.js";
import { execStatusPill, tickElapsed } from "../executions/render.js";

const REFRESH_MS = 3000;
const PAGE = 20;
const INPUT_SHOWN = 160;

function meta(e) {
  const parts = [];
  if (isExecEnded(e.status)) {
    parts.push(e.completed_at ? `ended ${ago(e.completed_at)}` : "ended");
    if (e.duration_ms !== null && e.duration_ms !== undefined) parts.push(`took ${duration(e.duration_ms)}`);
  } else if (e.started_at) {
    parts.push(`started ${ago(e.started_at)}`);
  } else {
    parts.push(`created ${ago(e.created_at)}`);
  }
  if (e.total_steps) parts.push(plural(e.total_steps, "step"));
  if (e.corrections_applied) parts.push(plural(e.corrections_applied, "correction"));
  return parts.join(" · ");
}

function item(e) {
  const input = String(e.input_value ?? "");
  return h("li", { class: "exec-item", dataset: { executionId: e.id, status: e.status } },
    h("a", { class: "exec-link", href: route("executions", e.id) },
      h("div", { class: "exec-item-top" },
        execStatusPill(e.status),
        h("span", { class: "tag exec-item-type text" }, e.input_type),
        e.is_public ? null : h("span", { class: "tag warn" }, "private"),
        h("span", { class: "exec-item-agent" }, agentName(e.agent)),
        isExecActive(e.status) && e.started_at
          ? h("span", { class: "exec-item-clock muted" },
            h("span", { class: "elapsed", dataset: { since: e.started_at, prefix: "running " } })) : null),
      h("p", { class: "exec-item-input text" }, input.length > INPUT_SHOWN ? input.slice(0, INPUT_SHOWN) + "…" : input),
      h("p", { class: "exec-item-meta muted" }, meta(e))));
}

const newestFirst = (a, b) => (b.created_at === a.created_at ? (b.id < a.id ? -1 : 1) : Date.parse(b.created_at) - Date.parse(a.created_at));

export function mount(root, _params, { conn }) {
  document.title = "Agent Arena · Executions";
  const activeList = h("ul", { class: "exec-list exec-active", "aria-live": "polite" });
  const activeEmpty = h("p", { class: "empty" }, "Loading…");
  const recentList = h("ul", { class: "exec-list exec-recent" });
  const recentEmpty = h("p", { class: "empty", hidden: true }, "No executions yet.");
  const more = h("button", { type: "button", class: "button exec-more", hidden: true }, "Show more");
  const problem = h("p", { class: "exec-list-problem muted", role: "status" });
  root.append(
    h("section", { class: "hero compact" }, h("div", {}, h("h1", {}, "Executions"),
      h("p", { class: "lede" }, "Agents running workflows: their steps, logs and reasoning, live."))),
    problem,
    h("section", { class: "section", "aria-labelledby": "exec-active-title" },
      h("h2", { id: "exec-active-title" }, "Running now"), activeEmpty, activeList),
    h("section", { class: "section", "aria-labelledby": "exec-recent-title" },
      h("h2", { id: "exec-recent-title" }, "Recent"), recentEmpty, recentList, more));

  let active = [];
  const recent = new Map(); // id -> execution, every page loaded so far
  let cursor = null;
  let loadedOnce = false;
  let busy = false;

  function render() {
    activeEmpty.hidden = active.length > 0;
    activeEmpty.textContent = "Nothing is running right now. A started execution appears here within seconds.";
    syncList(activeList, active, (e) => e.id, (e) => JSON.stringify(e), item);
    const live = new Set(active.map((e) => e.id));
    const rest = [...recent.values()].filter((e) => !live.has(e.id)).sort(newestFirst);
    recentEmpty.hidden = rest.length > 0 || !loadedOnce;
    syncList(recentList, rest, (e) => e.id, (e) => JSON.stringify(e), item);
    more.hidden = !cursor;
    tickElapsed(root, conn ? conn.serverNow() : Date.now());
  }

  async function refresh() {
    if (busy) return;
    busy = true;
    try {
      const [now, first] = await Promise.all([getJSON("/api/executions/active"), getJSON("/api/executions", { limit: PAGE })]);
      active = now;
      const known = first.items.some((e) => recent.has(e.id));
      if (!known && recent.size) {
        // more new ones than a page since the last look: start over from the newest page
        recent.clear();
        cursor = first.next_cursor;
      } else if (!loadedOnce) {
        cursor = first.next_cursor;
      }
      for (const e of first.items) recent.set(e.id, e);
      for (const e of now) if (recent.has(e.id)) recent.set(e.id, e);
      loadedOnce = true;
      problem.textContent = "";
      render();
    } catch (err) {
      problem.textContent = `The executions cannot be loaded: ${err.message}`;
    } finally {
      busy = false;
    }
  }

  more.addEventListener("click", async () => {
    if (!cursor) return;
    more.disabled = true;
    try {
      const next = await getJSON("/api/executions", { limit: PAGE, cursor });
      for (const e of next.items) recent.set(e.id, e);
      cursor = next.next_cursor;
      render();
    } catch (err) {
      problem.textContent = `More executions cannot be loaded: ${err.message}`;
    } finally {
      more.disabled = false;
    }
  });

  refresh();
  const stopRefresh = every(REFRESH_MS, () => !document.hidden && refresh());
  const stopTicking = every(1000, () => tickElapsed(root, conn ? conn.serverNow() : Date.now()));
  return () => {
    stopRefresh();
    stopTicking();
  };
}
