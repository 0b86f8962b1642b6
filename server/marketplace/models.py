"""What crosses the wire in the marketplace: publishing and versions, remixes and lineage, reviews,
collections, templates, discovery, evidence and profiles."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import Field, StringConstraints, model_validator

from ..auth.models import AgentName, Username
from ..catalog.models import Category, ProfileView, ToolRef, Version
from ..inputs import JsonObject, Tags, Text
from ..operations.models import AgentType
from ..pagination import CursorPage, decode_keys
from ..wire import Inbound, Outbound

KindName = Literal["agent", "tool", "task", "scenario"]
Relation = Literal["fork", "adapt", "compose"]
Sort = Literal["newest", "most_used", "most_cloned", "best_rated", "trending"]

# The types of each sort's cursor keys (the last key is always the item's id).
SORT_KEYS: dict[str, tuple[type, ...]] = {
    "newest": (datetime, UUID),
    "most_used": (int, UUID),
    "most_cloned": (int, UUID),
    "best_rated": (float, int, UUID),
    "trending": (int, UUID),
    "relevance": (float, UUID),
}


# -- publishing, versions, remixes ------------------------------------------------------------------


class PublishBody(Inbound):
    """``POST /api/{kind}/{id}/publish``: record a version and (by default) show the item to everyone."""

    version: Version | None = Field(None, description="default: the current version if it was never published, "
                                                      "else the next patch version (1.2.3 -> 1.2.4)")
    version_notes: Text(5000) | None = None
    is_public: bool = Field(True, description="false: record a private version (a draft only you see); the item's "
                                              "visibility and public version stay as they are")
    is_template: bool | None = None
    allow_remixes: bool | None = None


class RemixBody(Inbound):
    """``POST /api/{kind}/{id}/remix``: a new item of yours, copied from a version of this one."""

    relation: Relation = Field("fork", description="fork: a copy; adapt: changed for another use; compose: "
                                                   "built from it with other parts")
    version: Version | None = Field(None, description="the version to copy (default: the latest you may see)")
    name: AgentName | None = Field(None, description="agents: the new agent's unique name (default: derived)")
    display_name: Text(100, 1) | None = Field(None, description="agents: default the source's")


class VersionView(Outbound):
    kind: KindName
    item_id: UUID
    version: str
    version_notes: str | None
    is_public: bool
    published_at: datetime
    snapshot: dict[str, Any]


class VersionSummary(Outbound):
    version: str
    version_notes: str | None
    is_public: bool
    published_at: datetime


class VersionList(Outbound):
    kind: KindName
    item_id: UUID
    current: str = Field(description="the item's current public version")
    items: list[VersionSummary] = Field(description="newest first")


class RemixedAgent(ProfileView):
    """A remixed agent: a new identity with its own key (shown once)."""

    api_key: str


class LineageNode(Outbound):
    kind: KindName
    id: UUID
    name: str
    version: str
    owner: str | None = Field(description="the owner's username")
    is_public: bool
    remixed_from_version: str | None
    relation: Relation | None
    clone_count: int
    created_at: datetime
    children: list[LineageNode] = Field(default_factory=list)


class Lineage(Outbound):
    item: LineageNode = Field(description="the item, with its remixes as a tree below it")
    ancestors: list[LineageNode] = Field(description="what it was remixed from, nearest first")
    ancestors_hidden: bool = Field(description="the chain goes on through an item you may not see")
    truncated: bool = Field(description="the tree below had more nodes than are shown")


# -- discovery --------------------------------------------------------------------------------------


class SearchQuery(Inbound):
    """``GET /api/marketplace/search``: browse (no q) or search public items."""

    q: Text(100, 1) | None = Field(None, description="names and descriptions, typo-tolerant (trigram similarity)")
    kind: KindName | None = None
    category: Category | None = None
    industry: Text(100, 1) | None = None
    tool_type: Text(50, 1) | None = None
    tags: Annotated[str, StringConstraints(max_length=1100)] | None = Field(
        None, description="comma-separated: items carrying every one of them")
    min_rating: float | None = Field(None, ge=0, le=5, description="average rating at least this (rated items)")
    template: bool | None = Field(None, description="only templates (true) or only non-templates (false)")
    owner: Username | None = Field(
        None, description="a username: only their items")
    sort: Sort = Field("newest", description="ignored with q: results come by relevance")
    limit: int = Field(24, ge=1, le=100)
    cursor: str | None = Field(None, max_length=400, description="next_cursor of the previous page")

    @model_validator(mode="after")
    def _cursor(self) -> SearchQuery:
        if self.cursor is not None:
            try:
                decode_keys(self.cursor, SORT_KEYS[self.order])
            except ValueError:
                raise ValueError("cursor is not one this server made for this sort") from None
        return self

    @property
    def order(self) -> str:
        return "relevance" if self.q else self.sort

    @property
    def after(self) -> tuple | None:
        return decode_keys(self.cursor, SORT_KEYS[self.order]) if self.cursor else None

    @property
    def tag_list(self) -> list[str]:
        return [t.strip() for t in (self.tags or "").split(",") if t.strip()]


class Listing(Outbound):
    kind: KindName
    id: UUID
    name: str
    description: str
    category: str | None
    industry: str | None
    tool_type: str | None
    tags: list[str]
    owner: str | None = Field(description="the owner's username")
    is_public: bool
    is_template: bool
    allow_remixes: bool
    version: str
    usage_count: int
    clone_count: int
    average_rating: float
    rating_count: int
    trend_score: int = Field(description="uses and clones over the last 7 days")
    remixed_from: UUID | None
    created_at: datetime
    updated_at: datetime


class ListingPage(Outbound):
    items: list[Listing]
    next_cursor: str | None


# -- evidence ---------------------------------------------------------------------------------------


class BattleRecord(Outbound):
    rating: float
    battles: int
    wins: int
    losses: int
    draws: int


class BattleSeen(Outbound):
    id: UUID
    topic: str
    result: Literal["win", "loss", "draw"]
    completed_at: datetime | None


class EntrySeen(Outbound):
    id: UUID
    task_slug: str
    task_title: str
    overall_score: float | None
    overall_ranking: int | None
    ranked: bool
    created_at: datetime


class SimulationSeen(Outbound):
    id: UUID
    title: str
    status: str
    created_at: datetime


class AgentSeen(Outbound):
    id: UUID
    name: str
    display_name: str
    average_rating: float


class Evidence(Outbound):
    kind: KindName
    id: UUID
    battle_record: BattleRecord | None = Field(None, description="agents: the arena rating and results")
    recent_battles: list[BattleSeen] = Field(default_factory=list)
    benchmark_entries: list[EntrySeen] = Field(default_factory=list, description="agents: public evaluated entries")
    benchmark_entry_count: int = 0
    best_rank: int | None = None
    simulations: list[SimulationSeen] = Field(default_factory=list, description="public simulations it served in")
    simulation_count: int = 0
    used_by_agents: list[AgentSeen] = Field(default_factory=list, description="tools: public agents that use it")
    used_by_count: int = 0


# -- reviews ----------------------------------------------------------------------------------------


class ReviewBody(Inbound):
    rating: int = Field(ge=1, le=5)
    comment: Text(5000) | None = None
    is_public: bool = Field(True, description="false: only you and the item's owner read it (the rating counts)")


class ReviewPatch(Inbound):
    rating: int | None = Field(None, ge=1, le=5)
    comment: Text(5000) | None = None
    is_public: bool | None = None


class ReviewView(Outbound):
    id: UUID
    kind: Literal["agent", "tool"]
    item_id: UUID
    reviewer: str
    rating: int
    comment: str | None
    is_public: bool
    created_at: datetime
    updated_at: datetime


class ReviewQuery(CursorPage):
    rating: int | None = Field(None, ge=1, le=5, description="only reviews with this rating")


class ReviewPage(Outbound):
    items: list[ReviewView]
    next_cursor: str | None
    average_rating: float
    rating_count: int
    mine: ReviewView | None = Field(description="your review, public or not")


# -- collections ------------------------------------------------------------------------------------


class CollectionCreate(Inbound):
    name: Text(200, 1)
    description: Text(5000) | None = None
    is_public: bool = False


class CollectionPatch(Inbound):
    name: Text(200, 1) | None = None
    description: Text(5000) | None = None
    is_public: bool | None = None


class CollectionItemRef(Inbound):
    kind: Literal["agent", "tool"]
    item_id: UUID


class CollectionAdd(CollectionItemRef):
    position: int | None = Field(None, ge=1, le=10_000, description="1-based; default: at the end")


class CollectionOrder(Inbound):
    items: list[CollectionItemRef] = Field(max_length=1000, description="every item of the collection you see, "
                                           "in order (items gone private since stay after them)")


class CollectionItem(Outbound):
    position: int
    kind: Literal["agent", "tool"]
    id: UUID
    name: str
    description: str
    version: str
    average_rating: float
    rating_count: int
    is_public: bool = Field(description="false: only you (and its owner) see it here")
    added_at: datetime


class CollectionView(Outbound):
    id: UUID
    name: str
    description: str | None
    is_public: bool
    owner: str
    follower_count: int
    following: bool = Field(description="you follow it")
    item_count: int = Field(description="items you may see")
    items: list[CollectionItem]
    created_at: datetime
    updated_at: datetime


class CollectionSummary(Outbound):
    id: UUID
    name: str
    description: str | None
    is_public: bool
    owner: str
    follower_count: int
    item_count: int
    created_at: datetime


class CollectionQuery(CursorPage):
    owner: Username | None = None
    mine: bool = Field(False, description="your own, public or not")
    followed: bool = Field(False, description="the ones you follow")


class CollectionPage(Outbound):
    items: list[CollectionSummary]
    next_cursor: str | None


class CollectionFollowing(Outbound):
    id: UUID
    following: bool
    follower_count: int


# -- templates --------------------------------------------------------------------------------------


class AgentTemplateData(Inbound):
    """What an agent made from the template starts with."""

    display_name: Text(100, 1) | None = None
    description: Text(2000) | None = None
    role: Text(200) | None = None
    goal: Text(5000) | None = None
    backstory: Text(10000) | None = None
    tools: list[ToolRef] = Field(default_factory=list, max_length=50)
    verbose: bool = False
    allow_delegation: bool = False
    reasoning: bool = False
    category: Category | None = None
    tags: Tags = Field(default_factory=list)
    # 004's agent template fields: the made agent's operations type and its starting config.
    type: AgentType | None = None
    default_config: JsonObject | None = None


class TaskTemplateData(Inbound):
    """What a task made from the template starts with (title and description here or when used)."""

    title: Text(200, 1) | None = None
    description: Text(20_000, 1) | None = None
    expected_output: Text(20_000) | None = None
    context: JsonObject = Field(default_factory=dict)
    output_format: JsonObject = Field(default_factory=dict)
    category: Category | None = None
    tags: Tags = Field(default_factory=list)
    human_input: bool = False


class TemplateCreate(Inbound):
    name: Text(200, 1)
    description: Text(5000) | None = None
    template_data: JsonObject = Field(description="agent templates: AgentTemplateData; task templates: "
                                                  "TaskTemplateData")
    category: Category | None = None
    tags: Tags = Field(default_factory=list)
    is_public: bool = False


class TemplatePatch(Inbound):
    name: Text(200, 1) | None = None
    description: Text(5000) | None = None
    template_data: JsonObject | None = None
    category: Category | None = None
    tags: Tags | None = None
    is_public: bool | None = None


class TemplateView(Outbound):
    id: UUID
    kind: Literal["agent", "task"]
    name: str
    description: str | None
    template_data: dict[str, Any]
    category: str | None
    tags: list[str]
    is_public: bool
    owner: str | None
    created_at: datetime
    updated_at: datetime


class TemplateQuery(CursorPage):
    q: Text(100, 1) | None = None
    category: Category | None = None
    tags: Annotated[str, StringConstraints(max_length=1100)] | None = None
    mine: bool = False

    @property
    def tag_list(self) -> list[str]:
        return [t.strip() for t in (self.tags or "").split(",") if t.strip()]


class TemplatePage(Outbound):
    items: list[TemplateView]
    next_cursor: str | None


class UseAgentTemplate(Inbound):
    """``POST /api/agent-templates/{id}/use``: a new agent (its own key) from the template."""

    name: AgentName
    display_name: Text(100, 1) | None = None
    description: Text(2000) | None = None
    overrides: AgentTemplateData | None = Field(None, description="fields set here win over the template's")
    is_public: bool = False


class UseTaskTemplate(Inbound):
    """``POST /api/task-templates/{id}/use``: a new task from the template."""

    overrides: TaskTemplateData | None = Field(None, description="fields set here win over the template's")
    agent_id: UUID | None = None
    is_public: bool = False


LineageNode.model_rebuild()
