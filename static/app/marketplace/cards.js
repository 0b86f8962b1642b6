// The marketplace in words and small pieces (docs/protocol.md, "Marketplace"): the four kinds of
// item, where each lives in the API and the page, ratings, and a listing's card. Everything an agent
// or a person wrote (names, descriptions, tags, usernames) goes in as text.

import { attempt, h, route } from "../dom.js";

export { attempt };
import { count, plural } from "../format.js";

/** kind -> its words and its API segments (`/api/<plural>/<id>/...`, the item at `/api/<item>/<id>`). */
export const KINDS = {
  agent: { label: "Agent", many: "Agents", plural: "agents", item: "agent-profiles" },
  tool: { label: "Tool", many: "Tools", plural: "tools", item: "tools" },
  task: { label: "Task", many: "Tasks", plural: "tasks", item: "tasks" },
  scenario: { label: "Scenario", many: "Scenarios", plural: "scenarios", item: "scenarios" },
};

/** Agents and tools have reviews and go in collections. */
export const REVIEWED = new Set(["agent", "tool"]);

export const SORTS = {
  newest: "Newest",
  most_used: "Most used",
  most_cloned: "Most cloned",
  best_rated: "Best rated",
  trending: "Trending",
};

export const RELATIONS = {
  fork: "Fork (a copy)",
  adapt: "Adapt (changed for another use)",
  compose: "Compose (built from it with other parts)",
};

/** `/api/<plural>/<id>` + rest: the marketplace routes of one item. */
export function itemApi(kind, id, rest = "") {
  return `/api/${KINDS[kind].plural}/${encodeURIComponent(id)}${rest}`;
}

/** The item itself (a profile for an agent). */
export function itemUrl(kind, id) {
  return `/api/${KINDS[kind].item}/${encodeURIComponent(id)}`;
}

/** Its page: `#/marketplace/<kind>/<id>`. */
export function itemHref(kind, id) {
  return route("marketplace", kind, id);
}

export function kindTag(kind, cls = null) {
  return h("span", { class: ["tag", "mk-kind", `mk-kind-${kind}`, cls], dataset: { kind } }, KINDS[kind]?.label || kind);
}

export function ownerLink(owner, cls = "mk-owner") {
  if (!owner) return h("span", { class: [cls, "muted"] }, "an agent");
  return h("a", { class: cls, href: route("users", owner) }, owner);
}

/** "★ 4.3 (12)", or "not rated yet". */
export function ratingText(average, n) {
  if (!n) return "not rated yet";
  return `★ ${Number(average).toFixed(1)} (${count(n)})`;
}

export function stars(rating) {
  const n = Math.max(0, Math.min(5, Math.round(rating)));
  return h("span", { class: "mk-stars", "aria-label": `${n} of 5` }, "★".repeat(n) + "☆".repeat(5 - n));
}

/** The tags of an item, each as text. */
export function tagList(tags, cls = "mk-tags") {
  if (!tags || !tags.length) return null;
  return h("span", { class: cls }, tags.map((t) => h("span", { class: "tag text mk-tag" }, t)));
}

/** A listing (the shape of search results) as a card: the name links to its page. */
export function listingCard(l) {
  const desc = l.description || "";
  return h("li", { class: "mk-card", dataset: { id: l.id, kind: l.kind } },
    h("div", { class: "card-top" }, kindTag(l.kind, "mk-card-kind"),
      l.is_template ? h("span", { class: "tag good mk-template" }, "template") : null,
      l.is_public ? null : h("span", { class: "tag warn" }, "private"),
      h("span", { class: "tag text mk-card-version" }, `v${l.version}`)),
    h("h3", { class: "mk-card-name text" }, h("a", { href: itemHref(l.kind, l.id) }, l.name)),
    h("p", { class: "mk-card-by muted" }, "by ", ownerLink(l.owner, "mk-card-owner")),
    desc ? h("p", { class: "mk-card-description muted text" }, desc.length > 220 ? `${desc.slice(0, 220)}…` : desc) : null,
    tagList(l.tags),
    h("p", { class: "mk-card-stats card-foot muted" },
      h("span", { class: "mk-card-rating" }, ratingText(l.average_rating, l.rating_count)),
      " · ", h("span", { class: "mk-card-uses" }, plural(l.usage_count, "use")),
      " · ", h("span", { class: "mk-card-clones" }, plural(l.clone_count, "clone")),
      " · ", h("span", { class: "mk-card-trend", title: "uses and clones in the last 7 days" }, `trend ${count(l.trend_score)}`)));
}

/** A form's refusal line: the server's message for what the control next to it did. */
export function problemLine(cls = "") {
  return h("p", { class: ["mk-problem", cls], role: "alert" });
}

