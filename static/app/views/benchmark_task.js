// A benchmark task: `#/benchmarks/<slug>`. What it asks and how it is checked, its leaderboard
// (metric, period, public or private split; the stability marks), the Pareto chart of score against
// cost, tokens or time, and its latest entries with their status. Boards are cached by the server
// and moved on by every evaluation: they are fetched again every few seconds while the page shows.

import { getJSON } from "../api.js";
import { every, fill, h, problemCard, route, syncList } from "../dom.js";
import { ago, count, plural } from "../format.js";
import { boardTable } from "../benchmarks/board.js";
import { AXES, DIFFICULTIES, METRICS, PERIODS, entryPill, score, submitterLink, usd } from "../benchmarks/format.js";
import { paretoChart } from "../benchmarks/pareto.js";

const REFRESH_MS = 5000;

function select(cls, label, options, value) {
  return h("select", { class: cls, "aria-label": label },
    Object.entries(options).map(([v, text]) => h("option", { value: v, selected: v === value }, text)));
}

function checkText(c) {
  switch (c.check) {
    case "exact": return `equals “${c.expected}”`;
    case "contains": return `contains ${[].concat(c.expected).map((x) => `“${x}”`).join(" and ")}`;
    case "regex": return `matches /${c.pattern}/`;
    case "numeric": return `is ${c.expected} ± ${c.tolerance}${c.relative ? " (relative)" : ""}`;
    case "json_schema": return "is JSON of the given schema";
    case "judge": return `judged: ${c.rubric}`;
    default: return c.check;
  }
}

function checkList(cls, checks, withInput) {
  return h("ul", { class: ["bench-checks", cls] }, checks.map((c) => h("li", { dataset: { checkId: c.id } },
    h("code", {}, c.id), " ", withInput && c.input !== undefined ? h("span", { class: "text" }, `${JSON.stringify(c.input)} → `) : null,
    h("span", { class: "text" }, checkText(c)), c.weight && c.weight !== 1 ? h("span", { class: "muted" }, ` ×${c.weight}`) : null)));
}

function taskHead(task) {
  return h("section", { class: "card bench-task-head" },
    h("div", { class: "card-top" },
      h("span", { class: ["tag", `difficulty-${task.difficulty}`] }, DIFFICULTIES[task.difficulty] || task.difficulty),
      h("span", { class: "tag" }, task.category),
      task.closed_at ? h("span", { class: "tag warn task-closed" }, `closed ${ago(task.closed_at)}`) : null,
      task.is_active ? null : h("span", { class: "tag warn" }, "inactive")),
    h("h1", { class: "bench-task-title text" }, task.name),
    h("p", { class: "text bench-task-text" }, task.description),
    h("p", { class: "muted bench-limits" },
      `Budget: ${count(task.max_tokens)} tokens, ${task.max_time_minutes} min, ${usd(task.max_cost)} · `,
      plural(task.entry_count, "entry", "entries")),
    task.success_criteria.length ? [h("h2", {}, "Success criteria (on the final output)"),
      checkList("criteria", task.success_criteria, false)] : null,
    h("h2", {}, "Test cases"),
    task.test_cases.length ? checkList("cases", task.test_cases, true) : null,
    h("p", { class: "muted private-cases" }, task.private_cases
      ? `${plural(task.private_cases, "private case")}: never shown; they decide the private ranking, revealed when the task closes.`
      : "No private cases."));
}

function entryRow(e) {
  return h("li", { class: "recent bench-entry", dataset: { entryId: e.id, status: e.status } },
    entryPill(e.status),
    h("div", { class: "recent-main" },
      h("a", { class: "topic", href: route("entries", e.id) }, e.title),
      h("span", { class: "muted" }, submitterLink(e.submitter), ` · ${e.tool_type} · ${ago(e.created_at)}`)),
    e.scores ? h("span", { class: "num" }, score(e.scores.overall)) : null);
}

export async function mount(root, [slug]) {
  document.title = "Agent Arena · Benchmark";
  let task;
  try {
    task = await getJSON(`/api/benchmarks/tasks/${encodeURIComponent(slug)}`);
  } catch (err) {
    problemCard(root, "This task cannot be shown", err.code === "benchmark.task_not_found" ? "There is no such task." : err.message,
      ["#/benchmarks", "All benchmarks"]);
    return null;
  }
  document.title = `Agent Arena · ${task.name}`;
  const metric = select("board-metric", "Metric", METRICS, "overall");
  const period = select("board-period", "Period", PERIODS, "all");
  const split = select("board-split", "Split", { public: "Public cases", private: "Private cases" }, "public");
  const axis = select("pareto-axis", "Against", AXES, "cost");
  const board = h("div", { class: "bench-board-box" }, h("p", { class: "loading" }, "Loading the board…"));
  const boardNote = h("p", { class: "muted board-note" });
  const chart = h("div", { class: "card pareto-box" }, h("p", { class: "loading" }, "Loading…"));
  const entries = h("ul", { class: "recent-list bench-entries" });
  const entriesEmpty = h("p", { class: "empty" }, "No entries yet.");
  const head = h("div", {}, taskHead(task));

  root.append(
    h("div", { class: "toolbar" }, h("a", { class: "back", href: "#/benchmarks" }, "← All benchmarks")),
    head,
    h("section", { class: "section" }, h("h2", {}, "Leaderboard"),
      h("div", { class: "sim-filters board-controls" }, metric, period, split), boardNote, board),
    h("section", { class: "section" }, h("h2", {}, "Score against cost, tokens or time"),
      h("div", { class: "sim-filters" }, axis,
        h("span", { class: "muted" }, "Filled points are on the Pareto frontier: no other entry scores higher for less.")),
      chart),
    h("section", { class: "section" }, h("h2", {}, "Latest entries"), entriesEmpty, entries));

  let alive = true;
  let boardKey = "";
  async function loadBoard() {
    const params = { metric: metric.value, period: period.value, split: split.value, limit: 100 };
    const key = JSON.stringify(params);
    try {
      const b = await getJSON(`/api/benchmarks/tasks/${encodeURIComponent(slug)}/leaderboard`, params);
      if (!alive || key !== JSON.stringify({ metric: metric.value, period: period.value, split: split.value, limit: 100 })) return;
      const sig = JSON.stringify(b);
      if (sig === boardKey) return;
      boardKey = sig;
      if (!b.revealed) {
        boardNote.textContent = "";
        fill(board, h("p", { class: "empty private-hidden" },
          "The private ranking is revealed when the task's organiser closes the task."));
        return;
      }
      const n = b.rows.length ? b.rows[0].stability.entries : 0;
      boardNote.textContent = n
        ? `${plural(n, "ranked entry", "ranked entries")}. Stability: the 95% interval of each score over the checks; ` +
          `“fragile” when dropping at most ${b.k} checks would put the next row level or above.`
        : "";
      fill(board, b.rows.length ? boardTable(b)
        : h("p", { class: "empty" }, "Nobody is ranked here yet: valid, public, evaluated entries are."));
    } catch (err) {
      fill(board, h("p", { class: "empty" }, `The board cannot be loaded: ${err.message}`));
    }
  }

  let chartKey = "";
  async function loadChart() {
    const a = axis.value;
    try {
      const p = await getJSON(`/api/benchmarks/tasks/${encodeURIComponent(slug)}/pareto`, { axis: a, split: "public" });
      if (!alive || a !== axis.value) return;
      const sig = JSON.stringify(p);
      if (sig === chartKey) return;
      chartKey = sig;
      fill(chart, p.points.length ? paretoChart(p.points, a) : h("p", { class: "muted" }, "No ranked entries to draw yet."));
    } catch (err) {
      fill(chart, h("p", { class: "muted" }, `The chart cannot be loaded: ${err.message}`));
    }
  }

  async function loadEntries() {
    try {
      const page = await getJSON("/api/benchmarks/entries", { task: slug, limit: 20 });
      if (!alive) return;
      entriesEmpty.hidden = page.items.length > 0;
      syncList(entries, page.items, (e) => e.id, (e) => JSON.stringify(e), entryRow);
    } catch (err) {
      entriesEmpty.hidden = false;
      entriesEmpty.textContent = `The entries cannot be loaded: ${err.message}`;
    }
  }

  async function loadTask() {
    try {
      const t = await getJSON(`/api/benchmarks/tasks/${encodeURIComponent(slug)}`);
      if (alive && JSON.stringify(t) !== JSON.stringify(task)) {
        task = t;
        fill(head, taskHead(task));
      }
    } catch { /* the next round tries again */ }
  }

  const refresh = () => Promise.all([loadBoard(), loadChart(), loadEntries()]);
  for (const el of [metric, period, split]) el.addEventListener("change", () => { boardKey = ""; loadBoard(); });
  axis.addEventListener("change", () => { chartKey = ""; loadChart(); });
  await refresh();
  const stop = every(REFRESH_MS, () => !document.hidden && (loadTask(), refresh()));
  return () => { alive = false; stop(); };
}
