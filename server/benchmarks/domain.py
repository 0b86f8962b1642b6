"""The benchmark arena, as the server mounts them: routes, socket events, the entry room, the
evaluation worker (a sweep every process runs), and retention."""

from ..domain import Domain
from ..retention import RetentionJob
from .events import events
from .kind import EntryRooms
from .retention import release_held_votes, retain_failed_entries
from .routes import routes
from .worker import evaluate_due

domain = Domain(
    "benchmarks",
    routes=routes,
    events=events,
    room_kinds=(EntryRooms(),),
    sweeps=(evaluate_due,),
    retention=(RetentionJob("failed_entries", retain_failed_entries),
               RetentionJob("held_votes", release_held_votes)),
)
