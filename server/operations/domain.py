"""The operations console, as the server mounts it: routes, the agents' events, the team room, the
sweeps (deployments' scheduled starts and deadlines, interval workflows, budget announcements), the
connect and disconnect hooks (a config on its way is pushed again;
the team sees the agent on- and offline), the reply handler of ``agent:config``, and the
retention of metrics and usage rows."""

from ..domain import Domain
from ..retention import RetentionJob
from .budgets import sweep_budgets
from .deployments import agent_connected, agent_disconnected, config_answered, sweep_deployments
from .events import events
from .kind import TeamRooms
from .metrics import retain_metrics, retain_usage
from .routes import routes
from .workflows import sweep_workflows

domain = Domain(
    "operations",
    routes=routes,
    events=events,
    room_kinds=(TeamRooms(),),
    sweeps=(sweep_deployments, sweep_workflows, sweep_budgets),
    connect_hooks=(agent_connected,),
    disconnect_hooks=(agent_disconnected,),
    replies={"agent:config": config_answered},
    retention=(RetentionJob("agent_metrics", retain_metrics), RetentionJob("api_usage", retain_usage)),
)
