// What a signed-in person does with an item, each a small form that opens in place: remix it, add it
// to a collection, use it in a simulation; its owner publishes a new version or unpublishes it. A
// refusal is said next to the form that caused it.

import { getJSON, postJSON } from "../api.js";
import { fill, h, route } from "../dom.js";
import { KINDS, RELATIONS, attempt, itemApi, itemHref, problemLine } from "./cards.js";

// The API key of an agent just remixed here, kept in this page's memory only until its page shows it
// once (never written to storage: a reload forgets it).
const freshKeys = new Map();

/** The key of a just-remixed agent, once: the second call answers null. */
export function takeFreshKey(agentId) {
  const key = freshKeys.get(agentId) || null;
  freshKeys.delete(agentId);
  return key;
}

/** A disclosure: its summary is the button, its body the form (built when first opened). */
function disclosure(cls, label, build) {
  const body = h("div", { class: "mk-action-body" });
  const el = h("details", { class: ["mk-action", cls] }, h("summary", { class: "button" }, label), body);
  let built = false;
  el.addEventListener("toggle", () => {
    if (el.open && !built) {
      built = true;
      build(body);
    }
  });
  return el;
}

function field(label, control, cls = "mk-field") {
  return h("label", { class: cls }, h("span", {}, label), control);
}

// -- remix ------------------------------------------------------------------------------------------

export function remixAction(kind, id, versions, allowed) {
  return disclosure("mk-remix", "Remix", (body) => {
    if (!allowed) {
      fill(body, h("p", { class: "muted mk-remix-closed" }, "Its owner does not allow remixes."));
      return;
    }
    const relation = h("select", { class: "mk-remix-relation", name: "relation" },
      Object.entries(RELATIONS).map(([value, label]) => h("option", { value }, label)));
    const version = h("select", { class: "mk-remix-version", name: "version" },
      h("option", { value: "" }, "The latest version"),
      versions.map((v) => h("option", { value: v.version }, `v${v.version}${v.is_public ? "" : " (draft)"}`)));
    const name = kind === "agent"
      ? h("input", { class: "mk-remix-name", name: "name", maxlength: 50, pattern: "[a-zA-Z0-9_-]{3,50}",
        placeholder: "optional: 3-50 of a-z 0-9 _ -", autocomplete: "off" })
      : null;
    const submit = h("button", { type: "submit", class: "button primary mk-remix-submit" }, "Remix it");
    const problem = problemLine("mk-remix-problem");
    const form = h("form", { class: "mk-form" },
      h("p", { class: "muted" }, "A copy of one version becomes a new, private item of yours; its lineage names this one.",
        kind === "agent" ? " A remixed agent is a new agent with its own API key, shown once." : ""),
      field("Relation", relation),
      field("Version", version),
      name ? field("New agent's name", name) : null,
      h("div", { class: "mk-form-buttons" }, submit),
      problem);
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      const payload = { relation: relation.value };
      if (version.value) payload.version = version.value;
      if (name && name.value.trim()) payload.name = name.value.trim();
      let made = null;
      const ok = await attempt(problem, submit, async () => { made = await postJSON(itemApi(kind, id, "/remix"), payload); });
      if (!ok) return;
      if (kind === "agent") {
        freshKeys.set(made.agent_id, made.api_key);
        location.hash = itemHref("agent", made.agent_id);
      } else {
        location.hash = itemHref(kind, made.id);
      }
    });
    fill(body, form);
  });
}

// -- collections ------------------------------------------------------------------------------------

export function collectAction(kind, id) {
  return disclosure("mk-collect", "Add to collection", async (body) => {
    fill(body, h("p", { class: "loading" }, "Loading your collections…"));
    let mine;
    try {
      mine = (await getJSON("/api/collections", { mine: "true", limit: 100 })).items;
    } catch (err) {
      fill(body, h("p", { class: "mk-problem" }, err.message));
      return;
    }
    const select = h("select", { class: "mk-collect-select", name: "collection" },
      h("option", { value: "" }, mine.length ? "Choose a collection" : "You have no collections yet"),
      mine.map((c) => h("option", { value: c.id }, c.name)));
    const fresh = h("input", { class: "mk-collect-new", name: "new", maxlength: 200, placeholder: "or a new collection's name",
      autocomplete: "off" });
    const submit = h("button", { type: "submit", class: "button primary mk-collect-submit" }, "Add");
    const problem = problemLine("mk-collect-problem");
    const done = h("p", { class: "mk-collect-done", role: "status" });
    const form = h("form", { class: "mk-form" },
      field("Collection", select),
      field("New collection (private)", fresh),
      h("div", { class: "mk-form-buttons" }, submit),
      problem, done);
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      done.replaceChildren();
      const newName = fresh.value.trim();
      if (!select.value && !newName) {
        problem.textContent = "Choose a collection, or name a new one.";
        return;
      }
      let into = null;
      const ok = await attempt(problem, submit, async () => {
        let target = select.value;
        if (newName) {
          const made = await postJSON("/api/collections", { name: newName, is_public: false });
          target = made.id;
          select.append(h("option", { value: made.id }, made.name));
          select.value = made.id;
          fresh.value = "";
        }
        into = await postJSON(`/api/collections/${encodeURIComponent(target)}/items`, { kind, item_id: id });
      });
      if (ok) fill(done, "Added to ", h("a", { href: route("collections", into.id), class: "text" }, into.name), ".");
    });
    fill(body, form);
  });
}

// -- use in a simulation ----------------------------------------------------------------------------

/** Options from both lists, each id once: [{id, label}]. */
function merged(...lists) {
  const seen = new Map();
  for (const list of lists) for (const o of list) if (!seen.has(o.id)) seen.set(o.id, o);
  return [...seen.values()];
}

async function optionsFor(kind, mineUrl, label) {
  const [mine, pub] = await Promise.all([
    getJSON(mineUrl, { mine: "true", limit: 100 }).catch(() => []),
    getJSON("/api/marketplace/search", { kind, limit: 100 }).catch(() => ({ items: [] })),
  ]);
  const own = (Array.isArray(mine) ? mine : mine.items).map((x) => ({ id: x.id || x.agent_id, label: `${label(x)} (yours)` }));
  return merged(own, pub.items.map((l) => ({ id: l.id, label: `${l.name}${l.owner ? ` (by ${l.owner})` : ""}` })));
}

/** `item`: the item this page shows ({kind, id, name}); it fills its own slot of the crew. */
export function useAction(item) {
  return disclosure("mk-use", "Use in a simulation", async (body) => {
    fill(body, h("p", { class: "loading" }, "Loading what you may use…"));
    const fixed = (label, cls) => h("p", { class: ["mk-fixed", cls] }, h("span", { class: "muted" }, `${label}: `),
      h("span", { class: "text" }, item.name));
    let scenario;
    let agent;
    let tasks;
    try {
      const [scenarios, agents, taskList] = await Promise.all([
        item.kind === "scenario" ? null : optionsFor("scenario", "/api/scenarios", (x) => x.title),
        item.kind === "agent" ? null : optionsFor("agent", "/api/agents", (x) => x.display_name || x.name),
        item.kind === "task" ? null : optionsFor("task", "/api/tasks", (x) => x.title),
      ]);
      const pick = (cls, name, list, empty, multiple = false) => h("select", { class: cls, name, multiple, required: true,
        size: multiple ? Math.min(5, Math.max(2, list.length)) : null },
        multiple ? null : h("option", { value: "" }, list.length ? "Choose one" : empty),
        list.map((o) => h("option", { value: o.id }, o.label)));
      scenario = scenarios ? pick("mk-use-scenario", "scenario", scenarios, "No scenarios to use") : null;
      agent = agents ? pick("mk-use-agent", "agent", agents, "No agents to use") : null;
      tasks = taskList ? pick("mk-use-tasks", "tasks", taskList, "No tasks to use", true) : null;
    } catch (err) {
      fill(body, h("p", { class: "mk-problem" }, err.message));
      return;
    }
    const submit = h("button", { type: "submit", class: "button primary mk-use-submit" }, "Create the simulation");
    const problem = problemLine("mk-use-problem");
    const form = h("form", { class: "mk-form" },
      h("p", { class: "muted" }, "A crew of one agent works through the tasks in order (sequential). It starts from its page."),
      scenario ? field("Scenario", scenario) : fixed("Scenario", "mk-use-this-scenario"),
      agent ? field("Crew agent", agent) : fixed("Crew agent", "mk-use-this-agent"),
      tasks ? field("Tasks (one or more)", tasks) : fixed("Task", "mk-use-this-task"),
      h("div", { class: "mk-form-buttons" }, submit),
      problem);
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      const scenarioId = scenario ? scenario.value : item.id;
      const agentId = agent ? agent.value : item.id;
      const taskIds = tasks ? [...tasks.selectedOptions].map((o) => o.value) : [item.id];
      if (!scenarioId || !agentId || !taskIds.length) {
        problem.textContent = "Choose a scenario, an agent and at least one task.";
        return;
      }
      let sim = null;
      const ok = await attempt(problem, submit, async () => {
        sim = await postJSON("/api/simulations", {
          scenario_id: scenarioId, process: "sequential", crew: [{ agent_id: agentId, task_ids: taskIds }],
        });
      });
      if (ok) location.hash = route("simulations", sim.id);
    });
    fill(body, form);
  });
}

// -- the owner's: publish, unpublish ----------------------------------------------------------------

export function publishAction(kind, id, onDone) {
  return disclosure("mk-publish", "Publish a new version", (body) => {
    const version = h("input", { class: "mk-publish-version", name: "version", maxlength: 20, pattern: "[A-Za-z0-9._+\\-]{1,20}",
      placeholder: "optional, e.g. 1.1.0", autocomplete: "off" });
    const notes = h("textarea", { class: "mk-publish-notes", name: "version_notes", rows: 3, maxlength: 5000,
      placeholder: "What changed" });
    const isPublic = h("input", { type: "checkbox", class: "mk-publish-public", name: "is_public", checked: true });
    const submit = h("button", { type: "submit", class: "button primary mk-publish-submit" }, "Publish");
    const problem = problemLine("mk-publish-problem");
    const form = h("form", { class: "mk-form" },
      h("p", { class: "muted" }, "A version is a snapshot of what you wrote. Without a number, the next one is taken."),
      field("Version", version),
      field("Notes", notes),
      h("label", { class: "mk-check" }, isPublic, " Public (unchecked: a private draft only you see)"),
      h("div", { class: "mk-form-buttons" }, submit),
      problem);
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      const payload = { is_public: isPublic.checked };
      if (version.value.trim()) payload.version = version.value.trim();
      if (notes.value.trim()) payload.version_notes = notes.value.trim();
      const ok = await attempt(problem, submit, () => postJSON(itemApi(kind, id, "/publish"), payload));
      if (ok) onDone();
    });
    fill(body, form);
  });
}

export function unpublishButton(kind, id, isPublic, onDone) {
  const problem = problemLine("mk-unpublish-problem");
  const button = h("button", { type: "button", class: "button danger mk-unpublish", disabled: !isPublic,
    title: isPublic ? null : "It is not public" }, "Unpublish");
  button.addEventListener("click", async () => {
    if (!window.confirm(`Take this ${KINDS[kind].label.toLowerCase()} out of the marketplace? Its versions stay, seen by you only.`)) return;
    const ok = await attempt(problem, button, () => postJSON(itemApi(kind, id, "/unpublish")));
    if (ok) onDone();
  });
  return h("div", { class: "mk-unpublish-box" }, button, problem);
}
