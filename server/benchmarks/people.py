"""People in the benchmark arena: following a user, and a user's profile with the statistics the
database keeps for them (user_stats) and their public entries."""

from __future__ import annotations

from typing import Any

from .. import audit
from ..auth.actor import Actor
from ..core import Core
from ..errors import AppError
from ..pagination import CursorPage, cut_page
from ..realtime.outbox import Outbox, transaction
from . import community_store as cs
from . import store, views
from .models import Following, PersonPage, PersonView, Profile, UserStats


async def _user(conn, username: str) -> Any:
    row = await cs.user_by_name(conn, username)
    if row is None:
        raise AppError("user.not_found", "no such user", 404)
    return row


async def set_follow(core: Core, actor: Actor, username: str, on: bool) -> Following:
    out = Outbox()
    async with transaction(core, out) as conn:
        user = await _user(conn, username)
        if user["id"] == actor.id:
            raise AppError("user.cannot_follow_self", "you cannot follow yourself", 409)
        await cs.follow(conn, actor.id, user["id"], on)  # type: ignore[arg-type]
        await audit.record(conn, actor, "user.followed" if on else "user.unfollowed", resource_type="user",
                           resource_id=user["id"])
        stats = await cs.stats(conn, user["id"])
    return Following(username=user["username"], following=on, follower_count=stats["follower_count"] if stats else 0)


async def profile(core: Core, actor: Actor, username: str) -> Profile:
    """A user's profile. One that is not public shows others only the name (and a contact, if allowed)."""
    async with core.db.acquire() as conn:
        user = await _user(conn, username)
        shown = _shown(actor, user)
        stats = await cs.stats(conn, user["id"]) if shown else None
        following = bool(actor.is_user and await cs.follows(conn, actor.id, user["id"]))  # type: ignore[arg-type]
        rows = [] if not shown else await store.list_entries(
            conn, admin=False, viewer_user=None, viewer_agent=None, mine=False, task=None, status=None,
            user=user["username"], q=None, after=(None, None), limit=20)
    person = PersonView(id=user["id"], username=user["username"], full_name=user["full_name"] if shown else None,
                        avatar_url=user["avatar_url"] if shown else None, bio=user["bio"] if shown else None,
                        since=user["created_at"])
    return Profile(user=person, profile_public=user["profile_public"], allow_contact=user["allow_contact"],
                   contact_email=user["email"] if user["allow_contact"] and actor.is_user else None,
                   stats=UserStats.model_validate(dict(stats)) if stats else UserStats(),
                   following=following, entries=[views.entry_view(r) for r in rows])


def _shown(actor: Actor, user: Any) -> bool:
    """Whether ``actor`` sees the details of ``user``'s profile (public, their own, or an admin)."""
    return bool(user["profile_public"]) or actor.is_admin or (actor.is_user and actor.id == user["id"])


async def people(core: Core, actor: Actor, username: str, followers: bool, q: CursorPage) -> PersonPage:
    """Followers or followed of a user: an empty page for a profile that is not public."""
    async with core.db.acquire() as conn:
        user = await _user(conn, username)
        if not _shown(actor, user):
            return PersonPage(items=[], next_cursor=None)
        rows = await cs.people(conn, user["id"], followers, q.after, q.limit + 1)
    page, cursor = cut_page(rows, q.limit, at="since")
    return PersonPage(items=[PersonView(id=r["id"], username=r["username"], full_name=r["full_name"],
                                        avatar_url=r["avatar_url"], since=r["since"]) for r in page],
                      next_cursor=cursor)
