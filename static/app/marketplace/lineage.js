// An item's lineage (GET /api/{kind}/{id}/lineage): what it was remixed from, as a breadcrumb chain
// (nearest first, stopping where the caller may not see further), and its remixes as a nested list.

import { h } from "../dom.js";
import { itemHref, ownerLink } from "./cards.js";

function nodeLink(node, cls) {
  return h("a", { class: [cls, "text"], href: itemHref(node.kind, node.id) }, node.name);
}

function treeItem(node) {
  return h("li", { class: "mk-tree-node", dataset: { id: node.id } },
    h("div", { class: "mk-tree-row" },
      nodeLink(node, "mk-tree-link"),
      node.relation ? h("span", { class: "tag mk-relation" }, node.relation) : null,
      h("span", { class: "muted mk-tree-meta" },
        node.remixed_from_version ? ` from v${node.remixed_from_version}` : "",
        ` · v${node.version} · by `, ownerLink(node.owner, "mk-tree-owner")),
      node.is_public ? null : h("span", { class: "tag warn" }, "private")),
    node.children.length ? h("ul", { class: "mk-tree-children" }, node.children.map(treeItem)) : null);
}

/** The version of its source a node was remixed from, " v1.2.0" (or nothing). */
function pinned(node) {
  return node.remixed_from_version ? h("span", { class: "muted mk-pinned" }, ` v${node.remixed_from_version}`) : null;
}

export function lineageView(lineage) {
  const { item, ancestors, ancestors_hidden: hidden, truncated } = lineage;
  const chain = ancestors.length || hidden
    ? h("p", { class: "mk-ancestors" },
      h("span", { class: "mk-ancestors-label" }, "Remixed from "),
      ancestors.map((a, i) => [i ? h("span", { class: "muted", "aria-hidden": "true" }, " ‹ ") : null,
        h("span", { class: "mk-ancestor", dataset: { id: a.id } }, nodeLink(a, "mk-ancestor-link"),
          pinned(i === 0 ? item : ancestors[i - 1]))]),
      hidden ? h("span", { class: "mk-ancestors-hidden muted" },
        ancestors.length ? " ‹ earlier history hidden" : "an item you may not see (earlier history hidden)") : null)
    : h("p", { class: "muted mk-original" }, "An original: not remixed from anything.");
  return h("div", { class: "mk-lineage" },
    chain,
    item.relation ? h("p", { class: "muted mk-own-relation" }, `Relation to its source: ${item.relation}`) : null,
    h("h3", {}, item.children.length ? "Remixes" : "No remixes yet"),
    item.children.length ? h("ul", { class: "mk-tree" }, item.children.map(treeItem)) : null,
    truncated ? h("p", { class: "muted mk-truncated" }, "The tree goes on: only the first 500 remixes are shown.") : null);
}
