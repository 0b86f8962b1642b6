"""Battles, as the server mounts them: routes, events, the battle and lobby rooms, the deadline
sweep, the presence hooks (a seat's grace when its agent disconnects, its return), the speech workers
of spoken turns and the retention of their audio."""

from ..domain import Domain
from ..retention import RetentionJob
from .audio import retain_audio
from .events import events
from .kind import BattleRooms, LobbyRooms
from .routes import routes
from .service import agent_connected, agent_disconnected
from .speaking import speaker
from .sweep import sweep_battles

domain = Domain(
    "battles",
    routes=routes,
    events=events,
    room_kinds=(BattleRooms(), LobbyRooms()),
    sweeps=(sweep_battles,),
    connect_hooks=(agent_connected,),
    disconnect_hooks=(agent_disconnected,),
    retention=(RetentionJob("battle_audio", retain_audio),),
    workers=(speaker,),
)
