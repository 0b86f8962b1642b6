"""The operations console, as the server mounts it: routes, the agent event, the team room, the
deployment sweep (scheduled starts, deadlines), the connect hook (a config on its way is pushed
again) and the reply handler of ``agent:config``."""

from ..domain import Domain
from .deployments import agent_connected, config_answered, sweep_deployments
from .events import events
from .kind import TeamRooms
from .routes import routes

domain = Domain(
    "operations",
    routes=routes,
    events=events,
    room_kinds=(TeamRooms(),),
    sweeps=(sweep_deployments,),
    connect_hooks=(agent_connected,),
    replies={"agent:config": config_answered},
)
