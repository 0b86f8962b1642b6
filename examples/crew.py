"""A crew runner on the arena's client (pip install ./clients/python): several crew members in one
process, each an agent of its own, working through the tasks of simulations the arena gives them.

    python crew.py                      # three members wait for tasks (until Ctrl-C)
    python crew.py --run                # ...and run one simulation of them on a sample scenario, then exit
    python crew.py --run --manager      # the same, hierarchical: a manager delegates to the three
    python crew.py --run --runs 0 --every 30   # a new simulation every 30 s, forever (the demo does this)

Each member streams its work as progress and answers with an OpenAI-compatible model when one is
configured (ARENA_LLM_BASE_URL, ARENA_LLM_MODEL, ARENA_LLM_API_KEY, or OPENAI_API_KEY: as
llm_agent.py), else with a deterministic template built from the task, the scenario and the crew's
earlier outputs. A model that fails or is slow gets the template too, so a task is never lost to it.
Messages from the simulation's starter are answered the same way. Watch a run on the arena's page:
the address is printed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
from collections.abc import Callable
from typing import Any

import arena_client as arena
from llm_agent import ChatModel, model_from_env

MEMBERS = [  # name, display name, role, goal
    ("crew-researcher", "Rosa the Researcher (crew)", "Researcher", "Find the facts the scenario turns on."),
    ("crew-analyst", "Abe the Analyst (crew)", "Analyst", "Weigh the options, with numbers where there are any."),
    ("crew-writer", "Wren the Writer (crew)", "Writer", "Turn the crew's work into a clear recommendation."),
]
MANAGER = ("crew-manager", "Max the Manager (crew)", "Manager", "Get the crew to a sound answer, and check it.")
SAMPLE = {
    "scenario": {
        "title": "A rival cuts prices by 20%",
        "description": "Northwind, a regional grocery chain, learns that its largest rival will cut prices on "
                       "staples by 20% next month.",
        "industry": "retail",
        "challenge": "Keep customers without destroying the margin.",
        "learning_objectives": ["price elasticity", "loyalty programmes", "cost structure"],
        "category": "strategy",
        "tags": ["pricing", "demo"],
    },
    "tasks": [  # title, description, expected output; one per member, in order
        ("Gather the facts", "List what Northwind knows and what it must find out before it answers.",
         "a short list of facts and open questions"),
        ("Weigh the options", "Compare matching the cut, a loyalty offer, and holding prices.",
         "each option with its cost and risk"),
        ("Recommend", "Write the recommendation to Northwind's board in a few sentences.",
         "a recommendation in plain words"),
    ],
}
SYSTEM = ("You are {role} in a crew working through a business scenario in Agent Arena. Your goal: {goal} "
          "Answer the task in at most {words} words of plain text (no markdown, no preamble).")


def template(role: str, task: arena.SimTask) -> str:
    """A deterministic answer from what the task carries (no model needed)."""
    sc = task.scenario
    parts = [f"{role} on “{task.title}”: for “{sc.get('title') or 'the scenario'}”"
             + (f" ({sc['industry']})" if sc.get("industry") else "") + "."]
    if sc.get("challenge"):
        parts.append(f"The challenge is to {str(sc['challenge']).rstrip('.').lower()}.")
    if task.description:
        parts.append(f"Asked: {task.description.rstrip('.')}.")
    if task.previous:
        last = task.previous[-1]
        parts.append(f"Building on {len(task.previous)} earlier result(s), the last from “{last['title']}”.")
    for m in task.messages:
        parts.append(f"As the starter asked: {m.get('message')}.")
    if task.feedback:
        parts.append(f"Revised after the feedback: {task.feedback}.")
    objectives = sc.get("learning_objectives") or []
    if objectives:
        parts.append("It comes down to " + ", ".join(objectives) + ".")
    return " ".join(parts)


def prompt(role: str, goal: str, task: arena.SimTask, words: int = 120) -> list[dict[str, str]]:
    sc = task.scenario
    context = "\n".join(f"- {p['title']}: {p['output']}" for p in task.previous) or "(none yet)"
    user = (f"Scenario: {sc.get('title')}\n{sc.get('description') or ''}\nChallenge: {sc.get('challenge') or '-'}\n"
            f"{('Scenario text: ' + sc['pdf_content'][:4000]) if sc.get('pdf_content') else ''}\n\n"
            f"Your task: {task.title}\n{task.description}\nExpected: {task.task.get('expected_output') or '-'}\n\n"
            f"The crew's work so far:\n{context}")
    for m in task.messages:
        user += f"\n\nThe starter says: {m.get('message')}"
    if task.feedback:
        user += f"\n\nYour last answer was sent back: {task.feedback}\nIt was: {task.context.get('rejected_output')}"
    return [{"role": "system", "content": SYSTEM.format(role=role, goal=goal, words=words)},
            {"role": "user", "content": user}]


class Member:
    """One crew member: an agent of its own, with a role, that works through the tasks it is given."""

    def __init__(self, url: str, name: str, display: str, role: str, goal: str, model: ChatModel | None,
                 pace: float, say: Callable[[str], Any], api_key: str | None = None) -> None:
        self.role, self.goal, self.model, self.pace, self.say = role, goal, model, pace, say
        self.client = arena.Client(url, name=name, display_name=display, api_key=api_key,
                                   description=f"{role} of the example crew.")
        self.client.simulations.on_task(self.work)
        self.client.simulations.on_message(self.reply)

    async def start(self) -> None:
        await self.client.start()
        await self.client.simulations.set_profile(role=self.role, goal=self.goal, category="crew", is_public=True,
                                                  tags=["example"], allow_delegation=self.role == MANAGER[2])

    async def think(self, messages: list[dict[str, str]], fallback: str, deadline_s: float = 60) -> str:
        if self.model is None:
            return fallback
        try:
            return await self.model.complete(messages, timeout=max(1.0, min(60.0, deadline_s)))
        except Exception as exc:  # a slow or failing model must not cost the task
            self.say(f"{self.client.name}: the model failed ({type(exc).__name__}: {exc}); using the template")
            return fallback

    async def work(self, task: arena.SimTask) -> str:
        if task.kind == "manage":
            return await self.manage(task)
        self.say(f"{self.client.name}: working on “{task.title}”")
        for step in ("Reading the scenario… ", "Looking at the crew's work so far… "):
            await asyncio.sleep(self.pace)
            await task.progress(step)
        answer = await self.think(prompt(self.role, self.goal, task), template(self.role, task))
        await asyncio.sleep(self.pace)
        return answer

    async def manage(self, task: arena.SimTask) -> str:
        """Hand each plan task to the crew member whose role fits it best (in order), then sum up."""
        crew = [m for m in task.crew if m.get("agent_id")]
        results = []
        for i, run in enumerate(task.plan):
            title = run["task"].get("title")
            if run["status"] != "pending":  # given again (a message interrupted us): what is done stays done
                results.append((title, run.get("output") or f"({run['status']})"))
                continue
            to = run.get("agent_id") or crew[i % len(crew)]["agent_id"]
            await task.progress(f"Handing “{title}” over… ")
            result = await task.delegate(to, run_id=run["id"])
            results.append((title, result.output if result.status == "completed" else f"({result.status})"))
        summary = "\n".join(f"{title}: {output}" for title, output in results)
        return await self.think(
            [{"role": "system", "content": SYSTEM.format(role=self.role, goal=self.goal, words=150)},
             {"role": "user", "content": f"Sum up your crew's work for the starter:\n{summary}"}],
            f"{self.role}: the crew's answer, task by task.\n{summary}")

    async def reply(self, msg: arena.CrewMessage) -> str:
        return await self.think(
            [{"role": "system", "content": SYSTEM.format(role=self.role, goal=self.goal, words=60)},
             {"role": "user", "content": f"The person who started the simulation says: {msg.message}"}],
            f"{self.role} here: noted, “{msg.message}”. I will take it into account.")


async def sample_of(starter: arena.Client) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The sample scenario and its tasks, made by ``starter`` once: found again on later runs."""
    title = SAMPLE["scenario"]["title"]
    mine = await starter.simulations.scenarios(mine=True, q=title, limit=50)
    tasks_mine = await starter.request("GET", "/api/tasks", params={"mine": True, "limit": 100})
    scenario = next((s for s in mine["items"] if s["title"] == title), None)
    by_title = {t["title"]: t for t in tasks_mine["items"]}
    if scenario is None:
        scenario = await starter.simulations.create_scenario(**SAMPLE["scenario"], is_public=True)
    tasks = []
    for name, description, expected in SAMPLE["tasks"]:
        task = by_title.get(name) or await starter.simulations.create_task(name, description, expected_output=expected,
                                                                          is_public=True)
        tasks.append(task)
    return scenario, tasks


async def run_sample(starter: arena.Client, members: list[Member], manager: Member | None = None,
                     say: Callable[[str], Any] = print) -> dict[str, Any]:
    """One simulation of the crew on the sample scenario, started by ``starter``; its end state."""
    scenario, tasks = await sample_of(starter)
    crew = [(m.client.agent_id, [t["id"]]) for m, t in zip(members, tasks, strict=False)]
    options: dict[str, Any] = {"is_public": True, "task_timeout_s": 120, "connect_wait_s": 10}
    if manager is not None:
        options.update(process="hierarchical", manager_agent_id=manager.client.agent_id)
    sim = await starter.simulations.create(scenario["id"], crew, title=f"{SAMPLE['scenario']['title']} "
                                           f"#{random.randint(1000, 9999)}", **options)
    await starter.simulations.start(sim["id"])
    say(f"simulation {sim['id']} started: watch it at {starter.page_url('simulations/' + sim['id'])}")
    try:
        ended = await starter.simulations.finished(sim["id"])
    except asyncio.CancelledError:  # given up on (a timeout, Ctrl-C): do not leave it running
        with contextlib.suppress(arena.ArenaError, TimeoutError):
            await asyncio.wait_for(starter.simulations.cancel(sim["id"], "the crew runner stopped"), 5)
        raise
    result = ended.get("completion_summary") or ended.get("failure_reason") or ""
    say(f"simulation {sim['id']} {ended['status']}: {result[:200]}")
    return ended


async def main(args: argparse.Namespace) -> None:
    model = model_from_env()
    print(f"crew: thinking with {model.model} at {model.url}" if model else
          "crew: no model configured (set ARENA_LLM_BASE_URL, as for llm_agent.py); answering with templates",
          flush=True)
    url = arena.server_url(args.url)
    members = [Member(url, *m, model, args.pace, print) for m in MEMBERS]
    manager = Member(url, *MANAGER, model, args.pace, print) if args.manager else None
    everyone = members + ([manager] if manager else [])
    try:
        for m in everyone:
            await m.start()
        print("crew: " + ", ".join(f"{m.client.name} ({m.role})" for m in everyone) + " ready", flush=True)
        if not args.run:
            await asyncio.Event().wait()  # serve until stopped
        n = 0
        while args.runs == 0 or n < args.runs:
            n += 1
            await run_sample(members[0].client, members, manager)  # the researcher starts them
            if args.runs == 0 or n < args.runs:
                await asyncio.sleep(args.every)
    finally:
        for m in everyone:
            await m.client.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Several crew members of Agent Arena's simulations in one process.")
    parser.add_argument("--url", help="the arena (default: ARENA_URL or http://127.0.0.1:8080)")
    parser.add_argument("--run", action="store_true", help="start simulations of this crew on a sample scenario")
    parser.add_argument("--manager", action="store_true", help="hierarchical: add a manager who delegates")
    parser.add_argument("--runs", type=int, default=1, help="how many simulations to run with --run (0: forever)")
    parser.add_argument("--every", type=float, default=30.0, help="seconds between simulations")
    parser.add_argument("--pace", type=float, default=1.0, help="seconds between a member's progress steps")
    arena.run(main(parser.parse_args()))
