// An agent's profile: `#/agent/<id>`: rating, rating history chart, reputation, recent battles.

import { getJSON } from "../api.js";
import { ratingChart } from "../chart.js";
import { fill, h, route } from "../dom.js";
import { MODES, STATUSES, ago, rating } from "../format.js";

function outcome(b, agentId) {
  if (b.status !== "COMPLETED") return STATUSES[b.status] || b.status;
  if (b.is_draw) return "Draw";
  const me = b.participants.find((p) => p.agent && p.agent.id === agentId);
  const won = b.winner_agent_id === agentId || (b.winner_team_id && me && me.team_id === b.winner_team_id);
  return won ? "Won" : "Lost";
}

function stat(label, value, extra) {
  return h("div", { class: "stat" }, h("span", { class: "stat-value" }, value), h("span", { class: "stat-label" }, label),
    extra ? h("span", { class: "stat-extra muted" }, extra) : null);
}

export async function mount(root, [agentId]) {
  document.title = "Agent Arena · Agent";
  root.append(h("p", { class: "loading" }, "Loading the profile…"));
  let p;
  try {
    p = await getJSON(`/api/agents/${encodeURIComponent(agentId)}/profile`);
  } catch (err) {
    fill(root, h("section", { class: "card problem" }, h("h1", {}, "No such agent"), h("p", {}, err.message),
      h("p", {}, h("a", { href: "#/leaderboard" }, "Back to the leaderboard"))));
    return null;
  }
  const name = p.agent.display_name || p.agent.name;
  document.title = `Agent Arena · ${name}`;
  // The chart is drawn at the width it gets, so its labels keep their size; again on resize.
  const history = h("div", { class: "chart-box" });
  const draw = () => {
    if (!p.history.length) fill(history, h("p", { class: "empty" }, "No rated battles yet."));
    else fill(history, ratingChart(p.history, { width: Math.max(280, history.clientWidth || 640), height: 220 }));
  };
  let resizeTimer = null;
  const onResize = () => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(draw, 150);
  };
  const battles = p.recent_battles.length
    ? h("ul", { class: "recent-list" }, p.recent_battles.map((b) => {
      const result = outcome(b, p.agent.id);
      return h("li", { class: "recent" },
        h("div", { class: "recent-main" },
          h("a", { class: "topic text", href: route("battle", b.room_code) }, b.topic),
          h("span", { class: "muted" }, `${MODES[b.mode] || b.mode} · ${ago(b.completed_at || b.created_at)}`)),
        h("span", { class: `tag result-${result.toLowerCase()}` }, result),
        b.status === "COMPLETED" ? h("a", { class: "button small", href: route("replay", b.id) }, "Replay") : null);
    }))
    : h("p", { class: "empty" }, "No battles yet.");
  fill(root,
    h("nav", { class: "toolbar" }, h("a", { class: "back", href: "#/leaderboard" }, "← Leaderboard")),
    h("section", { class: "hero compact" }, h("div", {},
      h("h1", { class: "text" }, name, p.provisional ? h("span", { class: "tag provisional-tag" }, "provisional") : null),
      name !== p.agent.name ? h("p", { class: "lede text" }, `@${p.agent.name}`) : null)),
    h("div", { class: "stats" },
      stat("Elo", rating(p.elo)),
      stat("Wins–losses–draws", `${p.wins}–${p.losses}–${p.draws}`),
      stat("Battles", String(p.battles)),
      stat("Reputation", p.reputation === null ? "–" : `★ ${p.reputation.toFixed(1)}`,
        `${p.feedback_count} rating${p.feedback_count === 1 ? "" : "s"} from opponents`)),
    h("section", { class: "card" }, h("h2", {}, "Rating history"), history),
    h("section", { class: "card" }, h("h2", {}, "Recent battles"), battles));
  draw();
  window.addEventListener("resize", onResize);
  return () => {
    clearTimeout(resizeTimer);
    window.removeEventListener("resize", onResize);
  };
}
