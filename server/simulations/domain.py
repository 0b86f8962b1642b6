"""Simulations, as the server mounts them: routes, events, the simulation room, the deadline sweep,
the connect hook (a waiting crew goes on; a returning member gets its task again), the handlers
of the answers crew members give in their acks, and retention of ended simulations."""

from ..domain import Domain
from ..retention import RetentionJob
from .events import events
from .kind import SimulationRooms
from .people import message_answered
from .routes import routes
from .service import agent_connected, retain_simulations, task_answered
from .sweep import sweep_simulations

domain = Domain(
    "simulations",
    routes=routes,
    events=events,
    room_kinds=(SimulationRooms(),),
    sweeps=(sweep_simulations,),
    connect_hooks=(agent_connected,),
    replies={"simulation:task": task_answered, "simulation:message": message_answered},
    retention=(RetentionJob("simulations", retain_simulations),),
)
