// A benchmark entry: `#/entries/<id>`. Where it is (submitted → processing → evaluated, failed or
// rejected, live through its room `entry:<id>`), what the run did (stats, steps, final output), how
// it was checked (validation findings and trust, each check), its scores and ranks, and its votes
// and comment thread. Everything the submitter and commenters wrote is shown as text.

import { currentUser, getJSON, postJSON } from "../api.js";
import { every, fill, h, problemCard, route } from "../dom.js";
import { ago, count, plural } from "../format.js";
import { commentThread } from "../benchmarks/comments.js";
import { ENTRY_STATUSES, METRICS, VALIDATION, entryPill, isEntrySettled, score, scoreBar, secondsText, submitterLink,
  usd } from "../benchmarks/format.js";
import { RoomFeed } from "../rooms.js";

const POLL_MS = 3000; // without a live connection
const COMMENTS_MS = 10000;
const STAGES = ["submitted", "processing", "settled"];

function stage(status) {
  return isEntrySettled(status) ? "settled" : status;
}

function track(entry) {
  const at = STAGES.indexOf(stage(entry.status));
  const label = { submitted: "Submitted", processing: "Processing", settled: ENTRY_STATUSES[entry.status] || "Done" };
  const waiting = entry.waiting_for ? ` (waiting for the ${entry.waiting_for})` : "";
  return h("ol", { class: "entry-track", "aria-label": "Where this entry is" },
    STAGES.map((name, i) => h("li", { class: [i < at && "done", i === at && "current", name === "settled" && `end-${entry.status}`],
      "aria-current": i === at ? "step" : null }, label[name], i === at && name === "processing" ? waiting : "")));
}

function stat(label, value, extra) {
  return h("div", { class: "stat" }, h("div", { class: "stat-value" }, value), h("div", { class: "stat-label" }, label),
    extra ? h("div", { class: "stat-extra muted" }, extra) : null);
}

function statsGrid(st) {
  if (!st) return null;
  return h("div", { class: "stats entry-stats" },
    stat("Tokens", count(st.total_tokens), `${count(st.input_tokens)} in · ${count(st.output_tokens)} out`),
    stat("Tool calls", count(st.tool_calls)),
    stat("Time", secondsText(st.execution_time), plural(st.iterations, "iteration")),
    stat("Cost", usd(st.estimated_cost), st.reported_cost !== null ? `reported ${usd(st.reported_cost)}` : "from the price table"),
    stat("Model", h("span", { class: "text model-name" }, st.model_name || "–")));
}

function scoresCard(entry) {
  const sc = entry.scores;
  if (!sc) return null;
  const rk = entry.rankings;
  const ranks = rk && rk.ranked
    ? h("ul", { class: "entry-ranks" }, Object.keys(METRICS).map((m) => rk[m] ? h("li", { dataset: { metric: m } },
      `${METRICS[m]}: #${rk[m]} of ${rk.of}`, rk.percentiles[m] !== undefined ? h("span", { class: "muted", title: "the share of ranked entries it scores above" },
        ` · percentile ${Math.round(rk.percentiles[m])}`) : null) : null))
    : h("p", { class: "muted not-ranked" }, notRankedWhy(entry));
  return h("section", { class: "card entry-scores" }, h("h2", {}, "Scores"),
    scoreBar(sc.overall, "overall"),
    sc.overall_ci ? h("p", { class: "muted entry-ci" }, `95% interval ${score(sc.overall_ci[0])}–${score(sc.overall_ci[1])}`) : null,
    ["correctness", "efficiency", "speed", "cost"].map((m) => scoreBar(sc[m], m)),
    sc.private_overall !== null && sc.private_overall !== undefined
      ? h("p", { class: "private-score" }, `Private split: overall ${score(sc.private_overall)}, correctness ${score(sc.private_correctness)}`,
        rk?.private ? `, rank #${rk.private}` : "")
      : null,
    ranks);
}

function notRankedWhy(entry) {
  if (!entry.is_public) return "Not ranked: the entry is private.";
  if (entry.validation?.status === "suspicious") return "Not ranked: validation found it suspicious (trust below 0.7).";
  if (entry.validation?.status === "invalid") return "Not ranked: the run record is invalid.";
  return "Not ranked yet.";
}

function validationCard(v) {
  if (!v) return null;
  return h("section", { class: ["card", "entry-validation", `validation-${v.status}`] },
    h("h2", {}, "Validation"),
    h("p", {}, h("span", { class: ["tag", `validation-tag-${v.status}`] }, VALIDATION[v.status] || v.status),
      h("span", { class: "trust" }, ` trust ${v.trust_score.toFixed(2)}`)),
    v.errors.length
      ? h("ul", { class: "findings" }, v.errors.map((f) => h("li", { class: ["finding", `severity-${f.severity}`], dataset: { code: f.code } },
        h("code", {}, f.code), " ", h("span", { class: "text" }, f.message),
        f.trust ? h("span", { class: "muted" }, ` (−${Number(f.trust).toFixed(2)})`) : null)))
      : h("p", { class: "muted" }, "No findings."));
}

function checksCard(checks) {
  if (!checks.length) return null;
  const mark = (p) => (p === true ? "passed" : p === false ? "failed" : "undecided");
  return h("section", { class: "card entry-checks" }, h("h2", {}, "Checks"),
    h("ul", { class: "checks" }, checks.map((c) => h("li", { class: ["check", `check-${mark(c.passed)}`], dataset: { checkId: c.id } },
      h("span", { class: "check-mark", "aria-hidden": "true" }, c.passed === true ? "✓" : c.passed === false ? "✗" : "?"),
      h("span", { class: "visually-hidden" }, mark(c.passed)),
      h("code", {}, c.id), h("span", { class: "muted" }, ` ${c.kind === "case" ? "case" : "criterion"} · ${c.check}`),
      c.private ? h("span", { class: "tag warn" }, "private") : null,
      c.detail ? h("div", { class: "check-detail muted text" }, c.detail) : null))));
}

function stepItem(st, i) {
  const tokens = (st.input_tokens || 0) + (st.output_tokens || 0);
  const facts = [st.model, `${count(tokens)} tokens`, st.duration_ms !== undefined ? secondsText(st.duration_ms / 1000) : null,
    st.cost !== undefined ? usd(st.cost) : null].filter(Boolean).join(" · ");
  return h("li", { class: "entry-step" },
    h("div", { class: "step-head" }, h("span", { class: "entry-step-n muted" }, `${i + 1}.`),
      h("span", { class: "step-name text" }, st.name || `Step ${i + 1}`), h("span", { class: "muted step-facts" }, facts)),
    (st.tool_calls || []).length ? h("ul", { class: "tool-calls" }, st.tool_calls.map((t) => h("li", {},
      h("code", { class: "text" }, t.name), t.duration_ms !== undefined ? h("span", { class: "muted" }, ` ${secondsText(t.duration_ms / 1000)}`) : null)))
      : null,
    st.output !== undefined && st.output !== null
      ? h("pre", { class: "step-output text" }, typeof st.output === "string" ? st.output : JSON.stringify(st.output, null, 2))
      : null);
}

function runCard(entry) {
  if (!entry.steps.length && entry.final_output === null) return null;
  const out = entry.final_output;
  return h("section", { class: "card entry-run" }, h("h2", {}, `The run (${plural(entry.steps.length, "step")})`),
    h("ol", { class: "entry-steps" }, entry.steps.map(stepItem)),
    h("h3", {}, "Final output"),
    h("pre", { class: "final-output text" }, out === null || out === undefined ? "–" : typeof out === "string" ? out : JSON.stringify(out, null, 2)));
}

export async function mount(root, [entryId], ctx) {
  document.title = "Agent Arena · Entry";
  const me = await currentUser();
  const head = h("div", { class: "entry-head-box" });
  const body = h("div", { class: "entry-body" });
  const votes = h("div", { class: "entry-votes" });
  const comments = h("section", { class: "card entry-comments" });
  root.append(head, h("div", { class: "entry-grid" }, body, h("aside", { class: "entry-side" }, votes, comments)));

  let entry = null;
  let gone = false;
  let sig = "";

  function render() {
    document.title = `Agent Arena · ${entry.title}`;
    fill(head,
      h("div", { class: "toolbar" }, h("a", { class: "back", href: route("benchmarks", entry.task_slug) }, `← ${entry.task_name}`)),
      h("section", { class: "entry-head", dataset: { status: entry.status } },
        h("div", { class: "card-top" }, entryPill(entry.status),
          entry.is_public ? null : h("span", { class: "tag warn" }, "private"),
          h("span", { class: "tag" }, entry.tool_type + (entry.tool_version ? ` ${entry.tool_version}` : "")),
          h("span", { class: "tag" }, entry.source === "execution" ? "live execution" : `file (${entry.format || "run record"})`)),
        h("h1", { class: "entry-title text" }, entry.title),
        h("p", { class: "muted" }, submitterLink(entry.submitter), ` · submitted ${ago(entry.created_at)}`,
          entry.execution_id ? [" · ", h("a", { href: route("executions", entry.execution_id) }, "the execution")] : null,
          entry.attempts > 1 ? ` · attempt ${entry.attempts}` : ""),
        entry.description ? h("p", { class: "entry-description text" }, entry.description) : null,
        track(entry),
        entry.failure_reason ? h("p", { class: "entry-failure text" }, entry.failure_reason) : null));
    fill(body, statsGrid(entry.stats), scoresCard(entry), validationCard(entry.validation), checksCard(entry.checks), runCard(entry));
    renderVotes();
  }

  function renderVotes(held = false) {
    const own = me && entry.submitter.user_id === me.id;
    const can = me && !own;
    const btn = (which, glyph, n) => h("button", { type: "button", class: ["button", "small", `entry-${which}`, entry.my_vote === which && "on"],
      disabled: !can, "aria-pressed": String(entry.my_vote === which), onclick: () => vote(which) }, `${glyph} ${n}`);
    fill(votes, h("section", { class: "card" }, h("h2", {}, "Votes"),
      h("div", { class: "vote-row" }, btn("upvote", "▲", entry.upvotes), btn("downvote", "▼", entry.downvotes)),
      h("p", { class: "muted vote-note", role: "status" },
        held ? "Your vote is kept but counted only once your account is a day old."
          : !me ? "Sign in to vote." : own ? "This is your entry." : "Votes never move a rank: boards rank on scores.")));
  }

  async function vote(which) {
    try {
      const tally = await postJSON(`/api/benchmarks/entries/${encodeURIComponent(entryId)}/vote`,
        { vote: entry.my_vote === which ? null : which });
      Object.assign(entry, { upvotes: tally.upvotes, downvotes: tally.downvotes, my_vote: tally.my_vote });
      renderVotes(tally.held);
    } catch (err) {
      votes.querySelector(".vote-note").textContent = err.message;
    }
  }

  function show(detail) {
    const next = JSON.stringify(detail);
    if (next === sig) return;
    sig = next;
    entry = detail;
    render();
  }

  let asked = 0; // fetches started: an answer to an older one (overtaken on the way) is dropped
  async function fetchEntry() {
    const mine = ++asked;
    try {
      const detail = await getJSON(`/api/benchmarks/entries/${encodeURIComponent(entryId)}`);
      if (mine === asked && !gone) show(detail);
    } catch (err) {
      if (!entry && mine === asked) failed(err);
    }
  }

  function failed(err) {
    gone = true;
    const missing = err?.code === "benchmark.entry_not_found";
    problemCard(root, "This entry cannot be shown", missing ? "There is no such entry, or it is private." : err.message || String(err),
      ["#/benchmarks", "All benchmarks"]);
  }

  const thread = commentThread(comments, entryId, me);
  const stops = [every(COMMENTS_MS, () => !document.hidden && !gone && thread.reload().catch(() => {}))];
  thread.reload().catch(() => {});

  const conn = ctx.conn;
  if (conn) {
    const feed = new RoomFeed(conn, {
      room: `entry:${entryId}`,
      onSnapshot: (snapshot) => show(snapshot),
      onEvent: (ev) => {
        if (ev.type !== "benchmark:entry_status" || !entry) return;
        entry.status = ev.data.status;
        entry.waiting_for = ev.data.waiting_for || null;
        sig = "";
        render();
        fetchEntry(); // the scores, ranks and findings that came with the change
      },
      onError: (err) => {
        feed.stop();
        failed(err);
      },
    }).start();
    stops.push(() => feed.stop());
  } else {
    await fetchEntry();
    stops.push(every(POLL_MS, () => !gone && entry && !isEntrySettled(entry.status) && fetchEntry()));
  }
  return () => {
    gone = true;
    for (const stop of stops) stop();
  };
}
