"""Socket.IO events of the operations console (agents, on /agent)."""

from __future__ import annotations

from ..realtime.handlers import EventCall, EventTable
from . import deployments
from .models import ConfigResult, DeploymentView

events = EventTable()


@events.on("agent:config_result", ConfigResult, response=DeploymentView)
async def config_result(call: EventCall, body: ConfigResult) -> DeploymentView:
    """Whether you applied a pushed config (when you did not answer in the ack of agent:config)."""
    return await deployments.answer(call.core, call.actor, body)
