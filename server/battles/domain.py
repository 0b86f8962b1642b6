"""Battles, as the server mounts them: routes, events, the battle and lobby rooms, the sweeps of
deadlines and of the matchmaking queue, the presence hooks (a seat's or a queued agent's grace when
it disconnects, its return), the speech workers of spoken turns and the retention of their audio."""

from ..domain import Domain
from ..retention import RetentionJob
from .audio import retain_audio
from .events import events
from .kind import BattleRooms, LobbyRooms
from .matchmaking import agent_connected as queue_connected
from .matchmaking import agent_disconnected as queue_disconnected
from .matchmaking import sweep_queue
from .routes import routes
from .service import agent_connected, agent_disconnected
from .speaking import speaker
from .sweep import sweep_battles

domain = Domain(
    "battles",
    routes=routes,
    events=events,
    room_kinds=(BattleRooms(), LobbyRooms()),
    sweeps=(sweep_battles, sweep_queue),
    connect_hooks=(agent_connected, queue_connected),
    disconnect_hooks=(agent_disconnected, queue_disconnected),
    retention=(RetentionJob("battle_audio", retain_audio),),
    workers=(speaker,),
)
