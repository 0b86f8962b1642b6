"""Accounts, agents, keys and sessions, as the server mounts them."""

from ..domain import Domain
from .routes import routes

domain = Domain("auth", routes=routes)
