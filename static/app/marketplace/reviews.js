// The reviews of an agent or a tool: its average and count, the reviews newest first, and for a
// signed-in person who does not own it a form to write theirs (or change it, through .../reviews/mine,
// or withdraw it). Reviewers' comments are shown as text.

import { getJSON, postJSON, sendJSON } from "../api.js";
import { fill, h, route } from "../dom.js";
import { ago, plural } from "../format.js";
import { attempt, itemApi, problemLine, stars } from "./cards.js";

function reviewItem(r) {
  return h("li", { class: "mk-review", dataset: { reviewer: r.reviewer, id: r.id } },
    h("div", { class: "mk-review-head" },
      h("a", { class: "mk-reviewer", href: route("users", r.reviewer) }, r.reviewer),
      stars(r.rating),
      h("span", { class: "mk-review-value" }, `${r.rating}/5`),
      r.is_public ? null : h("span", { class: "tag warn" }, "private"),
      h("span", { class: "muted mk-review-when" }, ago(r.updated_at || r.created_at))),
    r.comment ? h("p", { class: "mk-review-text text" }, r.comment) : null);
}

/**
 * Draw the reviews of item (kind, id) in `root`. `who`: {me, isOwner, isPublic}; `onChange` runs after
 * the person's own review was written, changed or withdrawn (the item's average moved).
 */
export function reviewsSection(root, kind, id, who, onChange) {
  const base = itemApi(kind, id, "/reviews");
  const summary = h("p", { class: "mk-rating-summary" });
  const list = h("ul", { class: "mk-review-list" });
  const more = h("button", { type: "button", class: "button small mk-reviews-more", hidden: true }, "More reviews");
  const formBox = h("div", { class: "mk-review-box" });
  let cursor = null;

  fill(root, h("h2", {}, "Reviews"), summary, formBox, list, more);

  function drawSummary(page) {
    summary.textContent = page.rating_count
      ? `★ ${Number(page.average_rating).toFixed(1)} average of ${plural(page.rating_count, "rating")}`
      : "No ratings yet.";
    summary.dataset.average = String(page.average_rating);
    summary.dataset.count = String(page.rating_count);
  }

  function drawForm(mine) {
    if (!who.me) {
      fill(formBox, h("p", { class: "muted" }, "Sign in to review it."));
      return;
    }
    if (who.isOwner) {
      fill(formBox, h("p", { class: "muted mk-review-own" }, "This is yours: reviews are for others to write."));
      return;
    }
    if (!who.isPublic) {
      fill(formBox, h("p", { class: "muted" }, "Reviews open once it is published."));
      return;
    }
    const rating = h("select", { class: "mk-review-rating", name: "rating", "aria-label": "Rating" },
      [5, 4, 3, 2, 1].map((n) => h("option", { value: String(n) }, `${"★".repeat(n)} ${n}`)));
    rating.value = String(mine ? mine.rating : 5);
    const comment = h("textarea", { class: "mk-review-comment", name: "comment", rows: 3, maxlength: 5000,
      "aria-label": "Your review", placeholder: "What worked, what did not" });
    comment.value = mine?.comment || "";
    const isPublic = h("input", { type: "checkbox", class: "mk-review-public", name: "is_public" });
    isPublic.checked = mine ? mine.is_public : true;
    const submit = h("button", { type: "submit", class: "button primary mk-review-submit" }, mine ? "Update your review" : "Post review");
    const problem = problemLine("mk-review-problem");
    const withdraw = mine
      ? h("button", { type: "button", class: "button small danger mk-review-withdraw" }, "Withdraw")
      : null;
    const form = h("form", { class: "mk-form mk-review-form", dataset: { mode: mine ? "edit" : "new" } },
      h("h3", {}, mine ? "Your review" : "Write a review"),
      h("label", { class: "mk-field" }, h("span", {}, "Rating"), rating),
      h("label", { class: "mk-field" }, h("span", {}, "Comment"), comment),
      h("label", { class: "mk-check" }, isPublic, " Public (a private review is read by you and the owner; its rating counts)"),
      h("div", { class: "mk-form-buttons" }, submit, withdraw),
      problem);
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      const body = { rating: Number(rating.value), comment: comment.value.trim() || null, is_public: isPublic.checked };
      const ok = await attempt(problem, submit, () => (mine ? sendJSON("PATCH", `${base}/mine`, body) : postJSON(base, body)));
      if (ok) {
        await reload();
        onChange?.();
      }
    });
    withdraw?.addEventListener("click", async () => {
      if (!window.confirm("Withdraw your review?")) return;
      const ok = await attempt(problem, withdraw, () => sendJSON("DELETE", `${base}/mine`));
      if (ok) {
        await reload();
        onChange?.();
      }
    });
    fill(formBox, form);
  }

  async function reload() {
    try {
      const page = await getJSON(base, { limit: 20 });
      drawSummary(page);
      drawForm(page.mine);
      fill(list, page.items.map(reviewItem));
      if (!page.items.length) list.append(h("li", { class: "muted mk-no-reviews" }, "No reviews yet."));
      cursor = page.next_cursor;
      more.hidden = !cursor;
    } catch (err) {
      fill(list, h("li", { class: "muted" }, `The reviews cannot be loaded: ${err.message}`));
    }
  }

  more.addEventListener("click", async () => {
    if (!cursor) return;
    more.disabled = true;
    try {
      const page = await getJSON(base, { limit: 20, cursor });
      list.querySelector(".mk-no-reviews")?.remove();
      list.append(...page.items.map(reviewItem));
      cursor = page.next_cursor;
      more.hidden = !cursor;
    } catch (err) {
      more.after(h("p", { class: "muted" }, err.message));
    } finally {
      more.disabled = false;
    }
  });

  return { reload };
}
