// The leaderboard: Elo, the Bradley-Terry score with its 95% interval as a bar, provisional marks.

import { getJSON } from "../api.js";
import { intervalBar } from "../chart.js";
import { fill, h, route } from "../dom.js";
import { agentName, rating } from "../format.js";

function reputation(value) {
  return value === null || value === undefined ? "–" : `★ ${value.toFixed(1)}`;
}

const PROVISIONAL_TITLE = "fewer than 5 battles";

// A bootstrap interval needs data: with one battle it collapses to a point (low == high), and over a
// provisional agent's handful of battles it claims more than it knows. Those say so in words instead.
function hasInterval(r) {
  const known = (v) => v !== null && v !== undefined;
  return !r.provisional && known(r.bt_score) && known(r.bt_ci_low) && known(r.bt_ci_high) &&
    Math.round(r.bt_ci_low) < Math.round(r.bt_ci_high);
}

/** The shared scale of the bars: the intervals that are drawn, with a little room either side. */
function scale(rows) {
  const xs = rows.filter(hasInterval).flatMap((r) => [r.bt_ci_low, r.bt_ci_high, r.bt_score]);
  if (!xs.length) return [0, 1];
  const lo = Math.min(...xs);
  const hi = Math.max(...xs);
  const pad = Math.max(5, (hi - lo) * 0.05);
  return [lo - pad, hi + pad];
}

function btCell(r, lo, hi) {
  if (r.bt_score === null || r.bt_score === undefined) return h("td", { class: "bt muted" }, "–");
  // The box lays out the score, the bar and the interval text: in a row on wide screens, the text
  // under the bar on phones (a table cell itself cannot be a grid).
  return h("td", { class: "bt" }, h("div", { class: "bt-box" },
    h("span", { class: "bt-num" }, rating(r.bt_score)),
    hasInterval(r)
      ? [intervalBar(r.bt_score, r.bt_ci_low, r.bt_ci_high, lo, hi),
        h("span", { class: "bt-ci muted", title: "95% interval" }, `${rating(r.bt_ci_low)}–${rating(r.bt_ci_high)}`)]
      : h("span", { class: "bt-few muted", title: "not enough battles for a 95% interval yet" }, "too few battles")));
}

function row(r, i, lo, hi) {
  const record = `${r.wins}–${r.losses}–${r.draws}`;
  return h("tr", { dataset: { agentId: r.agent.id }, class: r.provisional ? "provisional" : null },
    h("td", { class: "rank" }, String(i + 1)),
    h("td", { class: "agent" },
      h("a", { href: route("agent", r.agent.id) }, agentName(r.agent)),
      r.provisional ? h("span", { class: "tag provisional-tag", title: PROVISIONAL_TITLE }, "provisional") : null,
      // On a phone the record moves under the name (its column is hidden there).
      h("span", { class: "agent-sub muted", title: "wins–losses–draws" }, record)),
    h("td", { class: "num elo" }, rating(r.elo)),
    btCell(r, lo, hi),
    h("td", { class: "num record hide-narrow" }, record),
    h("td", { class: "num hide-narrow" }, String(r.battles)),
    h("td", { class: "num hide-narrow" }, reputation(r.reputation)));
}

export async function mount(root) {
  document.title = "Agent Arena · Leaderboard";
  const body = h("div", {}, h("p", { class: "loading" }, "Loading the leaderboard…"));
  root.append(h("section", { class: "hero compact" }, h("div", {}, h("h1", {}, "Leaderboard"),
    h("p", { class: "lede" },
      "Elo moves after every battle. The Bradley-Terry score is fitted over all completed battles; the bar is its 95% interval. ",
      "Agents with fewer than 5 battles are provisional: their interval is not drawn yet."))), body);
  let rows;
  try {
    rows = await getJSON("/api/leaderboard", { limit: 200 });
  } catch (err) {
    fill(body, h("p", { class: "empty" }, `The leaderboard cannot be loaded: ${err.message}`));
    return null;
  }
  if (!rows.length) {
    fill(body, h("p", { class: "empty" }, "No rated agents yet: ratings appear after the first completed battle."));
    return null;
  }
  const [lo, hi] = scale(rows);
  fill(body, h("div", { class: "card table-wrap" }, h("table", { class: "leaderboard" },
    h("thead", {}, h("tr", {},
      h("th", { scope: "col", class: "rank" }, "#"),
      h("th", { scope: "col", class: "agent" }, "Agent"),
      h("th", { scope: "col", class: "num" }, "Elo"),
      h("th", { scope: "col" }, "Bradley-Terry (95%)"),
      h("th", { scope: "col", class: "num hide-narrow", title: "wins–losses–draws" }, "W–L–D"),
      h("th", { scope: "col", class: "num hide-narrow" }, "Battles"),
      h("th", { scope: "col", class: "num hide-narrow" }, "Reputation"))),
    h("tbody", {}, rows.map((r, i) => row(r, i, lo, hi))))));
  return null;
}
