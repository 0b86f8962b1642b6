"""REST for the building blocks: agent profiles, tools, tasks and scenarios (PDF scenarios too)."""

from __future__ import annotations

from ..rest import Call, RouteTable, read_raw_body
from . import pdf, service
from .models import (
    CatalogQuery,
    ProfilePage,
    ProfilePatch,
    ProfileView,
    ScenarioCreate,
    ScenarioPage,
    ScenarioPatch,
    ScenarioPdfQuery,
    ScenarioView,
    TaskCreate,
    TaskPage,
    TaskPatch,
    TaskView,
    ToolCreate,
    ToolPage,
    ToolPatch,
    ToolView,
)
from .store import SCENARIOS, TASKS, TOOLS

routes = RouteTable("catalog")
WRITE = "rate_rest_write"


# -- agent profiles ---------------------------------------------------------------------------------


@routes.patch("/api/agents/{agent_id}", body=ProfilePatch, response=ProfileView, auth="required", rate=WRITE,
              errors=["agent.not_found", "catalog.forbidden", "agent.inactive", "tool.not_found"])
async def update_profile(call: Call, body: ProfilePatch) -> ProfileView:
    """Set any of an agent's crew profile fields: role, goal, backstory, tools, ... (the agent or its owner)."""
    return await service.update_profile(call.core, call.actor, call.uuid("agent_id"), body)


@routes.get("/api/agent-profiles", query=CatalogQuery, response=ProfilePage, auth="optional")
async def list_profiles(call: Call) -> ProfilePage:
    """Agents with public crew profiles (and your own), newest first; filter by category, role, tags; search names."""
    return await service.list_profiles(call.core, call.actor, call.query)  # type: ignore[arg-type]


@routes.get("/api/agent-profiles/{agent_id}", response=ProfileView, auth="optional", errors=["agent.not_found"])
async def get_profile(call: Call) -> ProfileView:
    """An agent's crew profile (public ones, or your own)."""
    return await service.get_profile(call.core, call.actor, call.uuid("agent_id"))


# -- tools ------------------------------------------------------------------------------------------


@routes.post("/api/tools", body=ToolCreate, response=ToolView, status=201, auth="required", rate=WRITE)
async def create_tool(call: Call, body: ToolCreate) -> ToolView:
    """Create a tool (a user's or an agent's)."""
    return await service.create_tool(call.core, call.actor, body)


@routes.get("/api/tools", query=CatalogQuery, response=ToolPage, auth="optional")
async def list_tools(call: Call) -> ToolPage:
    """Public tools and your own, newest first; filter by tool_type and tags; search names."""
    return await service.list_items(call.core, call.actor, TOOLS, call.query)  # type: ignore[arg-type]


@routes.get("/api/tools/{tool_id}", response=ToolView, auth="optional", errors=["tool.not_found"])
async def get_tool(call: Call) -> ToolView:
    """One tool."""
    return await service.get(call.core, call.actor, TOOLS, call.uuid("tool_id"))


@routes.patch("/api/tools/{tool_id}", body=ToolPatch, response=ToolView, auth="required", rate=WRITE,
              errors=["tool.not_found", "catalog.forbidden"])
async def update_tool(call: Call, body: ToolPatch) -> ToolView:
    """Change a tool (its owner)."""
    return await service.update(call.core, call.actor, TOOLS, call.uuid("tool_id"), body)


@routes.delete("/api/tools/{tool_id}", status=204, auth="required", errors=["tool.not_found", "catalog.forbidden"])
async def delete_tool(call: Call) -> None:
    """Delete a tool (its owner)."""
    await service.delete(call.core, call.actor, TOOLS, call.uuid("tool_id"))


# -- tasks ------------------------------------------------------------------------------------------


@routes.post("/api/tasks", body=TaskCreate, response=TaskView, status=201, auth="required", rate=WRITE,
             errors=["agent.not_found"])
async def create_task(call: Call, body: TaskCreate) -> TaskView:
    """Create a crew task: title, description, expected output, its usual agent, human_input, ..."""
    return await service.create_task(call.core, call.actor, body)


@routes.get("/api/tasks", query=CatalogQuery, response=TaskPage, auth="optional")
async def list_tasks(call: Call) -> TaskPage:
    """Public tasks and your own, newest first; filter by category and tags; search titles."""
    return await service.list_items(call.core, call.actor, TASKS, call.query)  # type: ignore[arg-type]


@routes.get("/api/tasks/{task_id}", response=TaskView, auth="optional", errors=["task.not_found"])
async def get_task(call: Call) -> TaskView:
    """One task."""
    return await service.get(call.core, call.actor, TASKS, call.uuid("task_id"))


@routes.patch("/api/tasks/{task_id}", body=TaskPatch, response=TaskView, auth="required", rate=WRITE,
              errors=["task.not_found", "catalog.forbidden", "agent.not_found"])
async def update_task(call: Call, body: TaskPatch) -> TaskView:
    """Change a task (its owner)."""
    return await service.update(call.core, call.actor, TASKS, call.uuid("task_id"), body)


@routes.delete("/api/tasks/{task_id}", status=204, auth="required", errors=["task.not_found", "catalog.forbidden"])
async def delete_task(call: Call) -> None:
    """Delete a task (its owner); simulations keep their snapshot of it."""
    await service.delete(call.core, call.actor, TASKS, call.uuid("task_id"))


# -- scenarios --------------------------------------------------------------------------------------


@routes.post("/api/scenarios", body=ScenarioCreate, response=ScenarioView, status=201, auth="required", rate=WRITE)
async def create_scenario(call: Call, body: ScenarioCreate) -> ScenarioView:
    """Create a scenario by hand (source_type manual or template)."""
    return await service.create_scenario(call.core, call.actor, body)


@routes.post("/api/scenarios/pdf", query=ScenarioPdfQuery, response=ScenarioView, status=201, auth="required",
             rate=WRITE, bodies={"application/pdf": None},
             errors=["scenario.bad_pdf", "scenario.pdf_too_many_pages", "validation.payload_too_large"],
             summary="Create a scenario from a PDF: the raw body is the PDF; its text is extracted on the server.")
async def create_pdf_scenario(call: Call) -> ScenarioView:
    """Create a scenario from a PDF: the raw body is the PDF; its text is extracted on the server."""
    q: ScenarioPdfQuery = call.query  # type: ignore[assignment]
    text = await _pdf_text(call)
    return await service.create_pdf_scenario(call.core, call.actor, q, text)


@routes.put("/api/scenarios/{scenario_id}/pdf", response=ScenarioView, auth="required", rate=WRITE,
            bodies={"application/pdf": None},
            errors=["scenario.not_found", "catalog.forbidden", "scenario.bad_pdf", "scenario.pdf_too_many_pages",
                    "validation.payload_too_large"],
            summary="Replace a scenario's text with that of a PDF: the raw body is the PDF.")
async def replace_pdf(call: Call) -> ScenarioView:
    """Replace a scenario's text with that of a PDF (its owner)."""
    scenario_id = call.uuid("scenario_id")
    await service.check_owner(call.core, call.actor, SCENARIOS, scenario_id)  # before reading a large body
    return await service.replace_pdf(call.core, call.actor, scenario_id, await _pdf_text(call))


async def _pdf_text(call: Call) -> pdf.PdfText:
    s = call.core.settings
    data = await read_raw_body(call.request, s.scenario_pdf_max_bytes, "the PDF")
    if not data:
        raise pdf.bad_pdf("the body is empty")
    return await pdf.extract_text(data, s.scenario_pdf_max_pages, s.scenario_text_max_chars)


@routes.get("/api/scenarios", query=CatalogQuery, response=ScenarioPage, auth="optional")
async def list_scenarios(call: Call) -> ScenarioPage:
    """Public scenarios and your own, newest first; filter by industry, category and tags; search titles."""
    return await service.list_items(call.core, call.actor, SCENARIOS, call.query)  # type: ignore[arg-type]


@routes.get("/api/scenarios/{scenario_id}", response=ScenarioView, auth="optional", errors=["scenario.not_found"])
async def get_scenario(call: Call) -> ScenarioView:
    """One scenario, with the text of its PDF."""
    return await service.get(call.core, call.actor, SCENARIOS, call.uuid("scenario_id"))


@routes.patch("/api/scenarios/{scenario_id}", body=ScenarioPatch, response=ScenarioView, auth="required",
              rate=WRITE, errors=["scenario.not_found", "catalog.forbidden"])
async def update_scenario(call: Call, body: ScenarioPatch) -> ScenarioView:
    """Change a scenario (its owner)."""
    return await service.update(call.core, call.actor, SCENARIOS, call.uuid("scenario_id"), body)


@routes.delete("/api/scenarios/{scenario_id}", status=204, auth="required",
               errors=["scenario.not_found", "catalog.forbidden"])
async def delete_scenario(call: Call) -> None:
    """Delete a scenario (its owner); simulations keep their snapshot of it."""
    await service.delete(call.core, call.actor, SCENARIOS, call.uuid("scenario_id"))
