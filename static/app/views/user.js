// A person's profile: `#/users/<username>`. Their statistics (kept by the database, the marketplace's
// too), their published items, their latest public entries, who follows them and whom they follow; a
// signed-in person can follow them. A profile that is not public shows others only the name.

import { currentUser, getJSON, postJSON, sendJSON } from "../api.js";
import { fill, h, problemCard, route } from "../dom.js";
import { ago, count } from "../format.js";
import { entryPill, score } from "../benchmarks/format.js";
import { listingCard } from "../marketplace/cards.js";

function stat(label, value) {
  return h("div", { class: "stat", dataset: { stat: label } }, h("div", { class: "stat-value" }, value),
    h("div", { class: "stat-label" }, label));
}

function people(items, empty) {
  if (!items.length) return h("p", { class: "muted" }, empty);
  return h("ul", { class: "people" }, items.map((p) => h("li", { dataset: { username: p.username } },
    h("a", { href: route("users", p.username) }, p.username),
    p.full_name ? h("span", { class: "muted text" }, ` ${p.full_name}`) : null)));
}

function entryRow(e) {
  return h("li", { class: "recent profile-entry", dataset: { entryId: e.id } },
    entryPill(e.status),
    h("div", { class: "recent-main" },
      h("a", { class: "topic", href: route("entries", e.id) }, e.title),
      h("span", { class: "muted" }, h("a", { href: route("benchmarks", e.task_slug) }, e.task_name), ` · ${ago(e.created_at)}`)),
    e.scores ? h("span", { class: "num" }, score(e.scores.overall)) : null,
    e.rankings?.ranked && e.rankings.overall ? h("span", { class: "tag" }, `#${e.rankings.overall}`) : null);
}

export async function mount(root, [username]) {
  document.title = `Agent Arena · ${username}`;
  const base = `/api/users/${encodeURIComponent(username)}`;
  let profile;
  let me;
  try {
    [profile, me] = await Promise.all([getJSON(`${base}/profile`), currentUser()]);
  } catch (err) {
    problemCard(root, "This profile cannot be shown", err.code === "user.not_found" ? "There is no such user." : err.message,
      ["#/benchmarks", "Benchmarks"]);
    return null;
  }
  const statsBox = h("div", {});
  const followBox = h("div", { class: "follow-box" });
  const followers = h("div", {}, h("p", { class: "loading" }, "Loading…"));
  const following = h("div", {}, h("p", { class: "loading" }, "Loading…"));
  const u = profile.user;
  const own = Boolean(me && me.username === u.username);
  // The server shows a private profile's statistics to its owner and admins only (to others: zeros).
  const shown = profile.profile_public !== false || own || Boolean(me?.is_admin);
  const listings = h("div", {}, h("p", { class: "loading" }, "Loading…"));
  root.append(
    h("section", { class: "hero compact profile-head" },
      h("div", {}, h("h1", { class: "profile-name text" }, u.username),
        u.full_name ? h("p", { class: "lede text profile-full-name" }, u.full_name) : null,
        u.bio ? h("p", { class: "text profile-bio" }, u.bio) : null,
        profile.contact_email ? h("p", { class: "profile-contact" }, "Contact: ",
          h("a", { class: "text", href: `mailto:${profile.contact_email}` }, profile.contact_email)) : null,
        own && profile.profile_public === false ? h("p", { class: "muted profile-private-own" }, "Your profile is private: others see only your name.") : null,
        h("p", { class: "muted" }, `Joined ${ago(u.since)}`)),
      followBox),
    statsBox,
    ...(shown ? [
      h("section", { class: "section" }, h("h2", {}, "Published in the marketplace"), listings),
      h("section", { class: "section" }, h("h2", {}, "Latest public entries"),
        profile.entries.length ? h("ul", { class: "recent-list profile-entries" }, profile.entries.map(entryRow))
          : h("p", { class: "empty" }, "No public entries yet.")),
      h("div", { class: "profile-people" },
        h("section", { class: "section" }, h("h2", {}, "Followers"), followers),
        h("section", { class: "section" }, h("h2", {}, "Following"), following)),
    ] : []));

  function renderStats() {
    if (!shown) {
      fill(statsBox, h("p", { class: "empty profile-private" }, "This profile is private."));
      return;
    }
    const st = profile.stats;
    fill(statsBox, h("div", { class: "stats profile-stats" },
      stat("Entries", count(st.total_entries)),
      stat("Evaluated", count(st.evaluated_entries)),
      stat("Average score", score(st.average_score)),
      stat("Best rank", st.best_overall_ranking ? `#${st.best_overall_ranking}` : "–"),
      stat("Upvotes", count(st.total_upvotes)),
      stat("Followers", count(st.follower_count)),
      stat("Following", count(st.following_count)),
      stat("Public agents", count(st.public_agents_count)),
      stat("Public tools", count(st.public_tools_count)),
      stat("Downloads", count(st.total_downloads)),
      stat("Reputation", st.reputation_score ? `★ ${Number(st.reputation_score).toFixed(1)}` : "–")));
  }

  async function loadListings() {
    try {
      const page = await getJSON("/api/marketplace/search", { owner: u.username, limit: 24 });
      fill(listings, page.items.length
        ? h("ul", { class: "mk-grid profile-listings" }, page.items.map(listingCard))
        : h("p", { class: "empty" }, "Nothing published yet."));
    } catch (err) {
      fill(listings, h("p", { class: "muted" }, `The published items cannot be loaded: ${err.message}`));
    }
  }

  function renderFollow() {
    if (!me || me.username === u.username) {
      fill(followBox, me ? null : h("p", { class: "muted" }, "Sign in to follow."));
      return;
    }
    const on = profile.following;
    fill(followBox, h("button", { type: "button", class: ["button", on ? null : "primary", "follow-button"], "aria-pressed": String(on),
      onclick: toggle }, on ? "Following ✓" : "Follow"));
  }

  async function toggle(e) {
    e.currentTarget.disabled = true;
    let problem = null;
    try {
      const r = profile.following ? await sendJSON("DELETE", `${base}/follow`) : await postJSON(`${base}/follow`);
      profile.following = r.following;
      profile.stats.follower_count = r.follower_count;
      renderStats();
      await loadPeople();
    } catch (err) {
      problem = err.message;
    }
    renderFollow();
    if (problem) followBox.append(h("p", { class: "muted follow-problem", role: "status" }, problem));
  }

  async function loadPeople() {
    const [a, b] = await Promise.all([getJSON(`${base}/followers`, { limit: 50 }), getJSON(`${base}/following`, { limit: 50 })]);
    fill(followers, people(a.items, "Nobody follows them yet."));
    fill(following, people(b.items, "They follow nobody yet."));
  }

  renderStats();
  renderFollow();
  if (shown) {
    loadListings();
    loadPeople().catch((err) => fill(followers, h("p", { class: "muted" }, err.message)));
  }
  return null;
}
