"""What crosses the wire for the building blocks of simulations: agent profiles, tools, tasks and
scenarios. Each carries the seed's shared marketplace fields."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import Field, StringConstraints

from ..inputs import JsonObject, Tags, Text
from ..pagination import CursorPage
from ..wire import Inbound, Outbound

Version = Annotated[str, StringConstraints(min_length=1, max_length=20, pattern=r"^[A-Za-z0-9._+-]+$")]
Category = Text(50, 1)
SourceType = Literal["manual", "pdf", "template"]


class Shared(Inbound):
    """The seed's marketplace fields an owner sets (counts and ratings are kept by the server)."""

    is_public: bool = False
    is_template: bool = False
    allow_remixes: bool = True
    version: Version = "1.0.0"
    version_notes: Text(5000) | None = None


class SharedPatch(Inbound):
    is_public: bool | None = None
    is_template: bool | None = None
    allow_remixes: bool | None = None
    version: Version | None = None
    version_notes: Text(5000) | None = None


class ToolRef(Inbound):
    """A tool an agent uses, by name, with its configuration (the seed's ``tools`` JSON)."""

    name: Text(100, 1)
    config: JsonObject = Field(default_factory=dict)
    tool_id: UUID | None = Field(None, description="a tool of the marketplace this is (its listing shows the agent)")
    version: Version | None = Field(None, description="the tool's version this agent was built with")


# -- agent profiles (on the one agents table) -------------------------------------------------------


class ProfilePatch(SharedPatch):
    """``PATCH /api/agents/{id}``: any of an agent's crew profile fields (the rest stay)."""

    role: Text(200) | None = None
    goal: Text(5000) | None = None
    backstory: Text(10000) | None = None
    tools: list[ToolRef] | None = Field(None, max_length=50)
    verbose: bool | None = None
    allow_delegation: bool | None = None
    reasoning: bool | None = None
    category: Category | None = None
    tags: Tags | None = None


# -- tools ------------------------------------------------------------------------------------------


class ToolCreate(Shared):
    name: Text(100, 1)
    description: Text(10000) = ""
    tool_type: Text(50, 1)
    configuration: JsonObject = Field(default_factory=dict)
    code: Text(100_000) | None = None
    language: Text(30) | None = None
    parameters: JsonObject = Field(default_factory=dict)
    usage_examples: Text(20_000) | None = None
    tags: Tags = Field(default_factory=list)


class ToolPatch(SharedPatch):
    name: Text(100, 1) | None = None
    description: Text(10000) | None = None
    tool_type: Text(50, 1) | None = None
    configuration: JsonObject | None = None
    code: Text(100_000) | None = None
    language: Text(30) | None = None
    parameters: JsonObject | None = None
    usage_examples: Text(20_000) | None = None
    tags: Tags | None = None


# -- tasks ------------------------------------------------------------------------------------------


class TaskCreate(Shared):
    title: Text(200, 1)
    description: Text(20_000, 1)
    expected_output: Text(20_000) | None = None
    context: JsonObject = Field(default_factory=dict)
    output_format: JsonObject = Field(default_factory=dict)
    agent_id: UUID | None = Field(None, description="the agent this task is usually given to")
    category: Category | None = None
    tags: Tags = Field(default_factory=list)
    human_input: bool = Field(False, description="the result waits for a person's approval or edit")


class TaskPatch(SharedPatch):
    title: Text(200, 1) | None = None
    description: Text(20_000, 1) | None = None
    expected_output: Text(20_000) | None = None
    context: JsonObject | None = None
    output_format: JsonObject | None = None
    agent_id: UUID | None = None
    category: Category | None = None
    tags: Tags | None = None
    human_input: bool | None = None


# -- scenarios --------------------------------------------------------------------------------------


class ScenarioCreate(Shared):
    title: Text(200, 1)
    description: Text(20_000) = ""
    industry: Text(100) | None = None
    challenge: Text(20_000) | None = None
    learning_objectives: list[Text(1000, 1)] = Field(default_factory=list, max_length=50)
    source_type: Literal["manual", "template"] = Field(
        "manual", description="'pdf' scenarios are made by uploading the PDF (POST /api/scenarios/pdf)")
    category: Category | None = None
    tags: Tags = Field(default_factory=list)


class ScenarioPatch(SharedPatch):
    title: Text(200, 1) | None = None
    description: Text(20_000) | None = None
    industry: Text(100) | None = None
    challenge: Text(20_000) | None = None
    learning_objectives: list[Text(1000, 1)] | None = Field(None, max_length=50)
    category: Category | None = None
    tags: Tags | None = None


class ScenarioPdfQuery(Inbound):
    """The small fields of a scenario made from an uploaded PDF (the body is the PDF)."""

    title: Text(200, 1)
    description: Text(2000) = ""
    industry: Text(100) | None = None
    challenge: Text(2000) | None = None
    category: Category | None = None
    tags: Annotated[str, StringConstraints(max_length=1100)] | None = Field(None, description="comma-separated")
    is_public: bool = False


# -- lists ------------------------------------------------------------------------------------------


class CatalogQuery(CursorPage):
    """Filters every list of building blocks takes; a kind ignores filters it has no column for."""

    q: Text(100, 1) | None = Field(None, description="search the name or title (trigram: typos welcome)")
    category: Category | None = None
    industry: Text(100, 1) | None = None
    tool_type: Text(50, 1) | None = None
    role: Text(200, 1) | None = None
    tags: Annotated[str, StringConstraints(max_length=1100)] | None = Field(
        None, description="comma-separated: items carrying every one of them")
    mine: bool = Field(False, description="only what you own")
    public: bool | None = Field(None, description="only public (true) or only private (false) items")

    @property
    def tag_list(self) -> list[str]:
        return [t.strip() for t in (self.tags or "").split(",") if t.strip()]


# -- views ------------------------------------------------------------------------------------------


class SharedView(Outbound):
    is_public: bool
    is_template: bool
    allow_remixes: bool
    version: str
    version_notes: str | None
    usage_count: int
    clone_count: int
    average_rating: float
    rating_count: int
    created_at: datetime
    updated_at: datetime


class OwnedView(SharedView):
    id: UUID
    created_by_user_id: UUID | None
    created_by_agent_id: UUID | None
    remixed_from: UUID | None
    remixed_from_version: str | None = Field(None, description="the exact version it was remixed from")
    remix_relation: Literal["fork", "adapt", "compose"] | None = None


class ToolView(OwnedView):
    name: str
    description: str
    tool_type: str
    configuration: dict[str, Any]
    code: str | None
    language: str | None
    parameters: dict[str, Any]
    usage_examples: str | None
    tags: list[str]


class TaskView(OwnedView):
    title: str
    description: str
    expected_output: str | None
    context: dict[str, Any]
    output_format: dict[str, Any]
    agent_id: UUID | None
    category: str | None
    tags: list[str]
    human_input: bool


class ScenarioView(OwnedView):
    title: str
    description: str
    industry: str | None
    challenge: str | None
    learning_objectives: list[str]
    source_type: SourceType
    pdf_content: str | None
    pdf_pages: int | None
    pdf_bytes: int | None
    category: str | None
    tags: list[str]


class ProfileView(SharedView):
    """An agent with its crew profile (defaults when it never set one)."""

    agent_id: UUID
    name: str
    display_name: str
    description: str | None = None
    owner_id: UUID | None
    is_active: bool
    role: str | None
    goal: str | None
    backstory: str | None
    tools: list[dict[str, Any]]
    verbose: bool
    allow_delegation: bool
    reasoning: bool
    category: str | None
    tags: list[str]
    remixed_from: UUID | None
    remixed_from_version: str | None = Field(None, description="the exact version it was remixed from")
    remix_relation: Literal["fork", "adapt", "compose"] | None = None


class ToolPage(Outbound):
    items: list[ToolView]
    next_cursor: str | None


class TaskPage(Outbound):
    items: list[TaskView]
    next_cursor: str | None


class ScenarioPage(Outbound):
    items: list[ScenarioView]
    next_cursor: str | None


class ProfilePage(Outbound):
    items: list[ProfileView]
    next_cursor: str | None
