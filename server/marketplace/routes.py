"""REST of the marketplace. Publishing, versions, remixes, lineage, evidence and listings exist for
each kind (agents, tools, tasks, scenarios) at the same paths under its own segment; reviews for
agents and tools; then discovery, collections and templates."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from ..catalog.models import ProfileView
from ..catalog.service import VIEWS
from ..rest import Call, RouteTable
from . import collections, discover, evidence, publishing, reviews, templates
from .items import AGENT, KINDS, TOOL, Kind
from .models import (
    CollectionAdd,
    CollectionCreate,
    CollectionFollowing,
    CollectionOrder,
    CollectionPage,
    CollectionPatch,
    CollectionQuery,
    CollectionView,
    Evidence,
    Lineage,
    Listing,
    ListingPage,
    PublishBody,
    RemixBody,
    RemixedAgent,
    ReviewBody,
    ReviewPage,
    ReviewPatch,
    ReviewQuery,
    ReviewView,
    SearchQuery,
    TemplateCreate,
    TemplatePage,
    TemplatePatch,
    TemplateQuery,
    TemplateView,
    UseAgentTemplate,
    UseTaskTemplate,
    VersionList,
    VersionView,
)

routes = RouteTable("marketplace")
WRITE = "rate_rest_write"
VERSION_ERRORS = ["marketplace.version_exists", "marketplace.version_not_newer", "marketplace.version_required"]


def _named(fn: Callable[..., Awaitable[Any]], name: str, doc: str) -> Callable[..., Awaitable[Any]]:
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = doc
    return fn


def _kind_routes(kind: Kind) -> None:
    base = f"/api/{kind.plural}/{{{kind.name}_id}}"
    key = f"{kind.name}_id"
    missing = f"{kind.name}.not_found"
    view = ProfileView if kind is AGENT else VIEWS[kind.name]

    async def publish(call: Call, body: PublishBody) -> VersionView:
        return await publishing.publish(call.core, call.actor, kind, call.uuid(key), body)

    routes.post(f"{base}/publish", body=PublishBody, response=VersionView, status=201, auth="required", rate=WRITE,
                errors=[missing, "catalog.forbidden", "agent.inactive", *VERSION_ERRORS])(_named(
        publish, f"publish_{kind.name}",
        f"Publish a version of the {kind.name} (its owner): public by default, or a private draft."))

    async def unpublish(call: Call) -> Listing:
        return await publishing.unpublish(call.core, call.actor, kind, call.uuid(key))

    routes.post(f"{base}/unpublish", response=Listing, auth="required", rate=WRITE,
                errors=[missing, "catalog.forbidden", "agent.inactive"])(_named(
        unpublish, f"unpublish_{kind.name}",
        f"Take the {kind.name} out of the marketplace (its versions stay, seen by its owner only)."))

    async def list_versions(call: Call) -> VersionList:
        return await publishing.versions(call.core, call.actor, kind, call.uuid(key))

    routes.get(f"{base}/versions", response=VersionList, auth="optional", errors=[missing])(_named(
        list_versions, f"list_{kind.name}_versions",
        f"The published versions of the {kind.name}, newest first (private drafts to its owner only)."))

    async def get_version(call: Call) -> VersionView:
        return await publishing.get_version(call.core, call.actor, kind, call.uuid(key), call.path["version"])

    routes.get(f"{base}/versions/{{version}}", response=VersionView, auth="optional",
               errors=[missing, "marketplace.version_not_found"])(_named(
        get_version, f"get_{kind.name}_version", f"One version of the {kind.name}, as it was published."))

    async def remix(call: Call, body: RemixBody) -> Any:
        return await publishing.remix(call.core, call.actor, kind, call.uuid(key), body)

    routes.post(f"{base}/remix", body=RemixBody, response=RemixedAgent if kind is AGENT else view, status=201,
                auth="required", rate=WRITE,
                errors=[missing, "marketplace.remix_not_allowed", "marketplace.version_not_found",
                        "marketplace.users_only", *(["agent.name_taken"] if kind is AGENT else [])])(_named(
        remix, f"remix_{kind.name}",
        f"Remix (clone) a version of the {kind.name}: a new {kind.name} of yours with remixed_from"
        + (", a new agent identity with its own key" if kind is AGENT else "") + "."))

    async def lineage(call: Call) -> Lineage:
        return await publishing.lineage(call.core, call.actor, kind, call.uuid(key))

    routes.get(f"{base}/lineage", response=Lineage, auth="optional", errors=[missing])(_named(
        lineage, f"{kind.name}_lineage", f"What the {kind.name} was remixed from, and its remixes as a tree."))

    async def evidence_of(call: Call) -> Evidence:
        return await evidence.evidence(call.core, call.actor, kind, call.uuid(key))

    routes.get(f"{base}/evidence", response=Evidence, auth="optional", errors=[missing])(_named(
        evidence_of, f"{kind.name}_evidence", f"What the {kind.name} earned in the arena (public records only)."))

    async def listing(call: Call) -> Listing:
        return await discover.listing(call.core, call.actor, kind, call.uuid(key))

    routes.get(f"{base}/listing", response=Listing, auth="optional", errors=[missing])(_named(
        listing, f"{kind.name}_listing", f"The {kind.name}'s marketplace listing: counts, rating, trend, owner."))


def _review_routes(kind: Kind) -> None:
    base = f"/api/{kind.plural}/{{{kind.name}_id}}/reviews"
    key = f"{kind.name}_id"
    missing = f"{kind.name}.not_found"

    async def create(call: Call, body: ReviewBody) -> ReviewView:
        return await reviews.create(call.core, call.actor, kind, call.uuid(key), body)

    routes.post(base, body=ReviewBody, response=ReviewView, status=201, auth="user", rate=WRITE,
                errors=[missing, "marketplace.not_public", "marketplace.own_item", "marketplace.review_exists"])(
        _named(create, f"review_{kind.name}", f"Review a published {kind.name}: 1-5 and a comment, once."))

    async def page(call: Call) -> ReviewPage:
        return await reviews.page(call.core, call.actor, kind, call.uuid(key), call.query)  # type: ignore[arg-type]

    routes.get(base, query=ReviewQuery, response=ReviewPage, auth="optional", errors=[missing])(_named(
        page, f"list_{kind.name}_reviews",
        f"Reviews of the {kind.name}, newest first, with its rating and your own review."))

    async def update(call: Call, body: ReviewPatch) -> ReviewView:
        return await reviews.update(call.core, call.actor, kind, call.uuid(key), body)

    routes.patch(f"{base}/mine", body=ReviewPatch, response=ReviewView, auth="user", rate=WRITE,
                 errors=[missing, "marketplace.review_not_found"])(_named(
        update, f"update_{kind.name}_review", f"Change your review of the {kind.name}."))

    async def delete(call: Call) -> None:
        await reviews.delete(call.core, call.actor, kind, call.uuid(key))

    routes.delete(f"{base}/mine", status=204, auth="user", rate=WRITE,
                  errors=[missing, "marketplace.review_not_found"])(_named(
        delete, f"delete_{kind.name}_review", f"Withdraw your review of the {kind.name}."))


for _kind in KINDS:
    _kind_routes(_kind)
for _kind in (AGENT, TOOL):
    _review_routes(_kind)


# -- discovery ----------------------------------------------------------------------------------------


@routes.get("/api/marketplace/search", query=SearchQuery, response=ListingPage, auth="optional")
async def marketplace_search(call: Call) -> ListingPage:
    """Browse public items (filters, five orders) or search their names and descriptions (typos welcome)."""
    return await discover.search(call.core, call.query)  # type: ignore[arg-type]


# -- collections --------------------------------------------------------------------------------------


@routes.post("/api/collections", body=CollectionCreate, response=CollectionView, status=201, auth="user", rate=WRITE)
async def create_collection(call: Call, body: CollectionCreate) -> CollectionView:
    """Make a collection of agents and tools (private unless is_public)."""
    return await collections.create(call.core, call.actor, body)


@routes.get("/api/collections", query=CollectionQuery, response=CollectionPage, auth="optional")
async def list_collections(call: Call) -> CollectionPage:
    """Public collections (and your own), newest first; by owner, only yours, or the ones you follow."""
    return await collections.page(call.core, call.actor, call.query)  # type: ignore[arg-type]


@routes.get("/api/collections/{collection_id}", response=CollectionView, auth="optional",
            errors=["collection.not_found"])
async def get_collection(call: Call) -> CollectionView:
    """A collection with its items in order (those you may see)."""
    return await collections.get(call.core, call.actor, call.uuid("collection_id"))


@routes.patch("/api/collections/{collection_id}", body=CollectionPatch, response=CollectionView, auth="user",
              rate=WRITE, errors=["collection.not_found", "collection.forbidden"])
async def update_collection(call: Call, body: CollectionPatch) -> CollectionView:
    """Rename, describe, publish or hide a collection (its owner)."""
    return await collections.update(call.core, call.actor, call.uuid("collection_id"), body)


@routes.delete("/api/collections/{collection_id}", status=204, auth="user", rate=WRITE,
               errors=["collection.not_found", "collection.forbidden"])
async def delete_collection(call: Call) -> None:
    """Delete a collection (its owner); the items stay."""
    await collections.delete(call.core, call.actor, call.uuid("collection_id"))


@routes.post("/api/collections/{collection_id}/items", body=CollectionAdd, response=CollectionView, auth="user",
             rate=WRITE, errors=["collection.not_found", "collection.forbidden", "collection.item_exists",
                                 "agent.not_found", "tool.not_found"])
async def add_to_collection(call: Call, body: CollectionAdd) -> CollectionView:
    """Add an agent or tool at a position (default: the end)."""
    return await collections.add(call.core, call.actor, call.uuid("collection_id"), body)


@routes.delete("/api/collections/{collection_id}/items/{kind}/{item_id}", response=CollectionView, auth="user",
               rate=WRITE, errors=["collection.not_found", "collection.forbidden", "collection.item_not_found"])
async def remove_from_collection(call: Call) -> CollectionView:
    """Take an item out of a collection (kind: agent or tool)."""
    return await collections.remove(call.core, call.actor, call.uuid("collection_id"), call.path["kind"],
                                    call.uuid("item_id"))


@routes.put("/api/collections/{collection_id}/order", body=CollectionOrder, response=CollectionView, auth="user",
            rate=WRITE, errors=["collection.not_found", "collection.forbidden", "collection.bad_order"])
async def reorder_collection(call: Call, body: CollectionOrder) -> CollectionView:
    """Put a collection's items in a new order: name every item once."""
    return await collections.reorder(call.core, call.actor, call.uuid("collection_id"), body)


@routes.post("/api/collections/{collection_id}/follow", response=CollectionFollowing, auth="user", rate=WRITE,
             errors=["collection.not_found", "collection.own"])
async def follow_collection(call: Call) -> CollectionFollowing:
    """Follow a public collection."""
    return await collections.follow(call.core, call.actor, call.uuid("collection_id"), True)


@routes.delete("/api/collections/{collection_id}/follow", response=CollectionFollowing, auth="user", rate=WRITE,
               errors=["collection.not_found", "collection.own"])
async def unfollow_collection(call: Call) -> CollectionFollowing:
    """Stop following a collection."""
    return await collections.follow(call.core, call.actor, call.uuid("collection_id"), False)


# -- templates ----------------------------------------------------------------------------------------


def _template_routes(kind: str) -> None:
    base = f"/api/{kind}-templates"

    async def create(call: Call, body: TemplateCreate) -> TemplateView:
        return await templates.create(call.core, call.actor, kind, body)

    routes.post(base, body=TemplateCreate, response=TemplateView, status=201, auth="user", rate=WRITE)(_named(
        create, f"create_{kind}_template", f"Make a {kind} template (template_data is checked)."))

    async def page(call: Call) -> TemplatePage:
        return await templates.page(call.core, call.actor, kind, call.query)  # type: ignore[arg-type]

    routes.get(base, query=TemplateQuery, response=TemplatePage, auth="optional")(_named(
        page, f"list_{kind}_templates", f"Public {kind} templates and your own, newest first."))

    async def get(call: Call) -> TemplateView:
        return await templates.get(call.core, call.actor, kind, call.uuid("template_id"))

    routes.get(f"{base}/{{template_id}}", response=TemplateView, auth="optional", errors=["template.not_found"])(
        _named(get, f"get_{kind}_template", f"One {kind} template."))

    async def update(call: Call, body: TemplatePatch) -> TemplateView:
        return await templates.update(call.core, call.actor, kind, call.uuid("template_id"), body)

    routes.patch(f"{base}/{{template_id}}", body=TemplatePatch, response=TemplateView, auth="user", rate=WRITE,
                 errors=["template.not_found", "template.forbidden"])(_named(
        update, f"update_{kind}_template", f"Change a {kind} template (its owner)."))

    async def delete(call: Call) -> None:
        await templates.delete(call.core, call.actor, kind, call.uuid("template_id"))

    routes.delete(f"{base}/{{template_id}}", status=204, auth="user", rate=WRITE,
                  errors=["template.not_found", "template.forbidden"])(_named(
        delete, f"delete_{kind}_template", f"Delete a {kind} template (its owner)."))


_template_routes("agent")
_template_routes("task")


@routes.post("/api/agent-templates/{template_id}/use", body=UseAgentTemplate, response=RemixedAgent, status=201,
             auth="user", rate=WRITE, errors=["template.not_found", "agent.name_taken", "tool.not_found"])
async def use_agent_template(call: Call, body: UseAgentTemplate) -> Any:
    """Make an agent from the template in one call: a new identity with its own key (shown once)."""
    return await templates.use_agent(call.core, call.actor, call.uuid("template_id"), body)


@routes.post("/api/task-templates/{template_id}/use", body=UseTaskTemplate, response=VIEWS["task"], status=201,
             auth="required", rate=WRITE, errors=["template.not_found", "agent.not_found"])
async def use_task_template(call: Call, body: UseTaskTemplate) -> Any:
    """Make a task from the template in one call (your overrides win)."""
    return await templates.use_task(call.core, call.actor, call.uuid("template_id"), body)
