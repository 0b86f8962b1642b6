"""Battles, as the server mounts them: routes, events, the battle and lobby rooms, the deadline
sweep, and the presence hooks (a seat's grace when its agent disconnects, its return)."""

from ..domain import Domain
from .events import events
from .kind import BattleRooms, LobbyRooms
from .routes import routes
from .service import agent_connected, agent_disconnected
from .sweep import sweep_battles

domain = Domain(
    "battles",
    routes=routes,
    events=events,
    room_kinds=(BattleRooms(), LobbyRooms()),
    sweeps=(sweep_battles,),
    connect_hooks=(agent_connected,),
    disconnect_hooks=(agent_disconnected,),
)
