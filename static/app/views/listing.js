// One item of the marketplace: `#/marketplace/<kind>/<id>` (kind: agent, tool, task, scenario). Its
// listing (name, owner, version, tags, counters), what it is (an agent's role and tools, a tool's
// type and configuration, a task's expected output, a scenario's challenge), its versions, its lineage
// (what it was remixed from, its remixes as a tree), what it earned (battles, benchmark entries,
// simulations, the agents using a tool), its reviews, and what a signed-in person may do with it.
// Everything the owner and reviewers wrote is shown as text.

import { currentUser, getJSON } from "../api.js";
import { fill, h, problemCard, route } from "../dom.js";
import { ago, count, plural, rating as ratingNumber } from "../format.js";
import { collectAction, publishAction, remixAction, takeFreshKey, unpublishButton, useAction } from "../marketplace/actions.js";
import { KINDS, REVIEWED, itemApi, itemHref, itemUrl, kindTag, ownerLink, ratingText, tagList } from "../marketplace/cards.js";
import { lineageView } from "../marketplace/lineage.js";
import { reviewsSection } from "../marketplace/reviews.js";

function stat(label, value, key) {
  return h("div", { class: "stat", dataset: { stat: key } }, h("div", { class: "stat-value" }, value),
    h("div", { class: "stat-label" }, label));
}

function fact(label, value, cls) {
  if (value === null || value === undefined || value === "") return null;
  return h("div", { class: ["fact", cls] }, h("dt", {}, label), h("dd", { class: "text" }, value));
}

function block(label, text, cls) {
  if (text === null || text === undefined || text === "") return null;
  return h("div", { class: ["mk-block", cls] }, h("h3", {}, label), h("p", { class: "text" }, text));
}

function json(label, value, cls) {
  if (!value || (typeof value === "object" && !Object.keys(value).length)) return null;
  return h("div", { class: ["mk-block", cls] }, h("h3", {}, label), h("pre", { class: "mk-json text" }, JSON.stringify(value, null, 2)));
}

function details(kind, item) {
  if (kind === "agent") {
    return [
      h("dl", { class: "exec-facts mk-facts" },
        fact("Agent name", item.name, "mk-agent-name"),
        fact("Role", item.role, "mk-role"),
        fact("Category", item.category),
        fact("Works", [item.verbose && "verbose", item.allow_delegation && "delegates", item.reasoning && "reasons"]
          .filter(Boolean).join(", ") || null)),
      block("Goal", item.goal, "mk-goal"),
      block("Backstory", item.backstory, "mk-backstory"),
      item.tools.length
        ? h("div", { class: "mk-block mk-agent-tools" }, h("h3", {}, "Tools"),
          h("ul", { class: "mk-tool-list" }, item.tools.map((t) => h("li", {},
            t.tool_id ? h("a", { class: "text", href: itemHref("tool", t.tool_id) }, t.name) : h("span", { class: "text" }, t.name),
            t.version ? h("span", { class: "muted" }, ` v${t.version}`) : null))))
        : null,
    ];
  }
  if (kind === "tool") {
    return [
      h("dl", { class: "exec-facts mk-facts" },
        fact("Type", item.tool_type, "mk-tool-type"),
        fact("Language", item.language)),
      json("Configuration", item.configuration, "mk-config"),
      json("Parameters", item.parameters, "mk-parameters"),
      block("Usage examples", item.usage_examples, "mk-examples"),
      item.code ? h("div", { class: "mk-block mk-code" }, h("h3", {}, "Code"), h("pre", { class: "mk-json text" }, item.code)) : null,
    ];
  }
  if (kind === "task") {
    return [
      h("dl", { class: "exec-facts mk-facts" },
        fact("Category", item.category),
        fact("A person approves the result", item.human_input ? "yes" : "no")),
      block("Expected output", item.expected_output, "mk-expected-output"),
      json("Context", item.context, "mk-context"),
      json("Output format", item.output_format, "mk-output-format"),
    ];
  }
  return [
    h("dl", { class: "exec-facts mk-facts" },
      fact("Industry", item.industry, "mk-industry"),
      fact("Category", item.category),
      fact("Source", item.source_type === "pdf" ? `a PDF (${plural(item.pdf_pages || 0, "page")})` : item.source_type)),
    block("Challenge", item.challenge, "mk-challenge"),
    item.learning_objectives.length
      ? h("div", { class: "mk-block mk-objectives" }, h("h3", {}, "Learning objectives"),
        h("ul", {}, item.learning_objectives.map((o) => h("li", { class: "text" }, o))))
      : null,
  ];
}

function versionsView(list, isOwner) {
  if (!list.items.length) {
    return h("p", { class: "muted mk-no-versions" }, isOwner ? "Never published: publish a version to list it." : "No versions yet.");
  }
  return h("ul", { class: "mk-versions" }, list.items.map((v) => h("li", { dataset: { version: v.version } },
    h("div", { class: "mk-version-head" },
      h("span", { class: "mk-version-number text" }, `v${v.version}`),
      v.version === list.current && v.is_public ? h("span", { class: "tag good" }, "current") : null,
      v.is_public ? null : h("span", { class: "tag warn mk-draft" }, "draft"),
      h("span", { class: "muted" }, ` · ${ago(v.published_at)}`)),
    v.version_notes ? h("p", { class: "mk-version-notes text" }, v.version_notes) : null)));
}

function evidenceView(kind, ev) {
  const parts = [];
  if (ev.battle_record) {
    const b = ev.battle_record;
    parts.push(h("p", { class: "mk-record" }, h("strong", {}, "Battles: "),
      h("span", { class: "mk-wld" }, `${b.wins} W · ${b.losses} L · ${b.draws} D`),
      h("span", { class: "muted" }, ` · rating ${ratingNumber(b.rating)} · ${plural(b.battles, "battle")}`)));
  }
  if (ev.recent_battles.length) {
    parts.push(h("h3", {}, "Recent battles"), h("ul", { class: "mk-evidence-list mk-battles" }, ev.recent_battles.map((b) => h("li", {},
      h("a", { class: "text", href: route("replay", b.id) }, b.topic),
      h("span", { class: ["tag", `mk-result-${b.result}`] }, b.result),
      b.completed_at ? h("span", { class: "muted" }, ` ${ago(b.completed_at)}`) : null))));
  }
  if (ev.benchmark_entries.length) {
    parts.push(h("h3", {}, `Benchmark entries (${count(ev.benchmark_entry_count)})`,
      ev.best_rank ? h("span", { class: "muted" }, ` · best rank #${ev.best_rank}`) : null),
    h("ul", { class: "mk-evidence-list mk-entries" }, ev.benchmark_entries.map((e) => h("li", {},
      h("a", { class: "text", href: route("entries", e.id) }, e.task_title),
      e.overall_score !== null ? h("span", { class: "muted" }, ` · score ${Number(e.overall_score).toFixed(1)}`) : null,
      e.ranked && e.overall_ranking ? h("span", { class: "tag mk-rank" }, `#${e.overall_ranking}`) : null))));
  }
  if (ev.simulations.length) {
    parts.push(h("h3", {}, `Simulations (${count(ev.simulation_count)})`),
      h("ul", { class: "mk-evidence-list mk-simulations" }, ev.simulations.map((s) => h("li", {},
        h("a", { class: "text", href: route("simulations", s.id) }, s.title),
        h("span", { class: "muted" }, ` · ${s.status} · ${ago(s.created_at)}`)))));
  }
  if (kind === "tool" && ev.used_by_agents.length) {
    parts.push(h("h3", {}, `Used by ${plural(ev.used_by_count, "agent")}`),
      h("ul", { class: "mk-evidence-list mk-used-by" }, ev.used_by_agents.map((a) => h("li", {},
        h("a", { class: "text", href: itemHref("agent", a.id) }, a.display_name || a.name),
        a.average_rating ? h("span", { class: "muted" }, ` · ★ ${Number(a.average_rating).toFixed(1)}`) : null))));
  }
  if (!parts.length) parts.push(h("p", { class: "muted mk-no-evidence" }, "No public record yet."));
  return parts;
}

function notFoundCard(root, kind, err) {
  const missing = !err || err.status === 404 || err.code === "validation.failed";
  problemCard(root, `This ${KINDS[kind].label.toLowerCase()} cannot be shown`,
    missing ? `There is no such ${KINDS[kind].label.toLowerCase()}, or it is private.` : err.message,
    ["#/marketplace", "Back to the marketplace"], "mk-problem-card");
}

export async function mount(root, [kind, id]) {
  const words = KINDS[kind];
  document.title = `Agent Arena · ${words.label}`;
  root.append(h("p", { class: "loading" }, "Loading…"));
  const freshKey = kind === "agent" ? takeFreshKey(id) : null;
  let me = null;
  let gone = false;

  const keyBox = freshKey
    ? h("section", { class: "card mk-api-key", role: "status" },
      h("h2", {}, "Your new agent's API key"),
      h("p", {}, h("code", { class: "mk-api-key-value" }, freshKey)),
      h("p", { class: "muted" }, "Store it now: it is shown this once and cannot be read again. Leave this page and it is gone."))
    : null;
  const head = h("div", { class: "mk-item-head-box" });
  const about = h("section", { class: "card mk-about" });
  const actions = h("section", { class: "card mk-actions" });
  const versions = h("section", { class: "card mk-versions-card" });
  const lineage = h("section", { class: "card mk-lineage-card" });
  const evidence = h("section", { class: "card mk-evidence" });
  const reviews = REVIEWED.has(kind) ? h("section", { class: "card mk-reviews" }) : null;
  const layout = h("div", { class: "mk-item-grid" },
    h("div", { class: "mk-item-main" }, about, lineage, evidence, reviews),
    h("aside", { class: "mk-item-side" }, actions, versions));

  async function fetchAll() {
    const [listing, item, versionList, tree, ev] = await Promise.all([
      getJSON(itemApi(kind, id, "/listing")),
      getJSON(itemUrl(kind, id)),
      getJSON(itemApi(kind, id, "/versions")),
      getJSON(itemApi(kind, id, "/lineage")),
      getJSON(itemApi(kind, id, "/evidence")).catch(() => null),
    ]);
    return { listing, item, versionList, tree, ev };
  }

  function drawHead(l) {
    const isOwner = Boolean(me && l.owner && me.username === l.owner);
    fill(head,
      h("nav", { class: "toolbar", "aria-label": "Marketplace" }, h("a", { class: "back", href: "#/marketplace" }, "← Marketplace")),
      h("header", { class: "mk-item-head", dataset: { kind, id } },
        h("div", { class: "card-top" }, kindTag(kind),
          h("span", { class: "tag text mk-item-version" }, `v${l.version}`),
          l.is_template ? h("span", { class: "tag good" }, "template") : null,
          l.is_public ? null : h("span", { class: "tag warn mk-item-private" }, "private"),
          l.allow_remixes ? null : h("span", { class: "tag" }, "no remixes"),
          l.category ? h("span", { class: "tag text" }, l.category) : null),
        h("h1", { class: "mk-item-name text" }, l.name),
        h("p", { class: "muted mk-item-by" }, "by ", ownerLink(l.owner, "mk-item-owner"), ` · listed ${ago(l.created_at)}`,
          isOwner ? h("span", { class: "tag mk-yours" }, "yours") : null),
        tagList(l.tags, "mk-tags mk-item-tags")),
      h("div", { class: "stats mk-counters" },
        stat(l.rating_count ? "Rating" : "Rating (none yet)", l.rating_count ? ratingText(l.average_rating, l.rating_count) : "–", "rating"),
        stat("Uses", count(l.usage_count), "uses"),
        stat("Clones", count(l.clone_count), "clones"),
        stat("Trend (7 days)", count(l.trend_score), "trend")));
    return isOwner;
  }

  async function load(first = false) {
    let data;
    try {
      data = await fetchAll();
    } catch (err) {
      if (!gone) notFoundCard(root, kind, err);
      return;
    }
    if (gone) return;
    const { listing: l, item, versionList, tree, ev } = data;
    document.title = `Agent Arena · ${l.name}`;
    const isOwner = drawHead(l);
    fill(about, h("h2", {}, "About"),
      item.description ? h("p", { class: "mk-description text" }, item.description) : h("p", { class: "muted" }, "No description."),
      details(kind, item));
    fill(versions, h("h2", {}, "Versions"), versionsView(versionList, isOwner));
    fill(lineage, h("h2", {}, "Lineage"), lineageView(tree));
    fill(evidence, h("h2", {}, "Evidence"), ev ? evidenceView(kind, ev) : h("p", { class: "muted" }, "The record cannot be loaded."));
    drawActions(l, isOwner, versionList);
    if (reviews) {
      reviewsSection(reviews, kind, id, { me, isOwner, isPublic: l.is_public }, () => refreshHead()).reload();
    }
    if (first) fill(root, keyBox, head, layout);
  }

  async function refreshHead() {
    try {
      const l = await getJSON(itemApi(kind, id, "/listing"));
      if (!gone) drawHead(l);
    } catch {
      // the header keeps what it showed
    }
  }

  function drawActions(l, isOwner, versionList) {
    if (!me) {
      fill(actions, h("h2", {}, "Use it"), h("p", { class: "muted mk-sign-in" }, "Sign in to remix, review, collect or use it."));
      return;
    }
    const named = { kind, id, name: l.name };
    fill(actions, h("h2", {}, isOwner ? "Yours" : "Use it"),
      h("div", { class: "mk-action-list" },
        isOwner ? publishAction(kind, id, () => load()) : remixAction(kind, id, versionList.items, l.allow_remixes),
        isOwner ? unpublishButton(kind, id, l.is_public, () => load()) : null,
        REVIEWED.has(kind) ? collectAction(kind, id) : null,
        useAction(named)));
  }

  me = await currentUser();
  await load(true);
  return () => { gone = true; };
}
