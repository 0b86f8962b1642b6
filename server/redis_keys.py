"""Every Redis key name this server uses, built in one place."""

from __future__ import annotations


class RedisKeys:
    """Key names under one prefix, so several arenas (or test runs) can share a Redis."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix

    def session(self, session_id: str) -> str:
        return f"{self.prefix}:session:{session_id}"

    def rate(self, bucket: str, subject: str) -> str:
        return f"{self.prefix}:rl:{bucket}:{subject}"

    def revoked(self, subject: str) -> str:
        """Set when a credential (``key:<id>``, ``session:<id>``, ...) is revoked."""
        return f"{self.prefix}:revoked:{subject}"

    def watchers(self, room: str) -> str:
        return f"{self.prefix}:watchers:{room}"

    def presence(self, room: str) -> str:
        """Per process, how many sockets of one agent (its ``agent:<id>`` room) it holds."""
        return f"{self.prefix}:presence:{room}"

    def host(self, host_id: str) -> str:
        return f"{self.prefix}:host:{host_id}"

    def board_version(self, task_id: str) -> str:
        """Bumped whenever an entry of the task changes: the key of every cached board changes too."""
        return f"{self.prefix}:bench:v:{task_id}"

    def board(self, task_id: str, version: int, query: str) -> str:
        """A task's leaderboard (or the overall one, task ``all``) for one query, at one version."""
        return f"{self.prefix}:bench:board:{task_id}:{version}:{query}"
