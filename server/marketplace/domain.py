"""The marketplace, as the server mounts it: REST routes and the retention job that ages trends."""

from ..domain import Domain
from ..retention import RetentionJob
from .retention import age_trends
from .routes import routes

domain = Domain("marketplace", routes=routes, retention=(RetentionJob("marketplace_trends", age_trends),))
