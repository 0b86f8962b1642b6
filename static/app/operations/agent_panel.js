// The panel of one selected agent: its live status with, for who may steer it, a status control and
// its type; a form to deploy a new config (JSON, checked here before anything is sent); its
// deployment history with Rollback (versions that were deployed) and Stop (ones on their way); and
// its metrics chart. Deployments arrive live (`deployment(d)`), the agent's row too (`update(row)`).

import { getJSON, postJSON, sendJSON } from "../api.js";
import { attempt, fill, h } from "../dom.js";
import { ago } from "../format.js";
import { latestLine } from "./fleet.js";
import { metricsView } from "./metrics.js";
import {
  AGENT_STATUSES, SETTABLE, agentLabel, isDeployOpen, newer, problemLine, progressText, statusBadge, when,
} from "./words.js";

const HISTORY_PAGE = 20;
const CONFIG_SHOWN = 4000;

function jsonText(value) {
  const text = JSON.stringify(value ?? {}, null, 2);
  return text.length > CONFIG_SHOWN ? `${text.slice(0, CONFIG_SHOWN)}…` : text;
}

/** The config a person typed: an object, or a message saying why not (nothing is sent then). */
export function parseConfig(text) {
  let value;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return { error: `This is not valid JSON: ${err.message}` };
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    return { error: "The config must be a JSON object, such as {\"model\": \"small\"}." };
  }
  return { value };
}

export function agentPanel(agentId, ctx) {
  // ctx: {row() -> the agent's dashboard row, canSteer() -> bool, onClose()}
  const base = `/api/agents/${encodeURIComponent(agentId)}`;
  const history = new Map(); // deployment id -> deployment
  let cursor = null;
  let stopped = false;

  const title = h("h2", { class: "ops-detail-name text" });
  const handle = h("p", { class: "ops-detail-handle muted text" });
  const statusLine = h("div", { class: "ops-detail-status" });
  const steer = h("div", { class: "ops-steer" });
  const deployBox = h("div", { class: "ops-deploy-box" });
  const list = h("ol", { class: "ops-history" });
  const noHistory = h("p", { class: "muted ops-no-history", hidden: true }, "Nothing deployed yet.");
  const historyProblem = problemLine("ops-history-problem");
  const older = h("button", { type: "button", class: "button small ops-older", hidden: true }, "Older deployments");
  const metrics = metricsView(agentId);
  const close = h("button", { type: "button", class: "button small ops-close" }, "Close");
  close.addEventListener("click", () => ctx.onClose());

  const el = h("section", { class: "card ops-detail", dataset: { agentId }, "aria-live": "polite" },
    h("div", { class: "ops-detail-head" }, h("div", { class: "ops-detail-title" }, title, handle), close),
    statusLine, steer,
    h("div", { class: "ops-detail-grid" },
      h("section", { class: "ops-block ops-deployments" }, h("h3", {}, "Deployments"), deployBox, historyProblem,
        noHistory, list, older),
      metrics.el));

  // -- status and type ------------------------------------------------------------------------------

  let steerDrawn = null;
  function drawSteer(row, canSteer) {
    const sig = JSON.stringify([canSteer, row.status, row.type]);
    if (sig === steerDrawn) return;
    steerDrawn = sig;
    if (!canSteer) {
      fill(steer, h("p", { class: "muted ops-readonly" },
        "You see this agent read-only: an admin or agent manager of the team, or its owner, steers it."));
      return;
    }
    const problem = problemLine("ops-steer-problem");
    const buttons = SETTABLE.map((status) => h("button", {
      type: "button", class: ["button", "small", "ops-set-status", row.status === status && "on"],
      dataset: { status }, "aria-pressed": String(row.status === status),
    }, AGENT_STATUSES[status]));
    for (const b of buttons) {
      b.addEventListener("click", async () => {
        let answer = null;
        const ok = await attempt(problem, b, async () => {
          answer = await sendJSON("PATCH", `${base}/ops`, { status: b.dataset.status });
        });
        if (ok && answer) ctx.changed(answer);
      });
    }
    const typeInput = h("input", { class: "ops-type-input", name: "type", value: row.type, maxlength: 100,
      pattern: "[a-z0-9_-]{1,100}", "aria-label": "Type", autocomplete: "off" });
    const typeSave = h("button", { type: "submit", class: "button small ops-type-save" }, "Set type");
    const typeForm = h("form", { class: "ops-type-form" }, typeInput, typeSave);
    typeForm.addEventListener("submit", async (e) => {
      e.preventDefault();
      let answer = null;
      const ok = await attempt(problem, typeSave, async () => {
        answer = await sendJSON("PATCH", `${base}/ops`, { type: typeInput.value.trim() });
      });
      if (ok && answer) ctx.changed(answer);
    });
    fill(steer, h("div", { class: "ops-status-control", role: "group", "aria-label": "Set the status" },
      h("span", { class: "muted" }, "Set status:"), buttons), typeForm, problem);
  }

  // -- deploy form ----------------------------------------------------------------------------------

  let formShown = null;
  function drawDeployForm(row, canSteer) {
    if (formShown === canSteer) return;
    formShown = canSteer;
    if (!canSteer) {
      fill(deployBox);
      return;
    }
    const config = h("textarea", { class: "ops-deploy-config", name: "config", rows: 6, spellcheck: "false",
      "aria-label": "New config (JSON)" });
    config.value = JSON.stringify(row.config ?? {}, null, 2);
    const submit = h("button", { type: "submit", class: "button primary small ops-deploy-submit" }, "Deploy");
    const problem = problemLine("ops-deploy-problem");
    const form = h("form", { class: "mk-form ops-deploy-form" },
      h("label", { class: "mk-field" }, h("span", {}, "Deploy a new config (JSON)"), config),
      h("div", { class: "mk-form-buttons" }, submit), problem);
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      problem.textContent = "";
      const parsed = parseConfig(config.value);
      if (parsed.error) {
        problem.textContent = parsed.error;
        problem.dataset.code = "invalid_json";
        return;
      }
      let made = null;
      const ok = await attempt(problem, submit, async () => {
        made = await postJSON(`${base}/deployments`, { config: parsed.value });
      });
      if (ok && made) deployment(made);
    });
    fill(deployBox, form);
  }

  // -- history --------------------------------------------------------------------------------------

  function item(d, canSteer) {
    const problem = problemLine("ops-deployment-problem");
    const buttons = [];
    // a version that was deployed, and is not the one running now (status "deployed": the others
    // were stopped when a newer one replaced them)
    if (canSteer && d.deployed_at && d.status !== "deployed") {
      const back = h("button", { type: "button", class: "button small ops-rollback" }, `Roll back to v${d.version}`);
      back.addEventListener("click", async () => {
        let made = null;
        const ok = await attempt(problem, back, async () => {
          made = await postJSON(`/api/deployments/${encodeURIComponent(d.id)}/rollback`);
        });
        if (ok && made) deployment(made);
      });
      buttons.push(back);
    }
    if (canSteer && isDeployOpen(d.status)) {
      const stop = h("button", { type: "button", class: "button small danger ops-stop" }, "Stop");
      stop.addEventListener("click", async () => {
        let done = null;
        const ok = await attempt(problem, stop, async () => {
          done = await postJSON(`/api/deployments/${encodeURIComponent(d.id)}/stop`);
        });
        if (ok && done) deployment(done);
      });
      buttons.push(stop);
    }
    const how = d.rollback_of
      ? `rollback to v${d.trigger_config?.rollback_to_version ?? "?"}`
      : d.trigger_type.replace("_", " ");
    return h("li", { class: ["ops-deployment", `ops-deploy-${d.status}`], dataset: { id: d.id, version: d.version,
      status: d.status } },
    h("div", { class: "ops-deployment-head" },
      h("span", { class: "ops-deployment-version" }, `v${d.version}`),
      h("span", { class: ["tag", "ops-deployment-status", `ops-deploy-${d.status}`] }, d.status),
      h("span", { class: "muted ops-deployment-how" }, how),
      h("time", { class: "muted ops-deployment-time", datetime: d.created_at, title: when(d.created_at) },
        ago(d.created_at)),
      d.created_by ? h("span", { class: "muted text" }, `by ${d.created_by}`) : null),
    d.error_message ? h("p", { class: "ops-deployment-error text" }, d.error_message) : null,
    h("details", { class: "ops-deployment-config-box" }, h("summary", {}, "Config"),
      h("pre", { class: "mk-json ops-deployment-config text" }, jsonText(d.config))),
    buttons.length ? h("div", { class: "ops-deployment-buttons" }, buttons) : null,
    problem);
  }

  let listSig = null;
  let loaded = false;
  function drawHistory(canSteer) {
    if (!loaded) return; // "Loading…" until the first page is in
    const items = [...history.values()].sort((a, b) => b.version - a.version);
    const sig = JSON.stringify([canSteer, items]);
    if (sig === listSig) return;
    listSig = sig;
    noHistory.hidden = items.length > 0;
    // an open config stays open across a redraw
    const open = new Set([...list.querySelectorAll(".ops-deployment-config-box[open]")].map((d) => d.closest("li").dataset.id));
    fill(list, items.map((d) => {
      const li = item(d, canSteer);
      if (open.has(d.id)) li.querySelector(".ops-deployment-config-box").open = true;
      return li;
    }));
  }

  /** One deployment of this agent (a live event, or the answer to a click): upserted, further along wins. */
  function deployment(d) {
    if (stopped || d.agent_id !== agentId) return;
    if (!newer(history.get(d.id), d)) return;
    history.set(d.id, d);
    ctx.deployed(d);
    drawHistory(ctx.canSteer());
  }

  async function loadHistory() {
    try {
      const page = await getJSON(`${base}/deployments`, { limit: HISTORY_PAGE, cursor: cursor || undefined });
      if (stopped) return;
      for (const d of page.items) if (newer(history.get(d.id), d)) history.set(d.id, d);
      cursor = page.next_cursor;
      older.hidden = !cursor;
      loaded = true;
      drawHistory(ctx.canSteer());
    } catch (err) {
      if (stopped) return;
      historyProblem.textContent = `The deployments cannot be loaded: ${err.message}`;
      if (!loaded) fill(list);
    }
  }
  older.addEventListener("click", async () => {
    older.disabled = true;
    await loadHistory();
    older.disabled = false;
  });

  function update() {
    const row = ctx.row();
    if (!row) return;
    const canSteer = ctx.canSteer();
    title.textContent = agentLabel(row);
    handle.textContent = `${row.name}${row.owner ? ` · owner ${row.owner}` : ""} · type ${row.type}`;
    fill(statusLine, statusBadge(row.status, "ops-detail-badge"),
      h("span", { class: "muted" }, row.deployed_version ? ` running v${row.deployed_version} · ` : " nothing deployed · "),
      latestLine(row.latest_deployment, "ops-detail-latest"));
    statusLine.title = progressText(row.latest_deployment);
    drawSteer(row, canSteer);
    drawDeployForm(row, canSteer);
    drawHistory(canSteer);
  }

  fill(list, h("li", { class: "loading" }, "Loading the deployments…"));
  update();
  loadHistory();
  return {
    el,
    update,
    deployment,
    metrics: () => metrics.refresh(),
    stop: () => {
      stopped = true;
      metrics.stop();
    },
  };
}
