"""Socket.IO handlers for simulations: validate, call the service, return the ack.

Crew members use /agent. The starter steers from either namespace (an agent on /agent, a person
logged in on /spectate); anyone allowed watches from either."""

from __future__ import annotations

from ..realtime.handlers import EventCall, EventTable
from ..realtime.hub import AGENT_NS, SPECTATE_NS
from . import people, service
from .models import (
    Accepted,
    Answer,
    Approve,
    Asked,
    AskHuman,
    CancelSimulation,
    Delegate,
    Delegated,
    Fork,
    MessageIn,
    MessageView,
    Progress,
    Respond,
    SimulationCreate,
    SimulationRef,
    SimulationSnapshot,
    SimulationView,
    SimulationWatching,
    TaskResult,
    WatchSimulation,
)

events = EventTable()


@events.on("simulation:task_result", TaskResult, response=Accepted)
async def task_result(call: EventCall, body: TaskResult) -> Accepted:
    """Your output for a task you were given (when you did not answer in the ack of simulation:task)."""
    return await service.submit_result(call.core, call.actor, body)


@events.on("simulation:progress", Progress, response=Accepted)
async def progress(call: EventCall, body: Progress) -> Accepted:
    """Partial output of the task you work on, streamed to watchers and kept with the result."""
    return await service.progress(call.core, call.actor, body)


@events.on("simulation:delegate", Delegate, response=Delegated)
async def delegate(call: EventCall, body: Delegate) -> Delegated:
    """The manager hands a task to a crew member; its result comes back as simulation:delegation_result."""
    return await service.delegate(call.core, call.actor, body)


@events.on("simulation:ask_human", AskHuman, response=Asked)
async def ask_human(call: EventCall, body: AskHuman) -> Asked:
    """Ask the simulation's starter a question; your task waits for simulation:answer."""
    return await people.ask_human(call.core, call.actor, body)


@events.on("simulation:respond", Respond, response=MessageView)
async def respond(call: EventCall, body: Respond) -> MessageView:
    """The crew's answer to the starter's message (when not given in the ack of simulation:message)."""
    return await people.respond(call.core, call.actor, body)


for _ns in (AGENT_NS, SPECTATE_NS):

    @events.on("simulation:create", SimulationCreate, namespace=_ns, response=SimulationView)
    async def create(call: EventCall, body: SimulationCreate) -> SimulationView:
        """Create a simulation (ready): a scenario, a crew and its tasks, a process, limits and policies."""
        return await service.create(call.core, call.actor, body)

    @events.on("simulation:start", SimulationRef, namespace=_ns, response=SimulationView)
    async def start(call: EventCall, body: SimulationRef) -> SimulationView:
        """Start it: the crew is snapshotted and waited for, fallbacks taken, the first task handed out."""
        return await service.start(call.core, call.actor, body.simulation_id)

    @events.on("simulation:message", MessageIn, namespace=_ns, response=MessageView)
    async def message(call: EventCall, body: MessageIn) -> MessageView:
        """Talk to the crew while it works (routed by the simulation's message policy)."""
        return await people.send_message(call.core, call.actor, body)

    @events.on("simulation:answer", Answer, namespace=_ns, response=MessageView)
    async def answer(call: EventCall, body: Answer) -> MessageView:
        """Answer a crew member's question."""
        return await people.answer(call.core, call.actor, body)

    @events.on("simulation:approve", Approve, namespace=_ns, response=Accepted)
    async def approve(call: EventCall, body: Approve) -> Accepted:
        """Approve (or edit, or send back) the output of a human_input task."""
        return await people.approve(call.core, call.actor, body)

    @events.on("simulation:cancel", CancelSimulation, namespace=_ns, response=SimulationView)
    async def cancel(call: EventCall, body: CancelSimulation) -> SimulationView:
        """Stop the simulation; every crew member receives simulation:cancel."""
        return await service.cancel(call.core, call.actor, body)

    @events.on("simulation:fork", Fork, namespace=_ns, response=SimulationView)
    async def fork(call: EventCall, body: Fork) -> SimulationView:
        """A new simulation from one of this one's tasks, keeping the earlier outputs."""
        return await service.fork(call.core, call.actor, body)

    @events.on("simulation:watch", WatchSimulation, namespace=_ns, response=SimulationWatching)
    async def watch(call: EventCall, body: WatchSimulation) -> SimulationWatching:
        """The simulation now, its events after since_seq, then everything live."""
        return await service.watch(call.core, call.sid, call.namespace, call.actor, body)

    @events.on("simulation:get", SimulationRef, namespace=_ns, response=SimulationSnapshot)
    async def get(call: EventCall, body: SimulationRef) -> SimulationSnapshot:
        """The simulation with its crew, tasks (and outputs), conversation and fallbacks."""
        return await service.get(call.core, call.actor, body.simulation_id)
