// The marketplace: `#/marketplace`. Public agents, tools, tasks and scenarios as cards, by kind, in
// one of five orders or searched by name and description (typo-tolerant on the server, best match
// first), filtered by category, tags, rating and templates, a cursor page at a time. Beside them the
// public collections and, for a signed-in person, their own with a form to make one.

import { currentUser, getJSON, postJSON } from "../api.js";
import { fill, h, route } from "../dom.js";
import { plural } from "../format.js";
import { KINDS, SORTS, attempt, listingCard, problemLine } from "../marketplace/cards.js";

const PAGE = 12;

function collectionItem(c) {
  return h("li", { class: "mk-collection", dataset: { id: c.id } },
    h("a", { class: "mk-collection-link text", href: route("collections", c.id) }, c.name),
    h("span", { class: "muted mk-collection-meta" }, " by ", h("span", { class: "text" }, c.owner),
      ` · ${plural(c.item_count, "item")} · ${plural(c.follower_count, "follower")}`),
    c.is_public ? null : h("span", { class: "tag warn" }, "private"));
}

export function mount(root) {
  document.title = "Agent Arena · Marketplace";
  let alive = true;
  let kind = "";
  let cursor = null;
  let asked = 0; // the newest request wins (a filter changed while one was on the way)

  const tabs = h("div", { class: "mk-tabs", role: "group", "aria-label": "Kind" },
    [["", "All"], ...Object.entries(KINDS).map(([k, w]) => [k, w.many])].map(([k, label]) =>
      h("button", { type: "button", class: "mk-tab", dataset: { kind: k }, "aria-pressed": String(k === kind),
        onclick: () => { kind = k; markTabs(); load(); } }, label)));
  const q = h("input", { type: "search", class: "mk-search-input", name: "q", maxlength: 100,
    placeholder: "Search names and descriptions", "aria-label": "Search the marketplace" });
  const search = h("form", { class: "bench-search mk-search", role: "search" }, q,
    h("button", { class: "button", type: "submit" }, "Search"));
  const sort = h("select", { class: "mk-sort", name: "sort", "aria-label": "Order" },
    Object.entries(SORTS).map(([value, label]) => h("option", { value }, label)));
  const sortBox = h("label", { class: "mk-sort-box" }, h("span", { class: "muted" }, "Order "), sort);
  const relevance = h("span", { class: "muted mk-relevance", hidden: true }, "Best match first");
  const category = h("input", { class: "mk-filter-category", name: "category", maxlength: 50, placeholder: "Category",
    "aria-label": "Category" });
  const tags = h("input", { class: "mk-filter-tags", name: "tags", maxlength: 1100, placeholder: "Tags, comma-separated",
    "aria-label": "Tags" });
  const minRating = h("select", { class: "mk-filter-rating", name: "min_rating", "aria-label": "Minimum rating" },
    h("option", { value: "" }, "Any rating"),
    [4, 3, 2, 1].map((n) => h("option", { value: String(n) }, `★ ${n} and up`)));
  const template = h("input", { type: "checkbox", class: "mk-filter-template", name: "template" });
  const filters = h("form", { class: "mk-filters" }, category, tags, minRating,
    h("label", { class: "mk-check" }, template, " Templates only"),
    h("button", { type: "submit", class: "button small mk-apply" }, "Apply"));
  const grid = h("ul", { class: "mk-grid mk-results" });
  const note = h("p", { class: "empty mk-empty" }, "Loading…");
  const problem = problemLine("mk-results-problem");
  const more = h("button", { type: "button", class: "button mk-more", hidden: true }, "Load more");
  const heading = h("h2", { class: "mk-results-heading" }, "Everything");

  const publicCollections = h("div", {}, h("p", { class: "loading" }, "Loading…"));
  const myBox = h("section", { class: "card mk-my-collections", hidden: true });

  root.append(
    h("section", { class: "hero compact" }, h("div", {}, h("h1", {}, "Marketplace"),
      h("p", { class: "lede" }, "Agents, tools, tasks and scenarios people published: remix one into your own, review it, ",
        "collect it, or put it to work in a simulation."))),
    tabs,
    h("div", { class: "sim-filters mk-controls" }, search, sortBox, relevance),
    filters,
    h("div", { class: "mk-layout" },
      h("section", { class: "section mk-main" }, heading, problem, note, grid, more),
      h("aside", { class: "mk-side" },
        h("section", { class: "card mk-collections" }, h("h2", {}, "Collections"), publicCollections),
        myBox)));

  function markTabs() {
    for (const b of tabs.querySelectorAll(".mk-tab")) b.setAttribute("aria-pressed", String(b.dataset.kind === kind));
  }

  function query() {
    const text = q.value.trim();
    return {
      q: text || undefined,
      kind: kind || undefined,
      sort: text ? undefined : sort.value,
      category: category.value.trim() || undefined,
      tags: tags.value.split(",").map((t) => t.trim()).filter(Boolean).join(",") || undefined,
      min_rating: minRating.value || undefined,
      template: template.checked ? "true" : undefined,
      limit: PAGE,
    };
  }

  let shownQuery = null; // what the cards on show answer: "Load more" continues it, whatever was typed since

  async function load() {
    const mine = ++asked;
    const wanted = query();
    const text = q.value.trim();
    sortBox.hidden = Boolean(text);
    relevance.hidden = !text;
    heading.textContent = text ? `Results for “${text}”` : kind ? KINDS[kind].many : "Everything";
    problem.textContent = "";
    more.hidden = true;
    try {
      const page = await getJSON("/api/marketplace/search", wanted);
      if (!alive || mine !== asked) return;
      shownQuery = wanted;
      fill(grid, page.items.map(listingCard));
      cursor = page.next_cursor;
      more.hidden = !cursor;
      note.hidden = page.items.length > 0;
      note.textContent = text ? "Nothing matches." : "Nothing is published here yet.";
    } catch (err) {
      if (!alive || mine !== asked) return;
      fill(grid);
      note.hidden = true;
      problem.textContent = `The marketplace cannot be loaded: ${err.message}`;
    }
  }

  more.addEventListener("click", async () => {
    if (!cursor || !shownQuery) return;
    const mine = asked;
    more.disabled = true;
    try {
      const page = await getJSON("/api/marketplace/search", { ...shownQuery, cursor });
      if (!alive || mine !== asked) return;
      grid.append(...page.items.map(listingCard));
      cursor = page.next_cursor;
      more.hidden = !cursor;
    } catch (err) {
      problem.textContent = `More cannot be loaded: ${err.message}`;
    } finally {
      more.disabled = false;
    }
  });
  search.addEventListener("submit", (e) => { e.preventDefault(); load(); });
  filters.addEventListener("submit", (e) => { e.preventDefault(); load(); });
  for (const el of [sort, minRating, template]) el.addEventListener("change", load);
  for (const el of [category, tags]) el.addEventListener("change", load);

  async function loadCollections(me) {
    try {
      const page = await getJSON("/api/collections", { limit: 30 });
      if (!alive) return;
      const shown = page.items.filter((c) => c.is_public);
      fill(publicCollections, shown.length
        ? h("ul", { class: "mk-collection-list mk-public-collections" }, shown.map(collectionItem))
        : h("p", { class: "muted" }, "No public collections yet."));
    } catch (err) {
      fill(publicCollections, h("p", { class: "muted" }, err.message));
    }
    if (me) await loadMine();
  }

  const myList = h("div", {});
  async function loadMine() {
    try {
      const page = await getJSON("/api/collections", { mine: "true", limit: 100 });
      if (!alive) return;
      fill(myList, page.items.length
        ? h("ul", { class: "mk-collection-list mk-mine" }, page.items.map(collectionItem))
        : h("p", { class: "muted mk-no-collections" }, "You have no collections yet."));
    } catch (err) {
      fill(myList, h("p", { class: "muted" }, err.message));
    }
  }

  function drawMine() {
    const name = h("input", { class: "mk-new-collection-name", name: "name", maxlength: 200, required: true,
      placeholder: "A name", "aria-label": "New collection's name", autocomplete: "off" });
    const isPublic = h("input", { type: "checkbox", class: "mk-new-collection-public", name: "is_public" });
    const submit = h("button", { type: "submit", class: "button small" }, "Make it");
    const formProblem = problemLine("mk-new-collection-problem");
    const form = h("form", { class: "mk-form mk-new-collection" },
      h("h3", {}, "New collection"), name,
      h("label", { class: "mk-check" }, isPublic, " Public"),
      h("div", { class: "mk-form-buttons" }, submit), formProblem);
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      const ok = await attempt(formProblem, submit, () => postJSON("/api/collections",
        { name: name.value.trim(), is_public: isPublic.checked }));
      if (!ok) return;
      name.value = "";
      isPublic.checked = false;
      await loadCollections(true);
    });
    fill(myBox, h("h2", {}, "My collections"), myList, form);
    myBox.hidden = false;
  }

  load();
  currentUser().then((me) => {
    if (!alive) return;
    if (me) drawMine();
    loadCollections(me);
  });
  return () => { alive = false; };
}
