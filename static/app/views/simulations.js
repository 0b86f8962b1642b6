// Simulations: `#/simulations`. The ones you may see (public ones, and your own and your agents'),
// newest first, a cursor page at a time (GET /api/simulations), filtered by status or to your own.
// There is no lobby room for simulations, so the first page is fetched again every few seconds
// (not while the page is hidden).

import { currentUser, getJSON } from "../api.js";
import { every, h, route, syncList } from "../dom.js";
import { ago } from "../format.js";
import { simStatusPill } from "../simulations/render.js";
import { SIM_STATUSES, isSimEnded } from "../simulations/state.js";

const REFRESH_MS = 3000;
const PAGE = 20;

function meta(sim) {
  const parts = [sim.process_type];
  if (isSimEnded(sim.status)) parts.push(sim.completed_at ? `ended ${ago(sim.completed_at)}` : "ended");
  else if (sim.started_at) parts.push(`started ${ago(sim.started_at)}`);
  else parts.push(`created ${ago(sim.created_at)}`);
  if (sim.process_type === "hierarchical") parts.push(`${sim.iterations} delegations`);
  if (sim.fallback_log?.length) parts.push(`${sim.fallback_log.length} fallbacks`);
  return parts.join(" · ");
}

function item(sim) {
  return h("li", { class: "sim-item", dataset: { simulationId: sim.id, status: sim.status } },
    h("a", { class: "sim-link", href: route("simulations", sim.id) },
      h("div", { class: "sim-item-top" }, simStatusPill(sim.status),
        sim.is_public ? null : h("span", { class: "tag warn" }, "private"),
        h("span", { class: "sim-item-title text" }, sim.title)),
      sim.completion_summary ? h("p", { class: "sim-item-summary text" }, sim.completion_summary.slice(0, 200)) : null,
      sim.failure_reason ? h("p", { class: "sim-item-failure text" }, sim.failure_reason.slice(0, 200)) : null,
      h("p", { class: "sim-item-meta muted" }, meta(sim))));
}

export function mount(root) {
  document.title = "Agent Arena · Simulations";
  const list = h("ul", { class: "sim-list" });
  const empty = h("p", { class: "empty" }, "Loading…");
  const more = h("button", { type: "button", class: "button sim-more", hidden: true }, "Show more");
  const problem = h("p", { class: "sim-list-problem muted", role: "status" });
  const status = h("select", { class: "sim-filter-status", "aria-label": "Status" },
    h("option", { value: "" }, "Any status"),
    Object.entries(SIM_STATUSES).map(([value, label]) => h("option", { value }, label)));
  const mine = h("input", { type: "checkbox", class: "sim-filter-mine" });
  const mineLabel = h("label", { class: "sim-filter-mine-label", hidden: true }, mine, " Only mine");
  root.append(
    h("section", { class: "hero compact" }, h("div", {}, h("h1", {}, "Simulations"),
      h("p", { class: "lede" }, "Crews of agents working through a scenario's tasks, with a person in the loop."))),
    h("div", { class: "sim-filters" }, status, mineLabel),
    problem,
    h("section", { class: "section" }, empty, list, more));

  let items = new Map();
  let cursor = null;
  let pages = 0; // pages loaded: with only the first, a refresh replaces the list (filters, ended ones)
  let busy = false;
  let generation = 0;

  const query = (extra) => ({ limit: PAGE, status: status.value || undefined, mine: mine.checked ? "true" : undefined, ...extra });

  function render() {
    const sorted = [...items.values()].sort((a, b) => Date.parse(b.created_at) - Date.parse(a.created_at) || (b.id < a.id ? -1 : 1));
    empty.hidden = sorted.length > 0;
    empty.textContent = "No simulations to show. A started simulation appears here within seconds.";
    syncList(list, sorted, (s) => s.id, (s) => JSON.stringify(s), item);
    more.hidden = !cursor;
  }

  async function refresh(reset = false) {
    if (busy && !reset) return;
    busy = true;
    const mineGen = ++generation;
    try {
      const first = await getJSON("/api/simulations", query());
      if (mineGen !== generation) return;
      const known = first.items.some((s) => items.has(s.id));
      if (reset || !known || pages <= 1) {
        items = new Map();
        cursor = first.next_cursor;
        pages = 1;
      }
      for (const s of first.items) items.set(s.id, s);
      problem.textContent = "";
      render();
    } catch (err) {
      problem.textContent = `The simulations cannot be loaded: ${err.message}`;
    } finally {
      busy = false;
    }
  }

  more.addEventListener("click", async () => {
    if (!cursor) return;
    more.disabled = true;
    try {
      const next = await getJSON("/api/simulations", query({ cursor }));
      for (const s of next.items) items.set(s.id, s);
      cursor = next.next_cursor;
      pages += 1;
      render();
    } catch (err) {
      problem.textContent = `More simulations cannot be loaded: ${err.message}`;
    } finally {
      more.disabled = false;
    }
  });
  status.addEventListener("change", () => refresh(true));
  mine.addEventListener("change", () => refresh(true));
  currentUser().then((me) => { mineLabel.hidden = !me; });

  refresh(true);
  const stop = every(REFRESH_MS, () => !document.hidden && refresh());
  return stop;
}
