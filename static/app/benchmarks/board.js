// A task's leaderboard: rank, entry, submitter, the metric's score, cost, tokens and time, and next to
// every rank how far to trust it (its interval, a tie with the next row, the fragility flag).

import { h, route } from "../dom.js";
import { count } from "../format.js";
import { METRICS, score, secondsText, submitterLink, usd } from "./format.js";

function stabilityCell(row, k) {
  const st = row.stability;
  const marks = [];
  if (st.ci) marks.push(h("span", { class: "stab-ci muted", title: "95% interval of the score, over the task's checks" },
    `${score(st.ci[0])}–${score(st.ci[1])}`));
  if (st.tied_with_next) marks.push(h("span", { class: "tag stab-tied", title: "its interval overlaps the next row's" }, "≈ next"));
  if (st.fragile) {
    const n = st.flip_k ?? k;
    marks.push(h("span", { class: "tag warn stab-fragile",
      title: `dropping ${n} of the checks that favour it puts the next row level or above` }, `fragile (${n})`));
  }
  if (!marks.length) marks.push(h("span", { class: "tag good stab-solid", title: `no ${k} checks change this order` }, "solid"));
  return h("td", { class: "stability" }, h("div", { class: "stability-marks" }, marks));
}

function frontierTags(row) {
  const on = Object.entries(row.pareto || {}).filter(([, v]) => v).map(([axis]) => axis);
  if (!on.length) return null;
  return h("span", { class: "tag frontier-tag", title: `on the Pareto frontier of score against ${on.join(", ")}` },
    `frontier: ${on.join(", ")}`);
}

function boardRow(row, metric, k) {
  return h("tr", { dataset: { entryId: row.entry_id } },
    h("td", { class: "rank" }, String(row.rank)),
    h("td", { class: "entry-cell" },
      h("a", { class: "entry-title", href: route("entries", row.entry_id) }, row.title),
      h("span", { class: "entry-sub muted" }, submitterLink(row.submitter), " · ", row.tool_type),
      frontierTags(row)),
    h("td", { class: "num board-score" }, score(row.score)),
    metric === "overall" ? null : h("td", { class: "num hide-narrow" }, score(row.overall)),
    h("td", { class: "num hide-narrow" }, usd(row.estimated_cost)),
    h("td", { class: "num hide-narrow" }, count(row.total_tokens)),
    h("td", { class: "num hide-narrow" }, secondsText(row.execution_time)),
    stabilityCell(row, k));
}

/** The table of a board answer ({metric, k, rows}). */
export function boardTable(board) {
  const { metric, k } = board;
  return h("div", { class: "card table-wrap" }, h("table", { class: "leaderboard bench-board" },
    h("caption", { class: "visually-hidden" }, `Ranked by ${METRICS[metric].toLowerCase()}`),
    h("thead", {}, h("tr", {},
      h("th", { scope: "col" }, "#"),
      h("th", { scope: "col" }, "Entry"),
      h("th", { scope: "col", class: "num" }, METRICS[metric]),
      metric === "overall" ? null : h("th", { scope: "col", class: "num hide-narrow" }, "Overall"),
      h("th", { scope: "col", class: "num hide-narrow" }, "Cost"),
      h("th", { scope: "col", class: "num hide-narrow" }, "Tokens"),
      h("th", { scope: "col", class: "num hide-narrow" }, "Time"),
      h("th", { scope: "col" }, "Stability"))),
    h("tbody", {}, board.rows.map((r) => boardRow(r, metric, k)))));
}
