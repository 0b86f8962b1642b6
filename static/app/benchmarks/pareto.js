// The cost-aware view (HAL): every ranked entry as a point of score against cost, tokens or time,
// the Pareto frontier (no other entry is both better and cheaper) joined as a staircase. Inline SVG.

import { route, s } from "../dom.js";
import { AXES, score } from "./format.js";

function ticks(lo, hi, count = 4) {
  const span = hi - lo || 1;
  const raw = span / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((x) => x >= raw) || raw;
  const out = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Number(v.toPrecision(6)));
  return out;
}

function tickText(v, axis) {
  if (axis === "cost") return v < 0.01 && v > 0 ? `$${v.toPrecision(1)}` : `$${v}`;
  if (axis === "tokens") return v >= 1000 ? `${v / 1000}k` : String(v);
  return `${v}s`;
}

/** `points`: [{entry_id, title, score, x, frontier}]; `axis`: cost | tokens | time. */
export function paretoChart(points, axis, { width = window.innerWidth < 600 ? 420 : 900, height = 300 } = {}) {
  const pad = { left: 44, right: 16, top: 12, bottom: 34 };
  const xs = points.map((p) => p.x);
  const hiX = Math.max(...xs, 0) * 1.08 || 1;
  const x = (v) => pad.left + (v / hiX) * (width - pad.left - pad.right);
  const y = (v) => pad.top + (1 - v / 100) * (height - pad.top - pad.bottom);
  const frontier = points.filter((p) => p.frontier).sort((a, b) => a.x - b.x);
  // The staircase: from each frontier point across to the next one's cost, then up to its score.
  let path = "";
  frontier.forEach((p, i) => {
    path += i === 0 ? `M${x(p.x).toFixed(1)},${y(p.score).toFixed(1)}` : ` H${x(p.x).toFixed(1)} V${y(p.score).toFixed(1)}`;
  });
  const label = `Score against ${AXES[axis].toLowerCase()}: ${points.length} entries, ${frontier.length} on the frontier`;
  return s("svg", { class: "chart pareto", viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": label },
    s("title", {}, label),
    [0, 25, 50, 75, 100].map((t) => [
      s("line", { class: "grid", x1: pad.left, x2: width - pad.right, y1: y(t), y2: y(t) }),
      s("text", { class: "axis", x: pad.left - 6, y: y(t) + 4, "text-anchor": "end" }, String(t)),
    ]),
    ticks(0, hiX).map((t) => s("text", { class: "axis", x: x(t), y: height - 16, "text-anchor": "middle" }, tickText(t, axis))),
    s("text", { class: "axis", x: width - pad.right, y: height - 2, "text-anchor": "end" }, AXES[axis]),
    path ? s("path", { class: "frontier-line", d: path, fill: "none" }) : null,
    points.map((p) => s("a", { href: route("entries", p.entry_id), class: "pareto-point", dataset: { entryId: p.entry_id } },
      s("circle", { class: p.frontier ? "dot frontier" : "dot", cx: x(p.x), cy: y(p.score), r: p.frontier ? 5 : 4 },
        s("title", {}, `${p.title}: score ${score(p.score)}, ${tickText(Number(p.x.toPrecision(3)), axis)}${p.frontier ? " (on the frontier)" : ""}`)))));
}
