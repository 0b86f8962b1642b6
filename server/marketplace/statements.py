"""One statement text for several tables of the same shape: ``per_kind(text, {kind: {token: name}})``
puts each kind's table and column names in for the tokens. Only identifiers written in the store
modules go in; values are always parameters."""

from __future__ import annotations


def per_kind(text: str, names: dict[str, dict[str, str]]) -> dict[str, str]:
    out = {}
    for kind, tokens in names.items():
        statement = text
        for token, name in tokens.items():
            statement = statement.replace(token, name)
        out[kind] = statement
    return out
