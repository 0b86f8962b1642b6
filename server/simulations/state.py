"""A simulation as the engine works on it: its row, its crew and its task runs, loaded under the
simulation's lock, changed in memory, and written back (only what changed) before the commit."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import asyncpg

from .. import db
from ..errors import AppError
from . import store


def not_found() -> AppError:
    return AppError("simulation.not_found", "no such simulation", 404)


@dataclass
class State:
    sim: dict[str, Any]
    crew: list[dict[str, Any]]
    runs: list[dict[str, Any]]
    _saved: dict[str, Any] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self._saved = {"sim": copy.deepcopy(self.sim), "crew": copy.deepcopy(self.crew),
                       "runs": {r["id"]: copy.deepcopy(r) for r in self.runs}}

    @property
    def id(self) -> UUID:
        return self.sim["id"]

    @property
    def room(self) -> str:
        return f"simulation:{self.id}"

    @property
    def status(self) -> str:
        return self.sim["status"]

    @property
    def timeout(self) -> timedelta:
        """How long each attempt at a task has."""
        return timedelta(seconds=self.sim["task_timeout_s"])

    @property
    def connect_deadline(self) -> datetime:
        """When a starting simulation stops waiting for its crew."""
        return self.sim["started_at"] + timedelta(seconds=self.sim["connect_wait_s"])

    @property
    def hierarchical(self) -> bool:
        return self.sim["process_type"] == "hierarchical"

    def run(self, run_id: UUID) -> dict[str, Any] | None:
        return next((r for r in self.runs if r["id"] == run_id), None)

    def member(self, agent_id: UUID | None) -> dict[str, Any] | None:
        """The crew member served by ``agent_id`` now."""
        return next((m for m in self.crew if agent_id is not None and m["agent_id"] == agent_id), None)

    def manager_run(self) -> dict[str, Any] | None:
        return next((r for r in self.runs if r["kind"] == "manage"), None)

    def next_position(self) -> int:
        return max((r["position"] for r in self.runs), default=0) + 1

    async def add_runs(self, conn: asyncpg.Connection, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Insert new runs (a delegation) and keep them in the state."""
        added = [dict(r) for r in await store.insert_runs(conn, self.id, rows)]
        self.runs.extend(added)
        self.runs.sort(key=lambda r: r["position"])
        for r in added:
            self._saved["runs"][r["id"]] = copy.deepcopy(r)
        return added

    async def save(self, conn: asyncpg.Connection) -> None:
        """Write what changed since the load (or the last save)."""
        saved = self._saved["sim"]
        if self.sim["scenario_snapshot"] != saved["scenario_snapshot"]:
            await store.set_scenario_snapshot(conn, self.id, self.sim["scenario_snapshot"])
        if any(v != saved.get(k) for k, v in self.sim.items() if k != "scenario_snapshot"):
            await store.update_simulation(conn, self.sim)
        for member, before in zip(self.crew, self._saved["crew"], strict=True):
            if member != before:
                await store.update_member(conn, member)
        for run in self.runs:
            before = self._saved["runs"].get(run["id"])
            if before is not None and run != before:
                await store.update_run(conn, run)
        self.__post_init__()


async def load(conn: asyncpg.Connection, simulation_id: UUID, *, lock: bool = True, wait: bool = True
               ) -> State | None:
    """The simulation with its crew and runs; with ``lock``, its row is locked first (every change
    takes the lock, so two never interleave). None when it does not exist (or is locked, ``wait=False``)."""
    if lock and not await store.lock(conn, simulation_id, wait=wait):
        return None
    row = await store.simulation(conn, simulation_id)
    if row is None:
        return None
    return State(dict(row), [dict(m) for m in await store.crew(conn, simulation_id)],
                 [dict(r) for r in await store.runs(conn, simulation_id)])


async def db_now(conn: asyncpg.Connection) -> datetime:
    return await db.now(conn)
