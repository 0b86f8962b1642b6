"""The community of the benchmark arena: votes (one per user, young accounts held, audited, rate
limited), threaded comments with their votes, follows, per-user statistics kept by the database,
search, and retention."""

from __future__ import annotations

import asyncio

from server import retention
from server.app import DOMAINS
from server.db import create_pool

from .bench_support import admin, capital_task, record, settled, submit
from .support import Api, sql_rows


async def _entry(api: Api, database_url: str, owner: str = "alice") -> tuple[str, str, str]:
    _, boss = await admin(api, database_url)
    assert (await api.post("/api/benchmarks/tasks", capital_task(), token=boss)).status == 201
    _, token = await api.new_user(owner)
    entry = await settled(api, (await submit(api, "capital-cities", token, record(), title="Good run")).body["id"],
                          token)
    return entry["id"], token, boss


async def test_votes_one_per_user_held_for_young_accounts_and_audited(make_server, database_url: str) -> None:
    api = (await make_server(benchmark_vote_min_account_hours=1)).api
    entry_id, alice, _ = await _entry(api, database_url)
    voters = [await api.new_user(f"voter{i}") for i in range(3)]
    await sql_rows(database_url,
                   "UPDATE users SET created_at = now() - interval '2 hours' WHERE username LIKE 'voter%'")
    path = f"/api/benchmarks/entries/{entry_id}/vote"
    for _, token in voters[:2]:
        r = await api.post(path, {"vote": "upvote"}, token=token)
        assert r.status == 200 and r.body["held"] is False, r.body
    r = await api.post(path, {"vote": "downvote"}, token=voters[2][1])
    assert r.body == {"upvotes": 2, "downvotes": 1, "my_vote": "downvote", "held": False}
    again = await api.post(path, {"vote": "upvote"}, token=voters[2][1])  # changing one's vote, not a second one
    assert (again.body["upvotes"], again.body["downvotes"]) == (3, 0)
    concurrent = await asyncio.gather(*[api.post(path, {"vote": "upvote"}, token=voters[0][1]) for _ in range(5)])
    assert all(r.status == 200 for r in concurrent)
    assert (await api.get(f"/api/benchmarks/entries/{entry_id}")).body["upvotes"] == 3

    _, fresh = await api.new_user("newcomer")  # created just now: held back
    held = await api.post(path, {"vote": "upvote"}, token=fresh)
    assert held.body["held"] is True and held.body["upvotes"] == 3
    assert (await api.post(path, {"vote": "upvote"}, token=alice)).code == "benchmark.own_entry"
    assert (await api.post(path, {"vote": "sideways"}, token=fresh)).code == "validation.failed"
    assert (await api.post(path, {"vote": "upvote"})).code == "auth.required"
    stats = await api.get("/api/users/alice/profile")
    assert stats.body["stats"]["total_upvotes"] == 3

    await sql_rows(database_url, "UPDATE users SET created_at = now() - interval '2 hours' WHERE username = 'newcomer'")
    pool = await create_pool(database_url, 1, 2)
    try:
        settings = api_settings = None  # noqa: F841
        from server.settings import Settings

        settings = Settings(database_url=database_url, benchmark_vote_min_account_hours=1)
        done = await retention.run_round(pool, settings, [j for d in DOMAINS for j in d.retention])
    finally:
        await pool.close()
    assert done["held_votes"] == 1
    assert (await api.get(f"/api/benchmarks/entries/{entry_id}")).body["upvotes"] == 4
    assert (await api.get("/api/users/alice/profile")).body["stats"]["total_upvotes"] == 4
    removed = await api.post(path, {"vote": None}, token=voters[0][1])
    assert removed.body["upvotes"] == 3 and removed.body["my_vote"] is None
    audited = await sql_rows(database_url, "SELECT count(*) FROM audit_logs WHERE action = 'benchmark.vote'")
    assert audited[0][0] == 11  # every vote: held, changed, repeated or removed


async def test_votes_are_rate_limited_per_user(make_server, database_url: str) -> None:
    api = (await make_server(rate_benchmark_vote="3/3600", benchmark_vote_min_account_hours=0)).api
    entry_id, _, _ = await _entry(api, database_url)
    _, bob = await api.new_user("bob")
    codes = [(await api.post(f"/api/benchmarks/entries/{entry_id}/vote", {"vote": v}, token=bob)).status
             for v in ("upvote", "downvote", "upvote", "downvote")]
    assert codes == [200, 200, 200, 429]


async def test_threaded_comments_edit_soft_delete_votes_and_replies(api: Api, database_url: str, sockets,
                                                                    arena) -> None:
    entry_id, alice, boss = await _entry(api, database_url)
    _, bob = await api.new_user("bob")
    page, rec = await sockets(arena.url, "/spectate", {"token": alice})
    base = f"/api/benchmarks/entries/{entry_id}/comments"
    top = await api.post(base, {"content": "<b>How</b> did you keep it so cheap?"}, token=bob)
    assert top.status == 201 and top.body["content"] == "<b>How</b> did you keep it so cheap?"
    reply = await api.post(base, {"content": "A small model.", "parent_id": top.body["id"]}, token=alice)
    assert reply.status == 201 and reply.body["parent_id"] == top.body["id"]
    notes = await rec.wait_event("notification", timeout=5)
    assert notes[0]["notification"]["type"] == "benchmark.comment"  # bob commented on alice's entry
    for bad in ({"content": ""}, {"content": "x" * 2001}, {"content": "ok", "parent_id": "nope"}, {}):
        assert (await api.post(base, bad, token=bob)).code == "validation.failed", bad
    other, _, _ = entry_id, None, None
    missing = await api.post(base, {"content": "hi", "parent_id": "00000000-0000-0000-0000-000000000000"}, token=bob)
    assert missing.code == "benchmark.comment_not_found"
    assert other

    cid = top.body["id"]
    assert (await api.patch(f"/api/benchmarks/comments/{cid}", {"content": "edited"}, token=alice)).code == \
        "benchmark.forbidden"
    edited = await api.patch(f"/api/benchmarks/comments/{cid}", {"content": "How so cheap?"}, token=bob)
    assert edited.body["is_edited"] and edited.body["content"] == "How so cheap?"
    vote = await api.post(f"/api/benchmarks/comments/{cid}/vote", {"vote": "upvote"}, token=alice)
    assert vote.body["upvotes"] == 1
    assert (await api.post(f"/api/benchmarks/comments/{cid}/vote", {"vote": "upvote"}, token=bob)).code == \
        "benchmark.own_comment"
    assert (await api.delete(f"/api/benchmarks/comments/{cid}", token=bob)).status == 204
    thread = await api.get(base)
    assert [c["id"] for c in thread.body["items"]] == [cid, reply.body["id"]]
    gone = thread.body["items"][0]
    assert gone["is_deleted"] and gone["content"] is None and gone["upvotes"] == 1
    assert gone["my_vote"] is None  # read anonymously
    mine = (await api.get(base, token=alice)).body["items"]
    assert [c["my_vote"] for c in mine] == ["upvote", None]
    assert (await api.get(f"/api/benchmarks/entries/{entry_id}")).body["comment_count"] == 1
    assert (await api.patch(f"/api/benchmarks/comments/{cid}", {"content": "back"}, token=bob)).code == \
        "benchmark.comment_deleted"
    # the reply to bob's comment reached bob
    listed = await api.get("/api/notifications", token=bob)
    assert [n["type"] for n in listed.body["items"]] == ["benchmark.comment_reply"]


async def test_comments_on_a_private_entry_are_as_private_as_it(api: Api, database_url: str) -> None:
    _, boss = await admin(api, database_url)
    assert (await api.post("/api/benchmarks/tasks", capital_task(), token=boss)).status == 201
    _, alice = await api.new_user("alice")
    _, bob = await api.new_user("bob")
    hidden = (await submit(api, "capital-cities", alice, record(), is_public=False)).body["id"]
    assert (await api.get(f"/api/benchmarks/entries/{hidden}", token=bob)).code == "benchmark.entry_not_found"
    assert (await api.post(f"/api/benchmarks/entries/{hidden}/comments", {"content": "hi"}, token=bob)).code == \
        "benchmark.entry_not_found"
    assert (await api.get(f"/api/benchmarks/entries/{hidden}/comments")).code == "benchmark.entry_not_found"
    assert (await api.post(f"/api/benchmarks/entries/{hidden}/vote", {"vote": "upvote"}, token=bob)).code == \
        "benchmark.entry_not_found"


async def test_follows_stats_and_followers_hear_of_new_entries(api: Api, database_url: str) -> None:
    _, boss = await admin(api, database_url)
    assert (await api.post("/api/benchmarks/tasks", capital_task(), token=boss)).status == 201
    _, alice = await api.new_user("alice")
    fans = [await api.new_user(f"fan{i}") for i in range(4)]
    results = await asyncio.gather(*[api.post("/api/users/alice/follow", token=t) for _, t in fans])
    assert all(r.status == 200 for r in results)
    assert (await api.post("/api/users/alice/follow", token=fans[0][1])).body["following"] is True  # idempotent
    assert (await api.post("/api/users/alice/follow", token=alice)).code == "user.cannot_follow_self"
    assert (await api.post("/api/users/nobody-x/follow", token=alice)).code == "user.not_found"
    assert (await api.delete("/api/users/alice/follow", token=fans[3][1])).body["following"] is False
    profile = await api.get("/api/users/alice/profile", token=fans[0][1])
    assert profile.body["stats"]["follower_count"] == 3 and profile.body["following"] is True
    followers = await api.get("/api/users/alice/followers")
    assert sorted(u["username"] for u in followers.body["items"]) == ["fan0", "fan1", "fan2"]
    assert [u["username"] for u in (await api.get("/api/users/fan0/following")).body["items"]] == ["alice"]

    entry = (await submit(api, "capital-cities", alice, record())).body["id"]
    await submit(api, "capital-cities", alice, record(note="private"), is_public=False)
    notes = await api.get("/api/notifications", token=fans[1][1])
    assert [(n["type"], n["data"]["entry_id"]) for n in notes.body["items"]] == [("benchmark.followed_entry", entry)]
    assert (await api.get("/api/notifications", token=fans[3][1])).body["items"] == []
    await settled(api, entry, alice)
    stats = (await api.get("/api/users/alice/profile")).body["stats"]
    assert stats["total_entries"] == 2 and stats["public_entries"] == 1
    assert stats["best_overall_ranking"] == 1 and stats["total_tokens_used"] == 2 * 4 * 720


async def test_full_text_search_of_entries_and_tasks(api: Api, database_url: str) -> None:
    _, boss = await admin(api, database_url)
    assert (await api.post("/api/benchmarks/tasks", capital_task(), token=boss)).status == 201
    other = capital_task("sql-puzzles", name="SQL puzzles", description="Write queries that answer questions.")
    assert (await api.post("/api/benchmarks/tasks", other, token=boss)).status == 201
    _, alice = await api.new_user("alice")
    await submit(api, "capital-cities", alice, record(), title="Retrieval-augmented geography",
                 description="Searches an atlas before answering")
    await submit(api, "capital-cities", alice, record(note="2"), title="Plain prompting")
    await submit(api, "capital-cities", alice, record(note="3"), title="Secret atlas run", is_public=False)
    found = await api.get("/api/benchmarks/search", params={"q": "atlases"})
    assert [e["title"] for e in found.body["entries"]] == ["Retrieval-augmented geography"]
    mine = await api.get("/api/benchmarks/search", params={"q": "atlas"}, token=alice)
    assert sorted(e["title"] for e in mine.body["entries"]) == ["Retrieval-augmented geography", "Secret atlas run"]
    tasks = await api.get("/api/benchmarks/search", params={"q": "queries"})
    assert [t["slug"] for t in tasks.body["tasks"]] == ["sql-puzzles"] and tasks.body["entries"] == []
    assert (await api.get("/api/benchmarks/search", params={"q": ""})).code == "validation.failed"


async def test_retention_of_failed_entries_audit_logs_and_notifications(api: Api, database_url: str, settings) -> None:
    entry_id, alice, _ = await _entry(api, database_url)
    failed = (await submit(api, "capital-cities", alice, record(note="f"))).body["id"]
    await settled(api, failed, alice)
    await sql_rows(database_url,
                   "UPDATE benchmark_entries SET status = 'failed', created_at = now() - interval '31 days' "
                   "WHERE id = $1", failed)
    await sql_rows(database_url, "UPDATE audit_logs SET created_at = now() - interval '366 days' "
                   "WHERE action = 'benchmark.task_created'")
    await sql_rows(database_url, "UPDATE notifications SET read_at = now() - interval '31 days'")
    pool = await create_pool(database_url, 1, 2)
    try:
        done = await retention.run_round(pool, settings, [j for d in DOMAINS for j in d.retention])
    finally:
        await pool.close()
    assert done["failed_entries"] == 1 and done["audit_logs"] == 1 and done["notifications"] >= 2
    assert (await api.get(f"/api/benchmarks/entries/{failed}", token=alice)).code == "benchmark.entry_not_found"
    assert (await api.get(f"/api/benchmarks/entries/{entry_id}")).status == 200
    rooms = await sql_rows(database_url, "SELECT count(*) FROM rooms WHERE name = $1", f"entry:{failed}")
    assert rooms[0][0] == 0
