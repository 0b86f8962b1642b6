"""Socket.IO events of the operations console (agents, on /agent)."""

from __future__ import annotations

from ..realtime.handlers import EventCall, EventTable
from . import deployments, metrics
from .models import ConfigResult, DeploymentView, MetricsReport, MetricsReported

events = EventTable()


@events.on("agent:config_result", ConfigResult, response=DeploymentView)
async def config_result(call: EventCall, body: ConfigResult) -> DeploymentView:
    """Whether you applied a pushed config (when you did not answer in the ack of agent:config)."""
    return await deployments.answer(call.core, call.actor, body)


@events.on("agent:metrics", MetricsReport, response=MetricsReported)
async def report_metrics(call: EventCall, body: MetricsReport) -> MetricsReported:
    """Points of your own time series (response_time, accuracy, cost, tokens, ...)."""
    return await metrics.report(call.core, call.actor, call.actor.id, body)
