"""The building blocks of simulations, as the server mounts them: REST routes only."""

from ..domain import Domain
from .routes import routes

domain = Domain("catalog", routes=routes)
