// Small inline SVG drawings: a rating history line and an interval bar. No library.

import { s } from "./dom.js";

function niceTicks(lo, hi, count = 4) {
  const span = Math.max(1, hi - lo);
  const raw = span / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((x) => x >= raw) || raw;
  const ticks = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi; v += step) ticks.push(v);
  return ticks;
}

/**
 * A line of ratings, one point per rated battle (evenly spaced), starting at the rating before the
 * first one. `history`: [{rating_before, rating_after, created_at}] oldest first.
 */
export function ratingChart(history, { width = 640, height = 200 } = {}) {
  const values = history.length ? [history[0].rating_before, ...history.map((p) => p.rating_after)] : [];
  const pad = { left: 44, right: 12, top: 12, bottom: 24 };
  let lo = Math.min(...values);
  let hi = Math.max(...values);
  const margin = Math.max(10, (hi - lo) * 0.15);
  lo -= margin;
  hi += margin;
  const x = (i) => pad.left + (values.length < 2 ? 0.5 : i / (values.length - 1)) * (width - pad.left - pad.right);
  const y = (v) => pad.top + (1 - (v - lo) / (hi - lo)) * (height - pad.top - pad.bottom);
  const points = values.map((v, i) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(" ");
  const last = values[values.length - 1];
  const first = values[0];
  const label = `Rating history: ${Math.round(first)} to ${Math.round(last)} over ${history.length} rated battles`;
  return s("svg", { class: "chart", viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": label },
  s("title", {}, label),
  niceTicks(lo, hi).map((t) => [
    s("line", { class: "grid", x1: pad.left, x2: width - pad.right, y1: y(t), y2: y(t) }),
    s("text", { class: "axis", x: pad.left - 6, y: y(t) + 4, "text-anchor": "end" }, String(Math.round(t))),
  ]),
  s("text", { class: "axis", x: pad.left, y: height - 6 }, "first battle"),
  s("text", { class: "axis", x: width - pad.right, y: height - 6, "text-anchor": "end" }, "latest"),
  s("polyline", { class: `line ${last >= first ? "up" : "down"}`, points, fill: "none" }),
  values.map((v, i) => s("circle", { class: "dot", cx: x(i), cy: y(v), r: values.length > 40 ? 1.5 : 3 },
    s("title", {}, i === 0 ? `start: ${Math.round(v)}` : `after battle ${i}: ${Math.round(v)}`))));
}

/**
 * A horizontal 95% interval with its point estimate, on the shared scale [lo, hi]. Positions are
 * percentages of the drawing's width (no viewBox): CSS sizes the bar to the room it gets, and the
 * dot stays round however narrow it is.
 */
export function intervalBar(score, low, high, lo, hi, { height = 18 } = {}) {
  const at = (v) => (100 * (v - lo)) / Math.max(1e-9, hi - lo);
  const pct = (x) => `${x.toFixed(2)}%`;
  const mid = height / 2;
  return s("svg", { class: "interval", height, "aria-hidden": "true" },
    s("line", { class: "interval-axis", x1: "0%", x2: "100%", y1: mid, y2: mid }),
    s("rect", { class: "interval-range", x: pct(at(low)), y: mid - 4, width: pct(Math.max(0, at(high) - at(low))),
      height: 8, rx: 4 }),
    s("circle", { class: "interval-point", cx: pct(at(score)), cy: mid, r: 4 }));
}
