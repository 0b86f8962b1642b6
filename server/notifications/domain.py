"""Notifications, as the server mounts them: REST routes and retention."""

from ..domain import Domain
from ..retention import RetentionJob
from .routes import routes
from .service import retain_notifications

domain = Domain("notifications", routes=routes,
                retention=(RetentionJob("notifications", retain_notifications),))
