"""Pagination: the one query shape every list takes."""

from __future__ import annotations

from pydantic import Field

from .inputs import Offset
from .wire import Inbound


class Page(Inbound):
    """``limit`` items after skipping ``offset``."""

    limit: int = Field(50, ge=1, le=200)
    offset: Offset = 0
