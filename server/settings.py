"""Settings read from the environment (see the README for every variable)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Everything the server can be told. Each field is the upper-case environment variable."""

    model_config = SettingsConfigDict(env_prefix="", case_sensitive=False, extra="ignore")

    host: str = "127.0.0.1"
    port: int = 8080
    # Empty means: start the embedded service under data_dir.
    database_url: str = ""
    redis_url: str = ""
    data_dir: Path = Path(".arena")
    # Empty means: in embedded mode, generate one and keep it in data_dir; otherwise refuse to start.
    secret_key: str = ""

    log_format: str = Field("text", pattern="^(text|json)$")
    log_level: str = "INFO"

    db_pool_min: int = 1
    db_pool_max: int = 10
    # Name of the Redis pub/sub channel python-socketio uses to fan events out between processes.
    socketio_channel: str = "arena-socketio"
    # Prefix for every Redis key this server writes (lets several arenas share one Redis).
    redis_prefix: str = "arena"

    session_ttl_seconds: int = 7 * 24 * 3600
    cookie_secure: bool = False

    socket_max_message_bytes: int = 64 * 1024
    rest_max_body_bytes: int = 1024 * 1024
    # permessage-deflate on Socket.IO websockets (off: ~4x less memory per connection; see transport.py).
    ws_compression: bool = False
    # Comma-separated origins allowed to open a Socket.IO connection from a browser; "*" for any.
    cors_origins: str = "*"

    # Rate limits: "<count>/<seconds>".
    rate_login: str = "10/60"
    rate_register: str = "20/3600"
    rate_socket_event: str = "50/1"
    rate_rest_write: str = "60/10"

    # How often each process sweeps due deadlines, in seconds.
    sweep_interval: float = 1.0
    # Battles: the countdown between a full lobby and the first turn; how long an idle lobby lives;
    # how long a disconnected participant keeps its seat.
    battle_start_delay_ms: int = 3000
    battle_lobby_timeout_seconds: float = 600
    battle_grace_seconds: float = 60

    # How often each process proves its Redis pub/sub listener still delivers (and restarts it if not).
    pubsub_watchdog_seconds: float = 5.0
    migrate_on_start: bool = True
    # Also run the example agents (two battle bots, a commentator, a judge) against this server.
    demo: bool = False

    @property
    def embedded(self) -> bool:
        """True when at least one of PostgreSQL or Redis is started by us."""
        return not self.database_url or not self.redis_url

    def cors_allowed(self) -> str | list[str]:
        """The value python-socketio expects for cors_allowed_origins."""
        if self.cors_origins.strip() == "*":
            return "*"
        return [o.strip() for o in self.cors_origins.split(",") if o.strip()]
