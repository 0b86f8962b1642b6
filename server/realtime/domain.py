"""What every kind of room shares (watching, the REST event feed), as the server mounts it."""

from ..domain import Domain
from .events import events
from .routes import routes

domain = Domain("rooms", routes=routes, events=events)
