// `#/ops`: the teams a signed-in person is in (with their role in each) and a small form to make one
// (its maker is its first admin; the page then opens its console).

import { getJSON, postJSON } from "../api.js";
import { attempt, fill, h, route } from "../dom.js";
import { plural } from "../format.js";
import { problemLine, roleTag } from "./words.js";

function teamItem(t) {
  return h("li", { class: "ops-team", dataset: { id: t.id, slug: t.slug } },
    h("a", { class: "ops-team-link text", href: route("ops", t.id) }, t.name),
    h("span", { class: "muted ops-team-meta" }, " ", h("span", { class: "text" }, t.slug),
      ` · ${t.plan} · ${plural(t.member_count, "member")} · ${plural(t.agent_count, "agent")} `),
    roleTag(t.role));
}

function slugOf(name) {
  return name.toLowerCase().normalize("NFKD").replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 100)
    .replace(/-+$/, "");
}

export function teamsPage(root) {
  let alive = true;
  const list = h("div", { class: "ops-teams-box" }, h("p", { class: "loading" }, "Loading your teams…"));
  const name = h("input", { class: "ops-team-name", name: "name", required: true, maxlength: 255, autocomplete: "off",
    placeholder: "Night shift" });
  const slug = h("input", { class: "ops-team-slug", name: "slug", required: true, maxlength: 100, autocomplete: "off",
    pattern: "[a-z0-9](?:[a-z0-9\\-]{0,98}[a-z0-9])?", placeholder: "night-shift" });
  let slugTouched = false;
  name.addEventListener("input", () => { if (!slugTouched) slug.value = slugOf(name.value); });
  slug.addEventListener("input", () => { slugTouched = slug.value !== ""; });
  const submit = h("button", { type: "submit", class: "button small ops-team-create" }, "Create the team");
  const problem = problemLine("ops-team-problem");
  const form = h("form", { class: "mk-form ops-new-team" },
    h("h2", {}, "New team"),
    h("p", { class: "muted" }, "You become its first admin, and grant others a role in it."),
    h("label", { class: "mk-field" }, h("span", {}, "Name"), name),
    h("label", { class: "mk-field" }, h("span", {}, "Slug (lower-case letters, digits and dashes)"), slug),
    h("div", { class: "mk-form-buttons" }, submit), problem);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    let made = null;
    const ok = await attempt(problem, submit, async () => {
      made = await postJSON("/api/teams", { name: name.value.trim(), slug: slug.value.trim() });
    });
    if (ok && made && alive) location.hash = route("ops", made.id);
  });

  root.append(
    h("section", { class: "hero compact" }, h("div", {}, h("h1", {}, "Operations"),
      h("p", { class: "lede" }, "Your teams' agents as a fleet: their live status, deployments, metrics, usage and budgets."))),
    h("div", { class: "ops-teams-layout" },
      h("section", { class: "card ops-teams" }, h("h2", {}, "Your teams"), list),
      h("section", { class: "card ops-new-team-card" }, form)));

  getJSON("/api/teams").then((page) => {
    if (!alive) return;
    fill(list, page.items.length
      ? h("ul", { class: "ops-team-list" }, page.items.map(teamItem))
      : h("p", { class: "muted ops-no-teams" }, "You are in no team yet: make one, or ask a team's admin to add you."));
  }).catch((err) => {
    if (alive) fill(list, h("p", { class: "mk-problem" }, `Your teams cannot be loaded: ${err.message}`));
  });
  return () => { alive = false; };
}
