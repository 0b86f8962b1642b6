// Hash routes -> view modules. A view module exports `mount(root, params, ctx)` and may return a
// cleanup function (stop feeds and timers). To add a view, add a line here.

const ROUTES = [
  { pattern: /^\/?$/, view: () => import("./views/lobby.js"), nav: "lobby" },
  { pattern: /^\/battle\/([^/]+)$/, view: () => import("./views/battle.js"), nav: "lobby" },
  { pattern: /^\/replay\/([^/]+)$/, view: () => import("./views/replay.js"), nav: "lobby" },
  { pattern: /^\/leaderboard$/, view: () => import("./views/leaderboard.js"), nav: "leaderboard" },
  { pattern: /^\/agent\/([^/]+)$/, view: () => import("./views/agent.js"), nav: "leaderboard" },
  { pattern: /^\/executions$/, view: () => import("./views/executions.js"), nav: "executions" },
  { pattern: /^\/executions\/([^/]+)$/, view: () => import("./views/execution.js"), nav: "executions" },
  { pattern: /^\/simulations$/, view: () => import("./views/simulations.js"), nav: "simulations" },
  { pattern: /^\/simulations\/([^/]+)$/, view: () => import("./views/simulation.js"), nav: "simulations" },
  { pattern: /^\/benchmarks$/, view: () => import("./views/benchmarks.js"), nav: "benchmarks" },
  { pattern: /^\/benchmarks\/([^/]+)$/, view: () => import("./views/benchmark_task.js"), nav: "benchmarks" },
  { pattern: /^\/entries\/([^/]+)$/, view: () => import("./views/entry.js"), nav: "benchmarks" },
  { pattern: /^\/users\/([^/]+)$/, view: () => import("./views/user.js"), nav: "benchmarks" },
  { pattern: /^\/marketplace$/, view: () => import("./views/marketplace.js"), nav: "marketplace" },
  { pattern: /^\/marketplace\/(agent|tool|task|scenario)\/([^/]+)$/, view: () => import("./views/listing.js"), nav: "marketplace" },
  { pattern: /^\/collections\/([^/]+)$/, view: () => import("./views/collection.js"), nav: "marketplace" },
  { pattern: /^\/ops$/, view: () => import("./views/operations.js"), nav: "operations" },
  { pattern: /^\/ops\/([^/]+)$/, view: () => import("./views/operations.js"), nav: "operations" },
  { pattern: /^\/ops\/([^/]+)\/([^/]+)$/, view: () => import("./views/operations.js"), nav: "operations" },
];

function match(hash) {
  const path = hash.replace(/^#/, "") || "/";
  for (const r of ROUTES) {
    const m = path.match(r.pattern);
    if (m) return { route: r, params: m.slice(1).map((p) => decodeURIComponent(p)) };
  }
  return null;
}

export function startRouter(root, ctx, { renderNotFound, renderError }) {
  let cleanup = null;
  let generation = 0;

  async function show() {
    const mine = ++generation;
    if (typeof cleanup === "function") cleanup();
    cleanup = null;
    const found = match(location.hash);
    for (const a of document.querySelectorAll("[data-nav]")) {
      if (found && a.dataset.nav === found.route.nav) a.setAttribute("aria-current", "page");
      else a.removeAttribute("aria-current");
    }
    if (!found) {
      renderNotFound(root);
      return;
    }
    let mod;
    try {
      mod = await found.route.view();
    } catch (err) {
      if (mine === generation) renderError(root, err);
      return;
    }
    if (mine !== generation) return; // the hash changed again meanwhile
    // Each view draws into its own element, so a slow, superseded mount draws nowhere visible.
    const view = document.createElement("div");
    view.className = "view";
    root.replaceChildren(view);
    window.scrollTo(0, 0);
    const stopMine = await mod.mount(view, found.params, ctx);
    if (mine !== generation) {
      // superseded while mounting: stop what it started, and leave the newer view's cleanup alone
      if (typeof stopMine === "function") stopMine();
      return;
    }
    cleanup = stopMine;
  }

  window.addEventListener("hashchange", show);
  return show();
}
