// The live log tail of an execution: a virtualized list. Only the rows in view (and a few around
// them) exist in the DOM: every row has the same height, a spacer as tall as all the rows gives the
// scroll bar its size, and the rows drawn are the ones around scrollTop. 100,000 lines cost a few
// typed arrays (logstore.js) and some forty row elements.
//
// Filters (minimum level, a search substring) are applied here, to the lines loaded: the view keeps
// the indexes of the lines that match and extends it as lines arrive. Pause freezes what is shown
// (lines keep arriving, counted); resume shows them and follows the end again. Scrolling up stops
// following; scrolling back to the end (or "Newest") resumes it.
//
// Every line is agent text: rows are text nodes only.

import { fill, h } from "../dom.js";
import { count } from "../format.js";
import { LEVELS } from "./logstore.js";

const ROW_H = 22; // px; .log-row in style.css has this height
// A browser caps an element's height (Chromium near 33.5 million px, 1.5 million rows): past this the
// spacer stays this tall and scrolling maps onto the rows proportionally.
const MAX_SPACER_PX = 8_000_000;
const OVERSCAN = 15; // rows drawn above and below the window
const ROW_TEXT_MAX = 2000; // characters of a message drawn in its row (the detail pane has all of it)
const DETAIL_TEXT_MAX = 200000;
const SEARCH_DELAY_MS = 150;
const LEVEL_LABEL = { debug: "DEBUG", info: "INFO", warning: "WARN", error: "ERROR", critical: "CRIT" };

const pad = (n, w = 2) => String(n).padStart(w, "0");

function clockTime(ms) {
  if (!ms) return "";
  const d = new Date(ms);
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

class Indexes {
  constructor() {
    this.items = new Uint32Array(1024);
    this.length = 0;
  }

  push(i) {
    if (this.length >= this.items.length) {
      const next = new Uint32Array(this.items.length * 2);
      next.set(this.items);
      this.items = next;
    }
    this.items[this.length++] = i;
  }

  clear() {
    this.length = 0;
  }
}

/**
 * @param store      the LogStore
 * @param exportUrl  where every line can be downloaded (NDJSON)
 * @returns { el, update(), setBacklog({loading, through, last}), stop() }
 */
export function logView(store, { exportUrl = null } = {}) {
  const levelSelect = h("select", { class: "log-level-filter", "aria-label": "Minimum level" },
    LEVELS.map((name) => h("option", { value: name }, name === "debug" ? "All levels" : `${name} and above`)));
  const search = h("input", {
    type: "search", class: "log-search", placeholder: "Search the log", "aria-label": "Search the log",
    autocomplete: "off", spellcheck: "false",
  });
  const pauseButton = h("button", { type: "button", class: "button small log-pause", "aria-pressed": "false" }, "Pause");
  const endButton = h("button", { type: "button", class: "button small log-end", hidden: true }, "Newest ↓");
  const status = h("span", { class: "log-status muted", role: "status", "aria-live": "polite" });
  const spacer = h("div", { class: "log-spacer" });
  const empty = h("p", { class: "log-empty muted" });
  const viewport = h("div", { class: "log-viewport", tabindex: "0", role: "region", "aria-label": "Log lines" },
    spacer, empty);
  const detail = h("div", { class: "log-detail", hidden: true });
  const el = h("div", { class: "log" },
    h("div", { class: "log-toolbar" }, levelSelect, search, pauseButton, endButton,
      exportUrl ? h("a", { class: "button small", href: exportUrl, download: "" }, "Download") : null),
    status, viewport, detail);

  let processed = 0; // lines of the store the view has taken in (it stops while paused)
  const matches = new Indexes(); // with a filter: the indexes of the lines that pass it
  let minLevel = 0;
  let query = "";
  let paused = false;
  let following = true;
  let selected = -1;
  let backlog = null;
  let frame = 0;
  let searchTimer = null;
  const pool = []; // row elements in use, top to bottom

  const filtering = () => minLevel > 0 || query !== "";
  const passes = (i) => store.level[i] >= minLevel && (query === "" || store.message[i].toLowerCase().includes(query));
  const shown = () => (filtering() ? matches.length : processed);
  const indexAt = (k) => (filtering() ? matches.items[k] : k);

  function take() {
    if (paused) return;
    if (filtering()) for (let i = processed; i < store.length; i++) if (passes(i)) matches.push(i);
    processed = store.length;
  }

  function refilter() {
    matches.clear();
    if (filtering()) for (let i = 0; i < processed; i++) if (passes(i)) matches.push(i);
  }

  function schedule() {
    if (!frame) frame = requestAnimationFrame(() => {
      frame = 0;
      take();
      draw();
    });
  }

  function fillRow(row, i) {
    const level = LEVELS[store.level[i]];
    row.dataset.index = String(i);
    row.dataset.seq = String(store.seq[i]);
    row.dataset.level = level;
    row.className = `log-row level-${level}${i === selected ? " selected" : ""}`;
    let text = store.message[i];
    if (text.length > ROW_TEXT_MAX) text = text.slice(0, ROW_TEXT_MAX) + "…";
    text = text.replace(/\r?\n/g, " ↵ "); // one row per line: the detail pane shows the line breaks
    let message = [text];
    if (query) {
      const at = text.toLowerCase().indexOf(query);
      if (at >= 0) message = [text.slice(0, at), h("mark", {}, text.slice(at, at + query.length)), text.slice(at + query.length)];
    }
    const step = store.step[i];
    fill(row,
      h("span", { class: "log-time" }, clockTime(store.time[i])),
      h("span", { class: "log-lvl" }, LEVEL_LABEL[level] || level),
      step !== null ? h("span", { class: "log-step", title: `step ${step}` }, step) : null,
      h("span", { class: "log-msg" }, message));
    row.drawn = `${i}|${query}|${i === selected}`;
  }

  function draw() {
    const n = shown();
    const total = n * ROW_H;
    const space = Math.min(total, MAX_SPACER_PX);
    spacer.style.height = `${space}px`;
    if (following && !paused) viewport.scrollTop = viewport.scrollHeight;
    const top = viewport.scrollTop;
    const height = viewport.clientHeight || 400;
    // where the window is in the list of all rows (the scroll position itself, unless scaled)
    const at = total > space && space > height ? (top * (total - height)) / (space - height) : top;
    const first = Math.max(0, Math.floor(at / ROW_H) - OVERSCAN);
    const last = Math.min(n, Math.ceil((at + height) / ROW_H) + OVERSCAN);
    const want = Math.max(0, last - first);
    while (pool.length < want) {
      const row = h("div", { class: "log-row" });
      spacer.append(row);
      pool.push(row);
    }
    while (pool.length > want) pool.pop().remove();
    for (let k = first; k < last; k++) {
      const row = pool[k - first];
      const i = indexAt(k);
      row.style.transform = `translateY(${top + k * ROW_H - at}px)`;
      if (row.drawn !== `${i}|${query}|${i === selected}`) fillRow(row, i);
    }
    empty.hidden = n > 0;
    empty.textContent = store.length ? "No line matches the filter." : "No log lines yet.";
    endButton.hidden = following || paused || n === 0;
    const parts = [`${count(store.length)} ${store.length === 1 ? "line" : "lines"}`];
    if (filtering()) parts.push(`${count(n)} shown`);
    if (paused) parts.push(`paused, ${count(store.length - processed)} new`);
    if (backlog?.loading) parts.push("loading the backlog…");
    status.textContent = parts.join(" · ");
    el.dataset.paused = String(paused);
    el.dataset.following = String(following && !paused);
  }

  function showDetail() {
    if (selected < 0 || selected >= store.length) {
      detail.hidden = true;
      return;
    }
    const line = store.line(selected);
    let text = line.message;
    if (text.length > DETAIL_TEXT_MAX) text = text.slice(0, DETAIL_TEXT_MAX) + "\n… (cut here: download the log for all of it)";
    detail.hidden = false;
    fill(detail,
      h("div", { class: "log-detail-head" },
        h("span", {}, `Line ${line.seq} · ${line.level}`, line.step_id !== null ? ` · step ${line.step_id}` : "",
          line.at ? ` · ${new Date(line.at).toLocaleString()}` : ""),
        h("button", { type: "button", class: "button small", onclick: () => { selected = -1; showDetail(); schedule(); } },
          "Close")),
      h("pre", { class: "log-detail-message text" }, text),
      line.metadata ? h("pre", { class: "log-detail-meta text" }, JSON.stringify(line.metadata, null, 2)) : null);
  }

  function setPaused(on) {
    paused = on;
    pauseButton.textContent = on ? "Resume" : "Pause";
    pauseButton.setAttribute("aria-pressed", String(on));
    if (!on) following = true;
    schedule();
  }

  levelSelect.addEventListener("change", () => {
    minLevel = Math.max(0, LEVELS.indexOf(levelSelect.value));
    refilter();
    schedule();
  });
  search.addEventListener("input", () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(() => {
      query = search.value.trim().toLowerCase();
      refilter();
      schedule();
    }, SEARCH_DELAY_MS);
  });
  pauseButton.addEventListener("click", () => setPaused(!paused));
  endButton.addEventListener("click", () => {
    following = true;
    schedule();
  });
  viewport.addEventListener("scroll", () => {
    if (!paused) following = viewport.scrollTop + viewport.clientHeight >= viewport.scrollHeight - ROW_H / 2;
    schedule();
  }, { passive: true });
  spacer.addEventListener("click", (e) => {
    const row = e.target instanceof Element ? e.target.closest(".log-row") : null;
    if (!row) return;
    selected = Number(row.dataset.index);
    showDetail();
    schedule();
  });
  const resize = typeof ResizeObserver === "function" ? new ResizeObserver(() => schedule()) : null;
  resize?.observe(viewport);
  schedule();

  return {
    el,
    update: schedule,
    setBacklog(state) {
      backlog = state;
      schedule();
    },
    stop() {
      cancelAnimationFrame(frame);
      clearTimeout(searchTimer);
      resize?.disconnect();
    },
  };
}
