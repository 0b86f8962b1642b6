// The comment thread of an entry: replies nested under their parent, each with its votes; a
// signed-in person writes, replies, edits and deletes their own. A deleted comment keeps its place
// (its replies stay readable). Everything people wrote goes in as text.

import { ApiError, getJSON, postJSON, sendJSON } from "../api.js";
import { fill, h, route } from "../dom.js";
import { ago } from "../format.js";

const MAX = 2000;

function tree(items) {
  const kids = new Map();
  for (const c of items) {
    const key = c.parent_id || "";
    if (!kids.has(key)) kids.set(key, []);
    kids.get(key).push(c);
  }
  return kids;
}

function editor(label, initial, onSave, onCancel) {
  const area = h("textarea", { class: "comment-input", maxlength: MAX, rows: 3, required: true, "aria-label": label });
  area.value = initial;
  const problem = h("p", { class: "comment-problem muted", role: "status" });
  const form = h("form", { class: "comment-form" }, area,
    h("div", { class: "comment-form-buttons" },
      h("button", { type: "submit", class: "button small primary" }, label),
      onCancel ? h("button", { type: "button", class: "button small comment-cancel", onclick: onCancel }, "Cancel") : null),
    problem);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const text = area.value.trim();
    if (!text) {
      problem.textContent = "Write something first.";
      return;
    }
    form.querySelector("button[type=submit]").disabled = true;
    try {
      await onSave(text);
    } catch (err) {
      problem.textContent = err instanceof ApiError ? err.message : String(err);
      form.querySelector("button[type=submit]").disabled = false;
    }
  });
  return form;
}

/** The thread under `root` for entry `entryId`; `me` is the signed-in user or null. Returns
 * {reload, busy}: busy while a form is open (a periodic reload then waits). */
export function commentThread(root, entryId, me) {
  const list = h("div", { class: "comment-list" });
  const counter = h("h2", {}, "Comments");
  const top = me
    ? editor("Comment", "", async (text) => {
      await postJSON(`/api/benchmarks/entries/${encodeURIComponent(entryId)}/comments`, { content: text });
      top.querySelector("textarea").value = "";
      top.querySelector("button[type=submit]").disabled = false;
      await reload();
    }, null)
    : h("p", { class: "muted" }, "Sign in to comment and vote.");
  const problem = h("p", { class: "comment-problem muted", role: "status" });
  fill(root, counter, top, problem, list);
  const open = new Set(); // the slots with a reply or edit form being written
  let last = "";

  /** A vote or delete: its refusal (rate limited, say) is said, not thrown. */
  async function act(fn) {
    problem.textContent = "";
    try {
      await fn();
      await reload(true);
    } catch (err) {
      problem.textContent = err.message || String(err);
    }
  }

  function vote(c, which) {
    return act(() => postJSON(`/api/benchmarks/comments/${encodeURIComponent(c.id)}/vote`,
      { vote: c.my_vote === which ? null : which }));
  }

  function opened(slot, form) {
    open.add(slot);
    fill(slot, form);
    form.querySelector("textarea").focus();
  }

  function closed(slot) {
    open.delete(slot);
    slot.replaceChildren();
  }

  function draw(c, kids, depth) {
    const mine = me && c.user_id === me.id;
    const slot = h("div", { class: "comment-slot" });
    const body = c.is_deleted
      ? h("p", { class: "comment-text muted deleted" }, "This comment was deleted.")
      : h("p", { class: "comment-text text" }, c.content);
    const actions = [];
    if (me && !c.is_deleted) {
      actions.push(h("button", { type: "button", class: "link comment-reply", onclick: () => opened(slot,
        editor("Reply", "", async (text) => {
          await postJSON(`/api/benchmarks/entries/${encodeURIComponent(entryId)}/comments`, { content: text, parent_id: c.id });
          closed(slot);
          await reload(true);
        }, () => closed(slot))) }, "Reply"));
    }
    if (mine && !c.is_deleted) {
      actions.push(h("button", { type: "button", class: "link comment-edit", onclick: () => opened(slot,
        editor("Save", c.content, async (text) => {
          await sendJSON("PATCH", `/api/benchmarks/comments/${encodeURIComponent(c.id)}`, { content: text });
          closed(slot);
          await reload(true);
        }, () => closed(slot))) }, "Edit"));
      actions.push(h("button", { type: "button", class: "link comment-delete", onclick: async () => {
        if (!window.confirm("Delete this comment? Its replies stay.")) return;
        await act(() => sendJSON("DELETE", `/api/benchmarks/comments/${encodeURIComponent(c.id)}`));
      } }, "Delete"));
    }
    const canVote = me && !mine && !c.is_deleted;
    const votes = h("span", { class: "comment-votes" },
      h("button", { type: "button", class: ["vote-mini", "comment-up", c.my_vote === "upvote" && "on"], disabled: !canVote,
        "aria-pressed": String(c.my_vote === "upvote"), "aria-label": "Upvote", onclick: () => vote(c, "upvote") }, `▲ ${c.upvotes}`),
      h("button", { type: "button", class: ["vote-mini", "comment-down", c.my_vote === "downvote" && "on"], disabled: !canVote,
        "aria-pressed": String(c.my_vote === "downvote"), "aria-label": "Downvote", onclick: () => vote(c, "downvote") }, `▼ ${c.downvotes}`));
    return h("article", { class: "comment", dataset: { commentId: c.id, depth: String(depth) } },
      h("div", { class: "comment-head" },
        h("a", { class: "comment-author", href: route("users", c.username) }, c.username),
        h("span", { class: "muted" }, ` · ${ago(c.created_at)}`),
        c.is_edited && !c.is_deleted ? h("span", { class: "tag comment-edited" }, "edited") : null),
      body,
      h("div", { class: "comment-actions" }, votes, actions),
      slot,
      (kids.get(c.id) || []).length
        ? h("div", { class: "comment-replies" }, kids.get(c.id).map((k) => draw(k, kids, depth + 1)))
        : null);
  }

  /** Fetch the thread and draw it again when it changed. A periodic call (not `force`) waits while
   * a reply or edit is being written; a forced one (after the person's own action) closes forms. */
  async function reload(force = false) {
    if (open.size && !force) return;
    const page = await getJSON(`/api/benchmarks/entries/${encodeURIComponent(entryId)}/comments`);
    if (open.size && !force) return; // a form was opened meanwhile: it is not wiped
    const sig = JSON.stringify(page.items);
    if (sig === last && !force) return;
    last = sig;
    open.clear();
    counter.textContent = page.items.length ? `Comments (${page.items.length})` : "Comments";
    const kids = tree(page.items);
    fill(list, (kids.get("") || []).map((c) => draw(c, kids, 0)));
    if (!page.items.length) list.append(h("p", { class: "muted no-comments" }, "No comments yet."));
  }

  return { reload, busy: () => open.size > 0 };
}
