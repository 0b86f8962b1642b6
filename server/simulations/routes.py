"""REST twins of the simulation events: the same service functions."""

from __future__ import annotations

from ..realtime import rooms
from ..realtime.models import RoomEvent
from ..realtime.routes import EventsQuery
from ..rest import Call, RouteTable
from . import people, service, views
from .models import (
    Accepted,
    Answer,
    AnswerBody,
    Approve,
    ApproveBody,
    AskBody,
    Asked,
    AskHuman,
    CancelBody,
    CancelSimulation,
    Delegate,
    DelegateBody,
    Delegated,
    Fork,
    ForkBody,
    MessageBody,
    MessageIn,
    MessageView,
    Progress,
    ProgressBody,
    Respond,
    RespondBody,
    SimulationCreate,
    SimulationListQuery,
    SimulationPage,
    SimulationSnapshot,
    SimulationView,
    TaskResult,
    TaskResultBody,
)

routes = RouteTable("simulations")
WRITE = "rate_rest_write"
READ_ERRORS = ["simulation.not_found"]
STEER_ERRORS = ["simulation.not_found", "simulation.forbidden", "simulation.wrong_state"]
TASK_ERRORS = ["simulation.not_found", "simulation.task_not_found", "simulation.not_your_task",
               "simulation.task_not_open", "simulation.wrong_state"]


@routes.post("/api/simulations", body=SimulationCreate, response=SimulationView, status=201, auth="required",
             rate=WRITE, errors=["scenario.not_found", "task.not_found", "agent.not_found",
                                 "simulation.agent_not_available", "simulation.bad_pin",
                                 "marketplace.version_not_found"])
async def create_simulation(call: Call, body: SimulationCreate) -> SimulationView:
    """Create a simulation (ready): scenario, crew [{agent_id, task_ids}], process, limits and policies."""
    return await service.create(call.core, call.actor, body)


@routes.get("/api/simulations", query=SimulationListQuery, response=SimulationPage, auth="optional")
async def list_simulations(call: Call) -> SimulationPage:
    """Simulations you may see, newest first (status=, mine=true for the ones you started)."""
    return await service.list_simulations(call.core, call.actor, call.query)  # type: ignore[arg-type]


@routes.get("/api/simulations/{simulation_id}", response=SimulationSnapshot, auth="optional", errors=READ_ERRORS)
async def get_simulation(call: Call) -> SimulationSnapshot:
    """The simulation with its crew, every task with its output, the conversation and the fallbacks."""
    return await service.get(call.core, call.actor, call.uuid("simulation_id"))


@routes.get("/api/simulations/{simulation_id}/events", query=EventsQuery, response=list[RoomEvent],
            auth="optional", errors=READ_ERRORS)
async def simulation_events(call: Call) -> list[RoomEvent]:
    """The transcript: every event after a seq, in order (``wait`` to long-poll)."""
    q: EventsQuery = call.query  # type: ignore[assignment]
    return await rooms.events_since(call.core, call.actor, views.room_of(call.uuid("simulation_id")), q.after,
                                    q.wait, q.limit)


@routes.post("/api/simulations/{simulation_id}/start", response=SimulationView, auth="required", rate=WRITE,
             errors=STEER_ERRORS)
async def start_simulation(call: Call) -> SimulationView:
    """Start it: the crew is snapshotted and waited for, fallbacks taken, the first task handed out."""
    return await service.start(call.core, call.actor, call.uuid("simulation_id"))


@routes.post("/api/simulations/{simulation_id}/cancel", body=CancelBody, response=SimulationView, auth="required",
             errors=STEER_ERRORS)
async def cancel_simulation(call: Call, body: CancelBody) -> SimulationView:
    """Stop the simulation; every crew member receives simulation:cancel."""
    return await service.cancel(call.core, call.actor,
                                CancelSimulation(simulation_id=call.uuid("simulation_id"), **body.model_dump()))


@routes.post("/api/simulations/{simulation_id}/fork", body=ForkBody, response=SimulationView, status=201,
             auth="required", rate=WRITE, errors=[*READ_ERRORS, "simulation.wrong_state", "simulation.task_not_found"])
async def fork_simulation(call: Call, body: ForkBody) -> SimulationView:
    """A new simulation from one of this one's tasks (from_position), keeping the earlier outputs."""
    return await service.fork(call.core, call.actor, Fork(simulation_id=call.uuid("simulation_id"),
                                                          from_position=body.from_position))


@routes.post("/api/simulations/{simulation_id}/messages", body=MessageBody, response=MessageView, status=201,
             auth="required", rate=WRITE, errors=[*STEER_ERRORS, "simulation.busy"])
async def message_crew(call: Call, body: MessageBody) -> MessageView:
    """Talk to the crew while it works (routed by the simulation's message policy)."""
    return await people.send_message(call.core, call.actor,
                                     MessageIn(simulation_id=call.uuid("simulation_id"), message=body.message))


@routes.post("/api/simulations/{simulation_id}/messages/{message_id}/response", body=RespondBody,
             response=MessageView, auth="agent",
             errors=[*READ_ERRORS, "simulation.message_not_found", "simulation.not_in_crew",
                     "simulation.already_answered"])
async def respond_to_message(call: Call, body: RespondBody) -> MessageView:
    """A crew member's answer to the starter's message."""
    return await people.respond(call.core, call.actor, Respond(
        simulation_id=call.uuid("simulation_id"), message_id=call.uuid("message_id"), response=body.response))


@routes.post("/api/simulations/{simulation_id}/questions", body=AskBody, response=Asked, status=201, auth="agent",
             errors=TASK_ERRORS)
async def ask_question(call: Call, body: AskBody) -> Asked:
    """A crew member asks the starter a question; its task waits for the answer."""
    return await people.ask_human(call.core, call.actor, AskHuman(simulation_id=call.uuid("simulation_id"),
                                                                  **body.model_dump()))


@routes.post("/api/simulations/{simulation_id}/questions/{question_id}/answer", body=AnswerBody,
             response=MessageView, auth="required",
             errors=[*STEER_ERRORS, "simulation.message_not_found", "simulation.already_answered"])
async def answer_question(call: Call, body: AnswerBody) -> MessageView:
    """Answer a crew member's question."""
    return await people.answer(call.core, call.actor, Answer(
        simulation_id=call.uuid("simulation_id"), question_id=call.uuid("question_id"), answer=body.answer))


@routes.post("/api/simulations/{simulation_id}/tasks/{task_run_id}/approval", body=ApproveBody, response=Accepted,
             auth="required", errors=[*STEER_ERRORS, "simulation.task_not_found", "simulation.task_not_open"])
async def approve_task(call: Call, body: ApproveBody) -> Accepted:
    """Approve (or edit, or send back with feedback) the output of a human_input task."""
    return await people.approve(call.core, call.actor, Approve(
        simulation_id=call.uuid("simulation_id"), task_run_id=call.uuid("task_run_id"), **body.model_dump()))


@routes.post("/api/simulations/{simulation_id}/tasks/{task_run_id}/result", body=TaskResultBody, response=Accepted,
             auth="agent", errors=TASK_ERRORS)
async def submit_task_result(call: Call, body: TaskResultBody) -> Accepted:
    """Your output for a task you were given."""
    return await service.submit_result(call.core, call.actor, TaskResult(
        simulation_id=call.uuid("simulation_id"), task_run_id=call.uuid("task_run_id"), output=body.output))


@routes.post("/api/simulations/{simulation_id}/tasks/{task_run_id}/progress", body=ProgressBody, response=Accepted,
             auth="agent", errors=[*TASK_ERRORS, "simulation.progress_too_long"])
async def task_progress(call: Call, body: ProgressBody) -> Accepted:
    """Partial output of the task you work on."""
    return await service.progress(call.core, call.actor, Progress(
        simulation_id=call.uuid("simulation_id"), task_run_id=call.uuid("task_run_id"), text=body.text))


@routes.post("/api/simulations/{simulation_id}/delegations", body=DelegateBody, response=Delegated, status=201,
             auth="agent", errors=[*READ_ERRORS, "simulation.not_manager", "simulation.self_delegation",
                                   "simulation.not_in_crew", "simulation.iteration_limit", "simulation.agent_busy"])
async def delegate_task(call: Call, body: DelegateBody) -> Delegated:
    """The manager hands a task to a crew member."""
    return await service.delegate(call.core, call.actor, Delegate(simulation_id=call.uuid("simulation_id"),
                                                                  **body.model_dump()))
