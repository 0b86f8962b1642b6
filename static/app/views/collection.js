// A collection: `#/collections/<id>`. Its name, owner, description and followers, its agents and
// tools in order (those the reader may see); a signed-in reader who does not own it follows it, its
// owner moves items up and down and removes them. A private or missing one is not found.

import { currentUser, getJSON, postJSON, sendJSON } from "../api.js";
import { fill, h, problemCard, route } from "../dom.js";
import { ago, plural } from "../format.js";
import { attempt, itemHref, kindTag, problemLine, ratingText } from "../marketplace/cards.js";

export async function mount(root, [collectionId]) {
  document.title = "Agent Arena · Collection";
  const base = `/api/collections/${encodeURIComponent(collectionId)}`;
  root.append(h("p", { class: "loading" }, "Loading the collection…"));
  let c;
  let me;
  try {
    [c, me] = await Promise.all([getJSON(base), currentUser()]);
  } catch (err) {
    const missing = err.status === 404 || err.code === "validation.failed";
    problemCard(root, "This collection cannot be shown", missing ? "There is no such collection, or it is private." : err.message,
      ["#/marketplace", "Back to the marketplace"], "mk-problem-card");
    return null;
  }
  let gone = false;
  const head = h("header", { class: "mk-collection-head" });
  const followBox = h("div", { class: "follow-box mk-follow-box" });
  const list = h("div", { class: "card mk-collection-body" });
  const problem = problemLine("mk-collection-problem");
  fill(root,
    h("nav", { class: "toolbar", "aria-label": "Marketplace" }, h("a", { class: "back", href: "#/marketplace" }, "← Marketplace")),
    h("section", { class: "hero compact" }, head, followBox),
    problem,
    list);

  const isOwner = () => Boolean(me && me.username === c.owner);

  function drawHead() {
    document.title = `Agent Arena · ${c.name}`;
    fill(head, h("div", {},
      h("div", { class: "card-top" }, h("span", { class: "tag" }, "collection"),
        c.is_public ? null : h("span", { class: "tag warn" }, "private")),
      h("h1", { class: "mk-collection-name text" }, c.name),
      h("p", { class: "muted mk-collection-by" }, "by ", h("a", { class: "mk-collection-owner", href: route("users", c.owner) }, c.owner),
        ` · made ${ago(c.created_at)} · `, h("span", { class: "mk-followers" }, plural(c.follower_count, "follower"))),
      c.description ? h("p", { class: "mk-collection-description text" }, c.description) : null));
  }

  function drawFollow() {
    if (!me) {
      fill(followBox, h("p", { class: "muted" }, "Sign in to follow."));
      return;
    }
    if (isOwner()) {
      fill(followBox, h("p", { class: "muted mk-own-collection" }, "Your collection."));
      return;
    }
    const on = c.following;
    fill(followBox, h("button", { type: "button", class: ["button", on ? null : "primary", "mk-follow"], "aria-pressed": String(on),
      onclick: toggleFollow }, on ? "Following ✓" : "Follow"));
  }

  async function toggleFollow(e) {
    const button = e.currentTarget;
    const ok = await attempt(problem, button, async () => {
      const r = c.following ? await sendJSON("DELETE", `${base}/follow`) : await postJSON(`${base}/follow`);
      c.following = r.following;
      c.follower_count = r.follower_count;
    });
    if (ok && !gone) {
      drawHead();
      drawFollow();
    }
  }

  async function change(button, fn) {
    const ok = await attempt(problem, button, async () => { c = await fn(); });
    if (ok && !gone) {
      drawHead();
      drawItems();
    }
  }

  function move(index, by) {
    const order = c.items.map((it) => ({ kind: it.kind, item_id: it.id }));
    const [taken] = order.splice(index, 1);
    order.splice(index + by, 0, taken);
    return order;
  }

  function drawItems() {
    const owner = isOwner();
    if (!c.items.length) {
      fill(list, h("h2", {}, "Items"), h("p", { class: "muted mk-collection-empty" },
        owner ? "Nothing in it yet: add agents and tools from their marketplace pages." : "Nothing to show in it."));
      return;
    }
    const last = c.items.length - 1;
    fill(list, h("h2", {}, `Items (${c.items.length})`),
      h("ol", { class: "mk-collection-items" }, c.items.map((it, i) => h("li", { dataset: { id: it.id, kind: it.kind } },
        h("span", { class: "mk-position", "aria-label": `position ${it.position}` }, String(it.position)),
        h("div", { class: "mk-collection-item-main" },
          h("div", { class: "mk-collection-item-top" }, kindTag(it.kind),
            h("a", { class: "mk-collection-item-link text", href: itemHref(it.kind, it.id) }, it.name),
            h("span", { class: "muted" }, ` v${it.version} · ${ratingText(it.average_rating, it.rating_count)}`)),
          it.description ? h("p", { class: "muted text mk-collection-item-description" },
            it.description.length > 200 ? `${it.description.slice(0, 200)}…` : it.description) : null),
        owner ? h("div", { class: "mk-collection-item-buttons" },
          h("button", { type: "button", class: "button small mk-up", disabled: i === 0, "aria-label": `Move ${it.name} up`,
            onclick: (e) => change(e.currentTarget, () => sendJSON("PUT", `${base}/order`, { items: move(i, -1) })) }, "↑"),
          h("button", { type: "button", class: "button small mk-down", disabled: i === last, "aria-label": `Move ${it.name} down`,
            onclick: (e) => change(e.currentTarget, () => sendJSON("PUT", `${base}/order`, { items: move(i, 1) })) }, "↓"),
          h("button", { type: "button", class: "button small danger mk-remove", "aria-label": `Remove ${it.name}`,
            onclick: (e) => change(e.currentTarget, () => sendJSON("DELETE",
              `${base}/items/${encodeURIComponent(it.kind)}/${encodeURIComponent(it.id)}`)) }, "Remove"))
          : null))));
  }

  drawHead();
  drawFollow();
  drawItems();
  return () => { gone = true; };
}
