"""docs/protocol.md is what agents are written against: every route, socket event and error code
the server has must be in it."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from server.app import EVENT_TABLES, ROUTE_TABLES

ROOT = Path(__file__).resolve().parent.parent
PROTOCOL = (ROOT / "docs" / "protocol.md").read_text()


def _normal(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "{}", path)


def test_every_rest_route_is_documented() -> None:
    found = re.findall(r"`(GET|POST|PUT|PATCH|DELETE) (/(?:api|v1)/[^`?\s]*)", PROTOCOL)
    documented = {(m, _normal(p)) for m, p in found}
    missing = [f"{r.method} {r.path}" for t in ROUTE_TABLES for r in t.routes
               if (r.method, _normal(r.path)) not in documented]
    assert not missing, missing


def test_every_socket_event_is_documented() -> None:
    missing = sorted({s.event for t in EVENT_TABLES for s in t.specs if f"`{s.event}`" not in PROTOCOL})
    assert not missing, missing


def _codes_raised() -> set[str]:
    """Every code passed to AppError(...) anywhere in the server's source."""
    codes = set()
    for path in (ROOT / "server").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if (isinstance(node, ast.Call) and getattr(node.func, "id", None) == "AppError" and node.args
                    and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
                codes.add(node.args[0].value)
    return codes


def test_every_error_code_is_in_the_error_table() -> None:
    table = PROTOCOL.split("## Error codes", 1)[1]
    codes = _codes_raised()
    assert {"validation.failed", "service.unavailable", "battle.not_found", "event.unknown"} <= codes  # it looked
    missing = sorted(c for c in codes if f"`{c}`" not in table)
    assert not missing, missing
