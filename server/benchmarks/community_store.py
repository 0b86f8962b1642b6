"""SQL of the community around entries: votes, comments and their votes, follows, profiles, search."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import asyncpg

# -- votes on entries ------------------------------------------------------------------------------

UPSERT_ENTRY_VOTE = """
INSERT INTO benchmark_entry_votes (user_id, entry_id, vote_type, held) VALUES ($1, $2, $3, $4)
ON CONFLICT (user_id, entry_id) DO UPDATE SET vote_type = EXCLUDED.vote_type
RETURNING held
"""
DELETE_ENTRY_VOTE = "DELETE FROM benchmark_entry_votes WHERE user_id = $1 AND entry_id = $2"
ENTRY_TALLY = "SELECT upvotes, downvotes FROM benchmark_entries WHERE id = $1"
ACCOUNT_AGE = "SELECT now() - created_at < make_interval(secs => $2) FROM users WHERE id = $1"


async def vote_entry(conn: asyncpg.Connection, user_id: UUID, entry_id: UUID, vote: str | None,
                     young_seconds: float) -> bool:
    """Set (or remove, with None) a user's vote; True when it is held (a young account's)."""
    if vote is None:
        await conn.execute(DELETE_ENTRY_VOTE, user_id, entry_id)
        return False
    young = bool(await conn.fetchval(ACCOUNT_AGE, user_id, young_seconds))
    return await conn.fetchval(UPSERT_ENTRY_VOTE, user_id, entry_id, vote, young)


async def entry_tally(conn: asyncpg.Connection, entry_id: UUID) -> asyncpg.Record:
    return await conn.fetchrow(ENTRY_TALLY, entry_id)


# -- comments ---------------------------------------------------------------------------------------

INSERT_COMMENT = """
WITH c AS (
    INSERT INTO benchmark_comments (entry_id, user_id, parent_id, content) VALUES ($1, $2, $3, $4)
    RETURNING id, entry_id, user_id, parent_id, content, is_edited, is_deleted, upvotes, downvotes, created_at,
              updated_at
)
SELECT c.id, c.entry_id, c.user_id, u.username, c.parent_id, c.content, c.is_edited, c.is_deleted,
       c.upvotes, c.downvotes, c.created_at, c.updated_at
FROM c JOIN users u ON u.id = c.user_id
"""
COMMENT = """
SELECT c.id, c.entry_id, c.user_id, u.username, c.parent_id, c.content, c.is_edited, c.is_deleted,
       c.upvotes, c.downvotes, c.created_at, c.updated_at
FROM benchmark_comments c JOIN users u ON u.id = c.user_id WHERE c.id = $1
"""
LOCK_COMMENT = "SELECT id, entry_id, user_id, is_deleted FROM benchmark_comments WHERE id = $1 FOR UPDATE"
EDIT_COMMENT = "UPDATE benchmark_comments SET content = $2, is_edited = true WHERE id = $1"
DELETE_COMMENT = "UPDATE benchmark_comments SET is_deleted = true WHERE id = $1"
THREAD = """
SELECT c.id, c.entry_id, c.user_id, u.username, c.parent_id, c.content, c.is_edited, c.is_deleted,
       c.upvotes, c.downvotes, c.created_at, c.updated_at, v.vote_type AS my_vote
FROM benchmark_comments c JOIN users u ON u.id = c.user_id
LEFT JOIN benchmark_comment_votes v ON v.comment_id = c.id AND v.user_id = $3
WHERE c.entry_id = $1
ORDER BY c.created_at, c.id
LIMIT $2
"""
UPSERT_COMMENT_VOTE = """
INSERT INTO benchmark_comment_votes (user_id, comment_id, vote_type) VALUES ($1, $2, $3)
ON CONFLICT (user_id, comment_id) DO UPDATE SET vote_type = EXCLUDED.vote_type
"""
DELETE_COMMENT_VOTE = "DELETE FROM benchmark_comment_votes WHERE user_id = $1 AND comment_id = $2"
COMMENT_TALLY = "SELECT upvotes, downvotes FROM benchmark_comments WHERE id = $1"


async def insert_comment(conn: asyncpg.Connection, entry_id: UUID, user_id: UUID, parent_id: UUID | None,
                         content: str) -> asyncpg.Record:
    return await conn.fetchrow(INSERT_COMMENT, entry_id, user_id, parent_id, content)


async def comment(conn: asyncpg.Connection, comment_id: UUID) -> asyncpg.Record | None:
    return await conn.fetchrow(COMMENT, comment_id)


async def lock_comment(conn: asyncpg.Connection, comment_id: UUID) -> asyncpg.Record | None:
    return await conn.fetchrow(LOCK_COMMENT, comment_id)


async def edit_comment(conn: asyncpg.Connection, comment_id: UUID, content: str) -> None:
    await conn.execute(EDIT_COMMENT, comment_id, content)


async def delete_comment(conn: asyncpg.Connection, comment_id: UUID) -> None:
    await conn.execute(DELETE_COMMENT, comment_id)


async def thread(conn: asyncpg.Connection, entry_id: UUID, limit: int, user_id: UUID | None) -> list[asyncpg.Record]:
    """The entry's comments, oldest first, each with ``my_vote``: the vote of ``user_id`` (None: no one)."""
    return await conn.fetch(THREAD, entry_id, limit, user_id)


async def vote_comment(conn: asyncpg.Connection, user_id: UUID, comment_id: UUID, vote: str | None) -> None:
    if vote is None:
        await conn.execute(DELETE_COMMENT_VOTE, user_id, comment_id)
    else:
        await conn.execute(UPSERT_COMMENT_VOTE, user_id, comment_id, vote)


async def comment_tally(conn: asyncpg.Connection, comment_id: UUID) -> asyncpg.Record:
    return await conn.fetchrow(COMMENT_TALLY, comment_id)


# -- follows and profiles ---------------------------------------------------------------------------

USER_BY_NAME = """
SELECT id, username, full_name, bio, avatar_url, created_at, profile_public, allow_contact, email FROM users
WHERE lower(username) = lower($1) AND is_active
"""
FOLLOW = "INSERT INTO user_follows (follower_id, following_id) VALUES ($1, $2) ON CONFLICT DO NOTHING"
UNFOLLOW = "DELETE FROM user_follows WHERE follower_id = $1 AND following_id = $2"
FOLLOWS = "SELECT EXISTS (SELECT 1 FROM user_follows WHERE follower_id = $1 AND following_id = $2)"
STATS = """
SELECT total_entries, public_entries, evaluated_entries, best_overall_ranking, best_efficiency_ranking,
       total_tokens_used, total_tool_calls, average_score, total_upvotes, follower_count, following_count,
       public_agents_count, public_tools_count, total_downloads, review_count, reputation_score, updated_at
FROM user_stats WHERE user_id = $1
"""
FOLLOWERS = """
SELECT u.id, u.username, u.full_name, u.avatar_url, f.created_at AS since
FROM user_follows f JOIN users u ON u.id = f.follower_id
WHERE f.following_id = $1 AND ($2::timestamptz IS NULL OR (f.created_at, u.id) < ($2, $3::uuid))
ORDER BY f.created_at DESC, u.id DESC
LIMIT $4
"""
FOLLOWING = """
SELECT u.id, u.username, u.full_name, u.avatar_url, f.created_at AS since
FROM user_follows f JOIN users u ON u.id = f.following_id
WHERE f.follower_id = $1 AND ($2::timestamptz IS NULL OR (f.created_at, u.id) < ($2, $3::uuid))
ORDER BY f.created_at DESC, u.id DESC
LIMIT $4
"""


async def user_by_name(conn: asyncpg.Connection, username: str) -> asyncpg.Record | None:
    return await conn.fetchrow(USER_BY_NAME, username)


async def follow(conn: asyncpg.Connection, follower: UUID, followed: UUID, on: bool) -> None:
    await conn.execute(FOLLOW if on else UNFOLLOW, follower, followed)


async def follows(conn: asyncpg.Connection, follower: UUID, followed: UUID) -> bool:
    return await conn.fetchval(FOLLOWS, follower, followed)


async def stats(conn: asyncpg.Connection, user_id: UUID) -> asyncpg.Record | None:
    return await conn.fetchrow(STATS, user_id)


async def people(conn: asyncpg.Connection, user_id: UUID, followers: bool, after: tuple[datetime | None, UUID | None],
                 limit: int) -> list[asyncpg.Record]:
    return await conn.fetch(FOLLOWERS if followers else FOLLOWING, user_id, after[0], after[1], limit)
