"""The SDK's simulation helpers (clients/python) against a real server: agents that build a scenario
over REST with their keys, crew members that stream progress and ask the starter, a manager that
delegates, a task given again after a dropped connection (worked on once), and a cancel that stops
the handler."""

from __future__ import annotations

import asyncio

import arena_client as sdk

from server.core import CORE


async def _starter_answers(starter: sdk.Client, sim_id: str, answer: str) -> list[dict]:
    """The starter follows the simulation, answers each question, and returns every event."""
    seen: list[dict] = []
    feed = await starter.simulations.watch(sim_id)
    try:
        async for event in feed:
            seen.append(event)
            if event["type"] == "simulation:question":
                await starter.simulations.answer(sim_id, event["data"]["message"]["id"], answer)
            if event["type"] == "simulation:ended":
                return seen
    finally:
        await starter.unwatch(f"simulation:{sim_id}")
    raise AssertionError("the feed ended before the simulation")


async def test_a_sequential_crew_streams_asks_and_finishes(make_server) -> None:
    srv = await make_server()
    async with sdk.Client(srv.url, name="sdk-starter") as starter, \
            sdk.Client(srv.url, name="sdk-analyst") as analyst, sdk.Client(srv.url, name="sdk-critic") as critic:
        await analyst.simulations.set_profile(role="Analyst", goal="Find the numbers", is_public=True)
        await critic.simulations.set_profile(role="Critic", is_public=True)
        scenario = await starter.simulations.create_scenario("Price war", industry="retail",
                                                             challenge="A rival cut prices by 20%.")
        study = await starter.simulations.create_task("Study", "Study the market", expected_output="figures")
        review = await starter.simulations.create_task("Review", "Review the study")
        found = await starter.simulations.scenarios(q="price")
        assert [s["id"] for s in found["items"]] == [scenario["id"]]

        @analyst.simulations.on_task
        async def study_it(task: sdk.SimTask) -> str:
            assert (task.title, task.previous) == ("Study", [])
            assert task.scenario["challenge"] == "A rival cut prices by 20%."
            await task.progress("reading the market… ")
            region = await task.ask("Which region first?")
            await task.progress(f"looking at {region}")
            return f"{region}: prices down 20%"

        @critic.simulations.on_task
        async def review_it(task: sdk.SimTask) -> str:
            [before] = task.previous
            return f"checked <{before['output']}>"

        sim = await starter.simulations.create(scenario["id"], [(analyst.agent_id, [study["id"]]),
                                                                (critic.agent_id, [review["id"]])])
        following = asyncio.ensure_future(_starter_answers(starter, sim["id"], "the north"))
        await starter.simulations.start(sim["id"])
        events = await asyncio.wait_for(following, 20)
        got = await starter.simulations.get(sim["id"])
        assert got["status"] == "completed", got
        assert [t["output"] for t in got["tasks"]] == ["the north: prices down 20%",
                                                       "checked <the north: prices down 20%>"]
        assert got["tasks"][0]["progress"] == "reading the market… looking at the north"
        assert [m["crew_response"] for m in got["messages"]] == ["Which region first?"]
        assert [m["user_message"] for m in got["messages"]] == ["the north"]
        types = [e["type"] for e in events]
        assert types.count("simulation:task_progress") == 2 and types[-1] == "simulation:ended"
        assert (await starter.simulations.finished(sim["id"]))["status"] == "completed"  # already over


async def test_a_manager_delegates_through_the_helpers(make_server) -> None:
    srv = await make_server()
    async with sdk.Client(srv.url, name="sdk-boss") as boss, sdk.Client(srv.url, name="sdk-a") as a, \
            sdk.Client(srv.url, name="sdk-b") as b:
        scenario = await boss.simulations.create_scenario("Launch")
        tasks = [await boss.simulations.create_task(t, f"Do {t}") for t in ("Draft", "Check")]

        for member in (a, b):
            await member.simulations.set_profile(role="Maker", is_public=True)  # anyone may crew them

            @member.simulations.on_task
            async def work(task: sdk.SimTask, me: sdk.Client = member) -> str:
                assert task.kind in ("task", "delegation") and task.delegated_by == boss.agent_id
                return f"{me.name}: {task.title}"

        @boss.simulations.on_task
        async def manage(task: sdk.SimTask) -> str:
            assert task.kind == "manage" and {m["agent_id"] for m in task.crew} == {a.agent_id, b.agent_id}
            results = [await task.delegate(to, run_id=run["id"]) for run, to in zip(task.plan, (a.agent_id, b.agent_id),
                                                                                    strict=True)]
            extra = await task.delegate(a.agent_id, title="Polish", description="Polish the draft")
            return " | ".join(r.output for r in [*results, extra])

        # the boss starts it from its own key: the manager is not a crew member
        sim = await boss.simulations.create(scenario["id"], [(a.agent_id, [tasks[0]["id"]]),
                                                             (b.agent_id, [tasks[1]["id"]])],
                                            process="hierarchical", manager_agent_id=boss.agent_id)
        await boss.simulations.start(sim["id"])
        got = await asyncio.wait_for(boss.simulations.finished(sim["id"]), 20)
        assert got["status"] == "completed", got
        assert got["completion_summary"] == "sdk-a: Draft | sdk-b: Check | sdk-a: Polish"
        assert got["iterations"] == 3


async def test_a_task_given_again_is_worked_once_and_a_cancel_stops_the_handler(make_server) -> None:
    srv = await make_server()
    async with sdk.Client(srv.url, name="sdk-owner") as owner, sdk.Client(srv.url, name="sdk-slow") as slow:
        await slow.simulations.set_profile(is_public=True)
        scenario = await owner.simulations.create_scenario("Slow going")
        first, second = [await owner.simulations.create_task(t, f"Do {t}") for t in ("First", "Second")]
        calls: list[str] = []
        release = asyncio.Event()
        stopped = asyncio.Event()

        @slow.simulations.on_task
        async def work(task: sdk.SimTask) -> str:
            calls.append(task.title)
            try:
                if task.title == "First":
                    await release.wait()
                else:
                    await asyncio.Event().wait()  # never done: cancelled
            except asyncio.CancelledError:
                stopped.set()
                raise
            return "first done"

        given: list[str] = []
        slow.on("simulation:task", lambda p: asyncio.sleep(0, given.append(p["task"]["title"])))

        sim = await owner.simulations.create(scenario["id"], [(slow.agent_id, [first["id"], second["id"]])])
        await owner.simulations.start(sim["id"])
        while not calls:
            await asyncio.sleep(0.02)
        # every websocket drops: the arena gives the held task again on the reconnect
        await srv.app[CORE].realtime.close_connections()
        while given.count("First") < 2:
            await asyncio.sleep(0.02)
        assert calls == ["First"]  # given twice, worked on once
        feed = await owner.simulations.watch(sim["id"])
        release.set()
        async for event in feed:
            if event["type"] == "simulation:task_started" and event["data"]["task_run"]["task"]["title"] == "Second":
                break
        await owner.unwatch(f"simulation:{sim['id']}")
        await owner.simulations.cancel(sim["id"], "enough")
        await asyncio.wait_for(stopped.wait(), 10)
        got = await owner.simulations.get(sim["id"])
        assert got["status"] == "cancelled"
        assert [t["output"] for t in got["tasks"]] == ["first done", None]
        assert calls == ["First", "Second"]


async def test_an_answer_given_while_the_member_was_away_reaches_it_after_the_reconnect(make_server) -> None:
    srv = await make_server()
    async with sdk.Client(srv.url, name="sdk-asker-owner") as owner, sdk.Client(srv.url, name="sdk-asker") as asker:
        await asker.simulations.set_profile(is_public=True)
        scenario = await owner.simulations.create_scenario("Away")
        task = await owner.simulations.create_task("Ask", "Ask, then answer")

        @asker.simulations.on_task
        async def work(t: sdk.SimTask) -> str:
            return f"told: {await t.ask('Which one?')}"

        sim = await owner.simulations.create(scenario["id"], [(asker.agent_id, [task["id"]])])
        await owner.simulations.start(sim["id"])
        question = None
        while question is None:
            got = await owner.request("GET", f"/api/simulations/{sim['id']}")
            question = next((m for m in got["messages"] if m["kind"] == "question"), None)
            await asyncio.sleep(0.02)
        await srv.app[CORE].realtime.close_connections()  # every socket drops; the answer comes meanwhile
        await owner.request("POST", f"/api/simulations/{sim['id']}/questions/{question['id']}/answer",
                            {"answer": "the blue one"})
        done = await asyncio.wait_for(owner.simulations.finished(sim["id"]), 20)
        assert done["status"] == "completed" and done["tasks"][0]["output"] == "told: the blue one"
