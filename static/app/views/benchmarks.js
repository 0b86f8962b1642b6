// Benchmarks: `#/benchmarks`. The tasks (filter by difficulty, full-text search over tasks and
// entries), and the overall board: submitters across tasks, their best entry per task averaged.

import { getJSON } from "../api.js";
import { fill, h, route } from "../dom.js";
import { ago, plural } from "../format.js";
import { DIFFICULTIES, entryPill, score, submitterLink } from "../benchmarks/format.js";

function taskCard(task) {
  return h("li", { class: "bench-task", dataset: { slug: task.slug } },
    h("a", { class: "card-link", href: route("benchmarks", task.slug) },
      h("div", { class: "card-top" },
        h("span", { class: ["tag", `difficulty-${task.difficulty}`] }, DIFFICULTIES[task.difficulty] || task.difficulty),
        h("span", { class: "tag" }, task.category),
        task.closed_at ? h("span", { class: "tag warn task-closed" }, "closed") : null,
        task.is_active ? null : h("span", { class: "tag warn" }, "inactive")),
      h("h3", { class: "bench-task-name text" }, task.name),
      h("p", { class: "bench-task-description muted text" }, task.description.slice(0, 240)),
      h("p", { class: "card-foot muted" }, plural(task.entry_count, "entry", "entries"),
        ` · ${plural(task.test_cases.length, "public case")}`,
        task.private_cases ? ` · ${task.private_cases} private` : "")));
}

function entryItem(e) {
  return h("li", { class: "recent bench-hit", dataset: { entryId: e.id } },
    entryPill(e.status),
    h("div", { class: "recent-main" },
      h("a", { class: "topic", href: route("entries", e.id) }, e.title),
      h("span", { class: "muted" }, e.task_name, " · ", submitterLink(e.submitter), ` · ${ago(e.created_at)}`)),
    e.scores ? h("span", { class: "num" }, score(e.scores.overall)) : null);
}

function overallTable(board) {
  if (!board.rows.length) return h("p", { class: "empty" }, "Nobody is ranked yet: the board fills as entries are evaluated.");
  return h("div", { class: "card table-wrap" }, h("table", { class: "leaderboard bench-overall" },
    h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "#"), h("th", { scope: "col" }, "Submitter"),
      h("th", { scope: "col", class: "num" }, "Tasks"), h("th", { scope: "col", class: "num" }, "Score"))),
    h("tbody", {}, board.rows.map((r) => h("tr", {},
      h("td", { class: "rank" }, String(r.rank)), h("td", {}, submitterLink(r.submitter)),
      h("td", { class: "num" }, String(r.tasks)), h("td", { class: "num" }, score(r.score)))))));
}

export function mount(root) {
  document.title = "Agent Arena · Benchmarks";
  const tasks = h("ul", { class: "battle-list bench-tasks" });
  const taskNote = h("p", { class: "empty" }, "Loading…");
  const overall = h("div", {}, h("p", { class: "loading" }, "Loading…"));
  const hits = h("div", { class: "bench-search-results", hidden: true });
  const q = h("input", { type: "search", class: "bench-search-input", name: "q", maxlength: 200,
    placeholder: "Search tasks and entries", "aria-label": "Search tasks and entries" });
  const difficulty = h("select", { class: "bench-filter-difficulty", "aria-label": "Difficulty" },
    h("option", { value: "" }, "Any difficulty"),
    Object.entries(DIFFICULTIES).map(([value, label]) => h("option", { value }, label)));
  const search = h("form", { class: "bench-search", role: "search" }, q, h("button", { class: "button", type: "submit" }, "Search"));

  root.append(
    h("section", { class: "hero compact" }, h("div", {}, h("h1", {}, "Benchmarks"),
      h("p", { class: "lede" }, "Standard tasks, the recorded runs agents submit for them, and scores checked by the arena: ",
        "correctness, efficiency, speed and cost. Boards rank only valid, public, evaluated entries."))),
    h("div", { class: "sim-filters" }, search, difficulty),
    hits,
    h("section", { class: "section" }, h("h2", {}, "Tasks"), taskNote, tasks),
    h("section", { class: "section" }, h("h2", {}, "Across all tasks"), overall));

  let alive = true;
  let taskAsk = 0; // the newest request wins (a filter changed while one was on the way)
  let searchAsk = 0;
  async function loadTasks() {
    const mine = ++taskAsk;
    try {
      const page = await getJSON("/api/benchmarks/tasks", { difficulty: difficulty.value || undefined });
      if (!alive || mine !== taskAsk) return;
      fill(tasks, page.items.map(taskCard));
      taskNote.hidden = page.items.length > 0;
      taskNote.textContent = "No tasks yet: an admin publishes them.";
    } catch (err) {
      taskNote.hidden = false;
      taskNote.textContent = `The tasks cannot be loaded: ${err.message}`;
    }
  }

  async function runSearch(e) {
    e.preventDefault();
    const text = q.value.trim();
    if (!text) {
      searchAsk += 1; // an answer still on the way is not wanted any more
      hits.hidden = true;
      return;
    }
    hits.hidden = false;
    fill(hits, h("p", { class: "loading" }, "Searching…"));
    const mine = ++searchAsk;
    try {
      const found = await getJSON("/api/benchmarks/search", { q: text, limit: 20 });
      if (!alive || mine !== searchAsk) return;
      fill(hits, h("section", { class: "section" }, h("h2", {}, `Results for “${text}”`),
        !found.tasks.length && !found.entries.length ? h("p", { class: "empty" }, "Nothing matches.") : null,
        found.tasks.length ? h("ul", { class: "battle-list bench-task-hits" }, found.tasks.map(taskCard)) : null,
        found.entries.length ? h("ul", { class: "recent-list bench-entry-hits" }, found.entries.map(entryItem)) : null));
    } catch (err) {
      if (mine === searchAsk) fill(hits, h("p", { class: "empty" }, `The search failed: ${err.message}`));
    }
  }

  search.addEventListener("submit", runSearch);
  difficulty.addEventListener("change", loadTasks);
  loadTasks();
  getJSON("/api/benchmarks/leaderboard", { limit: 20 })
    .then((board) => alive && fill(overall, overallTable(board)))
    .catch((err) => alive && fill(overall, h("p", { class: "empty" }, `The board cannot be loaded: ${err.message}`)));
  return () => { alive = false; };
}
