// The leaderboard: Elo, the Bradley-Terry score with its 95% interval as a bar, provisional marks.

import { getJSON } from "../api.js";
import { intervalBar } from "../chart.js";
import { fill, h, route } from "../dom.js";
import { agentName, rating } from "../format.js";

function reputation(value) {
  return value === null || value === undefined ? "–" : `★ ${value.toFixed(1)}`;
}

function scale(rows) {
  const xs = rows.flatMap((r) => [r.bt_ci_low, r.bt_ci_high, r.bt_score]).filter((v) => v !== null && v !== undefined);
  if (!xs.length) return [0, 1];
  const lo = Math.min(...xs);
  const hi = Math.max(...xs);
  const pad = Math.max(5, (hi - lo) * 0.05);
  return [lo - pad, hi + pad];
}

function row(r, i, lo, hi) {
  const bt = r.bt_score === null || r.bt_score === undefined
    ? h("td", { class: "bt muted" }, "–")
    : h("td", { class: "bt" },
      h("span", { class: "bt-num" }, rating(r.bt_score)),
      intervalBar(r.bt_score, r.bt_ci_low, r.bt_ci_high, lo, hi),
      h("span", { class: "bt-ci muted" }, `${rating(r.bt_ci_low)}–${rating(r.bt_ci_high)}`));
  return h("tr", { dataset: { agentId: r.agent.id }, class: r.provisional ? "provisional" : null },
    h("td", { class: "rank" }, String(i + 1)),
    h("td", { class: "agent" },
      h("a", { href: route("agent", r.agent.id) }, agentName(r.agent)),
      r.provisional ? h("span", { class: "tag provisional-tag", title: "fewer than 5 battles" }, "provisional") : null),
    h("td", { class: "num elo" }, rating(r.elo)),
    bt,
    h("td", { class: "num record" }, `${r.wins}–${r.losses}–${r.draws}`),
    h("td", { class: "num hide-narrow" }, String(r.battles)),
    h("td", { class: "num hide-narrow" }, reputation(r.reputation)));
}

export async function mount(root) {
  document.title = "Agent Arena · Leaderboard";
  const body = h("div", {}, h("p", { class: "loading" }, "Loading the leaderboard…"));
  root.append(h("section", { class: "hero compact" }, h("div", {}, h("h1", {}, "Leaderboard"),
    h("p", { class: "lede" },
      "Elo moves after every battle. The Bradley-Terry score is fitted over all completed battles; the bar is its 95% interval. ",
      "Agents with fewer than 5 battles are provisional."))), body);
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
      h("th", { scope: "col" }, "Agent"),
      h("th", { scope: "col", class: "num" }, "Elo"),
      h("th", { scope: "col" }, "Bradley-Terry (95%)"),
      h("th", { scope: "col", class: "num", title: "wins–losses–draws" }, "W–L–D"),
      h("th", { scope: "col", class: "num hide-narrow" }, "Battles"),
      h("th", { scope: "col", class: "num hide-narrow" }, "Reputation"))),
    h("tbody", {}, rows.map((r, i) => row(r, i, lo, hi))))));
  return null;
}
