// An agent's metrics over the last 24 hours: a metric type chosen from those present, raw points or
// one bucket size (the mean per bucket), drawn as a line over time. The chart is chart.js's kind of
// drawing (the same classes: .chart, .grid, .axis, .line, .dot), with a time axis and values that
// need not be whole numbers. New points arrive as `ops:metrics` in the team room: `refresh()`.

import { getJSON } from "../api.js";
import { fill, h, s } from "../dom.js";
import { plural } from "../format.js";
import { BUCKETS, num } from "./words.js";

const RAW_LIMIT = 5000;

function ticks(lo, hi, count = 4) {
  const span = hi - lo;
  const raw = span / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((x) => x >= raw) || raw;
  const out = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  return { out, digits: Math.max(0, -Math.floor(Math.log10(step))) };
}

function clockText(ms) {
  return new Date(ms).toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" });
}

/**
 * `points`: [{at (ms), value, label}] oldest first. A line over time with a dot per point (its title
 * says the value and when).
 */
export function metricChart(points, { type, unit, width = 420, height = 200 } = {}) {
  const pad = { left: 48, right: 12, top: 12, bottom: 24 };
  const values = points.map((p) => p.value);
  let lo = Math.min(...values);
  let hi = Math.max(...values);
  const margin = hi > lo ? (hi - lo) * 0.15 : Math.max(Math.abs(hi) * 0.1, 1);
  lo -= margin;
  hi += margin;
  const t0 = points[0].at;
  const t1 = points[points.length - 1].at;
  const x = (t) => pad.left + (t1 > t0 ? (t - t0) / (t1 - t0) : 0.5) * (width - pad.left - pad.right);
  const y = (v) => pad.top + (1 - (v - lo) / (hi - lo)) * (height - pad.top - pad.bottom);
  const u = unit ? ` ${unit}` : "";
  const label = `${type}: ${points.length} points from ${clockText(t0)} to ${clockText(t1)}, ` +
    `${num(Math.min(...values))} to ${num(Math.max(...values))}${u}`;
  const { out, digits } = ticks(lo, hi);
  return s("svg", { class: "chart ops-chart", viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": label },
    s("title", {}, label),
    out.map((t) => [
      s("line", { class: "grid", x1: pad.left, x2: width - pad.right, y1: y(t), y2: y(t) }),
      s("text", { class: "axis", x: pad.left - 6, y: y(t) + 4, "text-anchor": "end" },
        t.toLocaleString("en-US", { maximumFractionDigits: Math.min(digits, 6) })),
    ]),
    s("text", { class: "axis", x: pad.left, y: height - 6 }, clockText(t0)),
    s("text", { class: "axis", x: width - pad.right, y: height - 6, "text-anchor": "end" }, clockText(t1)),
    points.length > 1
      ? s("polyline", { class: "line", fill: "none",
        points: points.map((p) => `${x(p.at).toFixed(1)},${y(p.value).toFixed(1)}`).join(" ") })
      : null,
    points.map((p) => s("circle", { class: "dot", cx: x(p.at), cy: y(p.value), r: points.length > 60 ? 1.5 : 3 },
      s("title", {}, p.label))));
}

/** The metrics box of one agent. `agentId` fixed; `refresh()` reads again (debounced by the caller). */
export function metricsView(agentId) {
  const typeSelect = h("select", { class: "ops-metric-type", name: "type", "aria-label": "Metric" });
  const bucketSelect = h("select", { class: "ops-metric-bucket", name: "bucket", "aria-label": "Bucket" },
    h("option", { value: "" }, "Every point"),
    BUCKETS.map((b) => h("option", { value: b }, `Mean per ${b}`)));
  const chartBox = h("div", { class: "ops-metric-chart", dataset: { count: "0" } });
  const summary = h("p", { class: "ops-metric-summary muted" });
  const note = h("p", { class: "muted ops-metric-note", hidden: true });
  const controls = h("div", { class: "ops-metric-controls", hidden: true },
    h("label", { class: "mk-field" }, h("span", {}, "Metric"), typeSelect),
    h("label", { class: "mk-field" }, h("span", {}, "Points"), bucketSelect));
  const el = h("section", { class: "ops-metrics ops-block" }, h("h3", {}, "Metrics, last 24 hours"), controls,
    chartBox, summary, note);

  let types = [];
  let asked = 0;
  let stopped = false;

  function drawTypes(found) {
    const chosen = typeSelect.value;
    types = found;
    fill(typeSelect, types.map((t) => h("option", { value: t }, t)));
    if (types.includes(chosen)) typeSelect.value = chosen;
    controls.hidden = types.length === 0;
  }

  function draw(points, unit, more) {
    chartBox.dataset.count = String(points.length);
    chartBox.dataset.type = typeSelect.value;
    note.hidden = !more;
    note.textContent = more ? "More points than can be drawn: the first ones are shown. Choose a bucket to see them all." : "";
    if (!points.length) {
      fill(chartBox, h("p", { class: "empty ops-no-metrics" }, types.length
        ? "No points of this metric in the last 24 hours." : "No metrics reported in the last 24 hours."));
      summary.textContent = "";
      return;
    }
    fill(chartBox, metricChart(points, { type: typeSelect.value, unit }));
    const last = points[points.length - 1];
    const u = unit ? ` ${unit}` : "";
    const mean = points.reduce((acc, p) => acc + p.value, 0) / points.length;
    summary.textContent = `latest ${num(last.value)}${u} · mean ${num(mean)}${u} · ` +
      plural(points.length, bucketSelect.value ? "bucket" : "point");
  }

  async function refresh() {
    const mine = ++asked;
    const base = `/api/agents/${encodeURIComponent(agentId)}/metrics`;
    try {
      // every point of the range, all types: which types there are (and, unbucketed, the chart's data)
      const all = await getJSON(base, { limit: RAW_LIMIT });
      if (stopped || mine !== asked) return;
      drawTypes([...new Set(all.points.map((p) => p.type))].sort());
      const type = typeSelect.value;
      if (!type) {
        draw([], null, false);
        return;
      }
      const bucket = bucketSelect.value;
      if (!bucket) {
        const mineOnly = all.points.filter((p) => p.type === type);
        draw(mineOnly.map((p) => ({ at: Date.parse(p.recorded_at), value: p.value,
          label: `${num(p.value)}${p.unit ? ` ${p.unit}` : ""} at ${new Date(p.recorded_at).toLocaleTimeString()} (${p.source})` })),
        mineOnly.find((p) => p.unit)?.unit || null, all.more);
        return;
      }
      const series = await getJSON(base, { type, bucket });
      if (stopped || mine !== asked) return;
      draw(series.buckets.map((b) => ({ at: Date.parse(b.at), value: b.avg,
        label: `mean ${num(b.avg)} (min ${num(b.min)}, max ${num(b.max)}, ${b.count} points) from ${new Date(b.at).toLocaleTimeString()}` })),
      series.buckets.find((b) => b.unit)?.unit || null, false);
    } catch (err) {
      if (stopped || mine !== asked) return;
      fill(chartBox, h("p", { class: "mk-problem" }, `The metrics cannot be loaded: ${err.message}`));
    }
  }

  typeSelect.addEventListener("change", refresh);
  bucketSelect.addEventListener("change", refresh);
  fill(chartBox, h("p", { class: "loading" }, "Loading the metrics…"));
  refresh();
  return { el, refresh, stop: () => { stopped = true; } };
}
