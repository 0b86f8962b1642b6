"""Simulations: serve in a crew, manage one, or start one and steer it.

A crew member answers its tasks:

    @agent.simulations.on_task
    async def work(task: arena.SimTask) -> str:
        await task.progress("reading the scenario…")       # streamed to watchers
        region = await task.ask("Which region first?")      # the starter answers on the page
        return f"Plan for {region}: ..."                    # the task's output

A manager (``process="hierarchical"``) gets a task of kind ``manage``; inside it, ``task.delegate``
hands a plan task (or a new one) to a crew member and returns its result:

    @agent.simulations.on_task
    async def manage(task: arena.SimTask) -> str:
        if task.kind != "manage":
            return "..."
        results = [await task.delegate(m["agent_id"], run_id=p["id"]) for p, m in zip(task.plan, task.crew)]
        return "\\n".join(r.output or "" for r in results)

A handler runs once per task given (the arena gives a held task again after a reconnect: a handler
already running for it is not started twice, and an output already made is sent again). A task the
starter stops (``simulation:cancel``) has its handler cancelled; a task interrupted by a message comes
back with the message in ``task.messages``. Messages from the starter go to ``on_message``.

The starter's side: ``create``, ``start``, ``message``, ``answer``, ``approve``, ``cancel``, ``fork``,
``get``, ``watch`` and ``finished``; the building blocks (profile, scenarios, tasks) over REST.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .errors import ArenaError

if TYPE_CHECKING:
    from .client import Client
    from .feeds import Feed

log = logging.getLogger("arena_client.simulations")

ENDED = ("completed", "failed", "failed_missing_resources", "cancelled")
EARLY_KEPT = 1000  # answers and results kept for a wait that has not begun (those of ended handlers go too)
# An answer that can no longer be used: the task moved on (done, retried, cancelled). Nothing to retry.
SETTLED = {"simulation.task_not_open", "simulation.wrong_state", "simulation.not_your_task",
           "simulation.task_not_found", "simulation.not_found"}


@dataclass
class DelegationResult:
    """What a delegate made of a task the manager handed over."""

    task_run_id: str
    agent_id: str | None
    status: str  # completed, or skipped / failed when the delegate could not serve
    output: str | None
    error: str | None = None


@dataclass
class SimTask:
    """A task the arena gave this agent in a simulation (``simulation:task``)."""

    simulation_id: str
    task_run_id: str
    kind: str  # "task", "delegation" or "manage"
    attempt: int
    deadline_at: str | None
    task: dict[str, Any]
    scenario: dict[str, Any]
    context: dict[str, Any]
    payload: dict[str, Any] = field(repr=False)
    _sims: Simulations = field(repr=False, default=None)  # type: ignore[assignment]

    @classmethod
    def from_payload(cls, p: dict[str, Any], sims: Simulations) -> SimTask:
        return cls(p["simulation_id"], p["task_run_id"], p.get("kind", "task"), p.get("attempt", 1),
                   p.get("deadline_at"), p.get("task") or {}, p.get("scenario") or {}, p.get("context") or {}, p, sims)

    @property
    def title(self) -> str:
        return str(self.task.get("title") or "")

    @property
    def description(self) -> str:
        return str(self.task.get("description") or "")

    @property
    def previous(self) -> list[dict[str, Any]]:
        """The outputs of the crew's earlier tasks: ``[{task_run_id, position, title, agent_id, output}]``."""
        return list(self.context.get("previous") or [])

    @property
    def messages(self) -> list[dict[str, Any]]:
        """The starter's messages that interrupted this task (``interrupt`` policy)."""
        return list(self.context.get("messages") or [])

    @property
    def feedback(self) -> str | None:
        """Why the starter sent an earlier output of this task back (a ``human_input`` task)."""
        return self.context.get("feedback")

    @property
    def crew(self) -> list[dict[str, Any]]:
        """A manager's crew (profiles, each with ``agent_id``)."""
        return list(self.payload.get("crew") or [])

    @property
    def plan(self) -> list[dict[str, Any]]:
        """A manager's plan: the crew's task runs (``id``, ``task``, ``agent_id``, ``status``)."""
        return list(self.payload.get("plan") or [])

    @property
    def delegated_by(self) -> str | None:
        return self.payload.get("delegated_by")

    async def progress(self, text: str) -> None:
        """Stream partial output: watchers see it live, and it is kept with the result."""
        await self._sims.client.call("simulation:progress", {"simulation_id": self.simulation_id,
                                                             "task_run_id": self.task_run_id, "text": text})

    async def ask(self, question: str, timeout: float | None = None) -> str:
        """Ask the simulation's starter; the task waits (no deadline) until the answer comes back."""
        return await self._sims.ask(self, question, timeout)

    async def delegate(self, agent_id: str, *, run_id: str | None = None, title: str | None = None,
                       description: str | None = None, expected_output: str | None = None,
                       timeout: float | None = None) -> DelegationResult:
        """(A manager) hand the plan task ``run_id``, or a new task, to a crew member; its result."""
        return await self._sims.delegate(self, agent_id, run_id=run_id, title=title, description=description,
                                         expected_output=expected_output, timeout=timeout)


@dataclass
class CrewMessage:
    """A message of the starter to the crew (``simulation:message``); answer it with text."""

    simulation_id: str
    message_id: str
    message: str
    payload: dict[str, Any] = field(repr=False)


@dataclass
class _Work:
    simulation_id: str
    attempt: int
    worker: asyncio.Task


TaskHandler = Callable[[SimTask], Awaitable[str]]
MessageHandler = Callable[[CrewMessage], Awaitable[str | None]]


class Simulations:
    """Simulation helpers of one client (``client.simulations``)."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self._task_handler: TaskHandler | None = None
        self._message_handler: MessageHandler | None = None
        self._running: dict[str, _Work] = {}  # task run -> the handler working on it
        self._made: dict[tuple[str, int], str] = {}  # outputs made, kept until the arena took them
        self._waiting: dict[str, asyncio.Future] = {}  # question or delegation id -> its answer
        self._early: dict[str, Any] = {}  # answers that came before their id was known here
        client.on("simulation:task", self._on_task)
        client.on("simulation:message", self._on_message)
        client.on("simulation:answer", self._on_answer)
        client.on("simulation:delegation_result", self._on_delegation_result)
        client.on("simulation:cancel", self._on_cancel)
        client.on("simulation:refused", self._on_refused)

    # -- handlers --------------------------------------------------------------------------------------

    def on_task(self, handler: TaskHandler) -> TaskHandler:
        """``async def handler(task: SimTask) -> str``: the output of each task given (a decorator too)."""
        self._task_handler = handler
        return handler

    def on_message(self, handler: MessageHandler) -> MessageHandler:
        """``async def handler(msg: CrewMessage) -> str | None``: the crew's response to the starter."""
        self._message_handler = handler
        return handler

    async def _on_task(self, payload: dict[str, Any]) -> None:
        task = SimTask.from_payload(payload, self)
        running = self._running.get(task.task_run_id)
        if running is not None and running.attempt == task.attempt and not running.worker.done():
            return  # given again after a reconnect: it is being worked on
        made = self._made.get((task.task_run_id, task.attempt))
        if made is not None:
            await self._submit(task, made)  # made before the connection dropped: send it again
            return
        if self._task_handler is None:
            log.warning("a simulation task came (%s) but no on_task handler is set", task.title)
            return
        if running is not None:
            running.worker.cancel()  # an older attempt: the arena moved on
        worker = asyncio.current_task()
        assert worker is not None
        self._running[task.task_run_id] = _Work(task.simulation_id, task.attempt, worker)
        try:
            output = await self._task_handler(task)
        except asyncio.CancelledError:
            log.info("task %s (%s) stopped", task.task_run_id, task.title)
            return
        except ArenaError as err:
            log.warning("task %s (%s) failed: %s", task.task_run_id, task.title, err)
            return
        finally:
            mine = self._running.get(task.task_run_id)
            if mine is not None and mine.worker is worker:
                del self._running[task.task_run_id]
        self._made[(task.task_run_id, task.attempt)] = str(output)
        await self._submit(task, str(output))

    async def _submit(self, task: SimTask, output: str) -> None:
        try:
            await self.client.call("simulation:task_result", {"simulation_id": task.simulation_id,
                                                              "task_run_id": task.task_run_id, "output": output},
                                   idempotent=True)
        except ArenaError as err:
            if err.code not in SETTLED:
                raise  # kept in _made: given again after a reconnect, it is sent again
            log.info("the output of task %s was not taken: %s", task.task_run_id, err.code)
        self._made.pop((task.task_run_id, task.attempt), None)

    async def _on_message(self, payload: dict[str, Any]) -> None:
        if self._message_handler is None:
            return  # no response: the message stays delivered, unanswered
        msg = CrewMessage(payload["simulation_id"], payload["message_id"], payload.get("message", ""), payload)
        response = await self._message_handler(msg)
        if response is None:
            return
        try:
            await self.client.call("simulation:respond", {"simulation_id": msg.simulation_id,
                                                          "message_id": msg.message_id, "response": str(response)},
                                   idempotent=True)
        except ArenaError as err:
            log.info("the response to message %s was not taken: %s", msg.message_id, err.code)

    async def _on_cancel(self, payload: dict[str, Any]) -> None:
        """Stop the handler of the task named (or, with none named, of every task of the simulation)."""
        run_id = payload.get("task_run_id")
        for rid, work in list(self._running.items()):
            if rid == run_id or (run_id is None and work.simulation_id == payload.get("simulation_id")):
                work.worker.cancel()
                del self._running[rid]

    async def _on_answer(self, payload: dict[str, Any]) -> None:
        self._resolve(payload.get("question_id"), payload.get("answer"))

    async def _on_delegation_result(self, payload: dict[str, Any]) -> None:
        self._resolve(payload.get("delegation_id") or payload.get("task_run_id"), DelegationResult(
            payload.get("task_run_id"), payload.get("agent_id"), payload.get("status"), payload.get("output"),
            payload.get("error")))

    async def _on_refused(self, payload: dict[str, Any]) -> None:
        log.warning("an answer in simulation %s was refused: %s", payload.get("simulation_id"), payload.get("error"))

    def _resolve(self, key: Any, value: Any) -> None:
        if not key:
            return
        fut = self._waiting.pop(str(key), None)
        if fut is None:
            self._early[str(key)] = value  # its id is not known here yet (or nobody waits any more)
            while len(self._early) > EARLY_KEPT:
                del self._early[next(iter(self._early))]  # the oldest
        elif not fut.done():
            fut.set_result(value)

    async def _wait_for(self, key: str, timeout: float | None) -> Any:
        if key in self._early:
            return self._early.pop(key)
        fut = self._waiting[key] = asyncio.get_running_loop().create_future()
        try:
            return await asyncio.wait_for(fut, timeout)
        finally:
            self._waiting.pop(key, None)

    async def ask(self, task: SimTask, question: str, timeout: float | None = None) -> str:
        asked = await self.client.call("simulation:ask_human", {"simulation_id": task.simulation_id,
                                                                "task_run_id": task.task_run_id, "question": question})
        return str(await self._wait_for(str(asked["question_id"]), timeout))

    async def delegate(self, task: SimTask, agent_id: str, *, run_id: str | None = None, title: str | None = None,
                       description: str | None = None, expected_output: str | None = None,
                       timeout: float | None = None) -> DelegationResult:
        if run_id is not None:
            what: dict[str, Any] = {"task_run_id": run_id}
        else:
            if not description:
                raise ArenaError("validation.failed", "a new task needs a description")
            what = {"description": description}
            if title:
                what["title"] = title
            if expected_output:
                what["expected_output"] = expected_output
        made = await self.client.call("simulation:delegate", {"simulation_id": task.simulation_id,
                                                              "to_agent_id": agent_id, "task": what})
        return await self._wait_for(str(made["delegation_id"]), timeout)

    # -- the starter -----------------------------------------------------------------------------------

    async def create(self, scenario_id: str, crew: Sequence[tuple[str, Sequence[str]]] | Sequence[dict[str, Any]],
                     **options: Any) -> dict[str, Any]:
        """A simulation (``ready``): ``crew`` is ``[(agent_id, [task_id, ...]), ...]`` (or the protocol's
        dicts); options as in docs/protocol.md (``process``, ``manager_agent_id``, ``fallback_strategy``...)."""
        members = [m if isinstance(m, dict) else {"agent_id": m[0], "task_ids": list(m[1])} for m in crew]
        return await self.client.call("simulation:create", {"scenario_id": scenario_id, "crew": members, **options})

    async def start(self, simulation_id: str) -> dict[str, Any]:
        return await self.client.call("simulation:start", {"simulation_id": simulation_id})

    async def message(self, simulation_id: str, message: str) -> dict[str, Any]:
        """Talk to the crew (routed by the simulation's message policy)."""
        return await self.client.call("simulation:message", {"simulation_id": simulation_id, "message": message})

    async def answer(self, simulation_id: str, question_id: str, answer: str) -> dict[str, Any]:
        return await self.client.call("simulation:answer", {"simulation_id": simulation_id,
                                                            "question_id": question_id, "answer": answer})

    async def approve(self, simulation_id: str, task_run_id: str, approved: bool = True, *, output: str | None = None,
                      feedback: str | None = None) -> dict[str, Any]:
        payload: dict[str, Any] = {"simulation_id": simulation_id, "task_run_id": task_run_id, "approved": approved}
        if output is not None:
            payload["output"] = output
        if feedback is not None:
            payload["feedback"] = feedback
        return await self.client.call("simulation:approve", payload)

    async def cancel(self, simulation_id: str, reason: str | None = None) -> dict[str, Any]:
        payload: dict[str, Any] = {"simulation_id": simulation_id}
        if reason:
            payload["reason"] = reason
        return await self.client.call("simulation:cancel", payload)

    async def fork(self, simulation_id: str, from_position: int) -> dict[str, Any]:
        return await self.client.call("simulation:fork", {"simulation_id": simulation_id,
                                                          "from_position": from_position})

    async def get(self, simulation_id: str) -> dict[str, Any]:
        """The snapshot: the simulation with its crew, tasks (and outputs), messages and fallbacks."""
        return await self.client.call("simulation:get", {"simulation_id": simulation_id}, idempotent=True)

    async def watch(self, simulation_id: str, since_seq: int | None = 0) -> Feed:
        """The simulation's room: ``feed.snapshot``, then its events (each once, in order)."""
        return await self.client.watch(f"simulation:{simulation_id}", since_seq)

    async def finished(self, simulation_id: str, on_event: Callable[[dict[str, Any]], Any] | None = None
                       ) -> dict[str, Any]:
        """Wait until the simulation ends (``on_event`` sees every event on the way); its snapshot."""
        room = f"simulation:{simulation_id}"
        feed = await self.watch(simulation_id)
        try:
            # (a feed already watched has an older snapshot: ask for the state now)
            now = await self.get(simulation_id)
            if now["status"] in ENDED:
                return now
            async for event in feed:
                if on_event is not None:
                    on_event(event)
                if event["type"] == "simulation:ended":
                    return await self.get(simulation_id)
            raise ArenaError("client.closed", "the client closed before the simulation ended")
        finally:
            await self.client.unwatch(room)

    # -- building blocks (REST, with this agent's key) -----------------------------------------------------

    async def set_profile(self, **profile: Any) -> dict[str, Any]:
        """This agent's profile: role, goal, backstory, tools, allow_delegation, category, tags, is_public..."""
        return await self.client.request("PATCH", f"/api/agents/{self.client.agent_id}", profile)

    async def create_scenario(self, title: str, **fields: Any) -> dict[str, Any]:
        return await self.client.request("POST", "/api/scenarios", {"title": title, **fields})

    async def create_task(self, title: str, description: str, **fields: Any) -> dict[str, Any]:
        return await self.client.request("POST", "/api/tasks", {"title": title, "description": description, **fields})

    async def scenarios(self, **query: Any) -> dict[str, Any]:
        """A page of the scenarios this agent may see (``q``, ``category``, ``industry``, ``tag``, ``mine``...)."""
        return await self.client.request("GET", "/api/scenarios", params=query)
