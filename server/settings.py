"""Settings read from the environment (see the README for every variable)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import Field, StringConstraints
from pydantic_settings import BaseSettings, SettingsConfigDict

# "<count>/<seconds>", both whole and positive.
RateSpec = Annotated[str, StringConstraints(pattern=r"^[1-9][0-9]*/[1-9][0-9]*$")]


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
    # Redis: a blocking pool of this many connections per process. A call waits at most
    # redis_pool_timeout for a free connection and redis_timeout for an answer; past either it is
    # answered service.unavailable (503) rather than queued for seconds or let through.
    redis_pool_size: int = Field(64, ge=2)
    # Publishing room events to the other processes has a pool of its own (plus one connection
    # that listens), so a burst of requests cannot starve fan-out.
    redis_fanout_pool_size: int = Field(8, ge=1)
    redis_pool_timeout: float = Field(0.5, gt=0)
    redis_timeout: float = Field(0.5, gt=0)
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
    # Comma-separated origins, besides the server's own, whose pages may open a socket that is
    # authenticated by the session cookie; "*" for any. Token, API-key and anonymous sockets are
    # accepted from any origin (they carry no ambient credential).
    cors_origins: str = ""

    # Rate limits: "<count>/<seconds>".
    rate_login: RateSpec = "10/60"
    rate_register: RateSpec = "20/3600"
    # Trading an API key for a session token (per address and per key).
    rate_key_exchange: RateSpec = "30/60"
    # Socket events per agent or user, or per connection for an anonymous spectator.
    rate_socket_event: RateSpec = "50/1"
    # All anonymous spectators behind one address together (a NAT or proxy may hide thousands).
    rate_spectator_address: RateSpec = "5000/10"
    rate_rest_write: RateSpec = "60/10"

    # How often each process sweeps due deadlines, in seconds.
    sweep_interval: float = 1.0
    # Battles: the countdown between a full lobby and the first turn; how long an idle lobby lives;
    # how long a disconnected participant keeps its seat.
    battle_start_delay_ms: int = 3000
    battle_lobby_timeout_seconds: float = 600
    battle_grace_seconds: float = 60

    # How often each process proves its Redis pub/sub listener still delivers (and restarts it if
    # not) and rewrites its spectator counts.
    pubsub_watchdog_seconds: float = 5.0
    # How often each process re-checks the credentials of every socket it holds against PostgreSQL
    # (a backstop: revocations are pushed to every process at once).
    revalidate_seconds: float = Field(30.0, gt=0)
    # Retention: every process runs a round this often (one at a time across processes), and these
    # are kept this long.
    retention_interval_seconds: float = Field(3600.0, gt=0)
    retain_revoked_sessions_days: int = Field(7, ge=0)
    retain_execution_logs_days: int = Field(30, ge=0)
    retain_completed_executions_days: int = Field(90, ge=0)
    retain_failed_executions_days: int = Field(30, ge=0)
    retain_ended_simulations_days: int = Field(90, ge=0)
    retain_failed_entries_days: int = Field(30, ge=0)
    retain_audit_logs_days: int = Field(365, ge=0)
    retain_read_notifications_days: int = Field(30, ge=0)
    retain_notifications_days: int = Field(180, ge=0)
    # Rooms of high-volume kinds (executions): the live events a watcher may have waiting to be
    # written before it is told to resync and dropped from live delivery.
    watcher_queue: int = Field(16, ge=1)
    # Fan-out (realtime/fanout.py): write each room event's frame once to every local websocket
    # (off: every packet goes through its socket's queue and writer task). A socket with more than
    # ws_write_buffer_bytes unsent, or socket_queue_limit packets queued, is a slow watcher.
    fanout_fast_path: bool = True
    ws_write_buffer_bytes: int = Field(1024 * 1024, ge=1024)
    socket_queue_limit: int = Field(1000, ge=1)
    # Room channels on Redis >= 7: SSUBSCRIBE/SPUBLISH (sharded pub/sub) instead of plain channels.
    redis_sharded_pubsub: bool = False
    # Executions: how long an executor has to acknowledge a cancel before it is cancelled anyway;
    # the largest artifact or input file an upload may carry; a log batch's largest socket message.
    execution_cancel_grace_seconds: float = Field(10.0, ge=0)
    execution_file_max_bytes: int = Field(10 * 1024 * 1024, ge=1)
    execution_log_max_message_bytes: int = Field(1024 * 1024, ge=1024)
    # Scenarios from a PDF: the largest upload, the most pages read, and the most text kept.
    scenario_pdf_max_bytes: int = Field(10 * 1024 * 1024, ge=1024)
    scenario_pdf_max_pages: int = Field(200, ge=1)
    scenario_text_max_chars: int = Field(500_000, ge=1000)
    # Benchmarks: the largest run-record upload; entries per submitter per task per rolling day; how
    # long a worker holds an entry it evaluates (a crashed worker's entry is retried after it), how
    # many attempts before the entry fails; how long the task's judge has; how old an account must
    # be before its votes count (younger ones are held); the k of the leaderboards' fragility flag.
    benchmark_file_max_bytes: int = Field(5 * 1024 * 1024, ge=1024)
    benchmark_daily_entries: int = Field(5, ge=1)
    benchmark_lease_seconds: float = Field(60.0, gt=0)
    benchmark_max_attempts: int = Field(3, ge=1)
    benchmark_judge_seconds: float = Field(60.0, gt=0)
    benchmark_vote_min_account_hours: float = Field(24.0, ge=0)
    benchmark_stability_k: int = Field(2, ge=1, le=10)
    rate_benchmark_vote: RateSpec = "60/3600"
    rate_benchmark_comment: RateSpec = "30/600"
    # The garbage collector of a served process: its first generation is collected after this many
    # new container objects (Python's default is 700), and what start-up built is frozen out of
    # every collection. A 500-line log batch makes some 3,000 objects; at 700, the collector ran
    # several times per batch and scanned the whole heap often (decoding and validating a batch
    # took twice as long). 0 keeps Python's defaults.
    gc_gen0_threshold: int = Field(50_000, ge=0)
    # Operations: how long an agent has to acknowledge a pushed config before its deployment fails;
    # how often each process writes the API usage it buffered (one COPY per flush), and how many rows
    # it may hold before a flush is made at once; how long metrics and usage rows are kept.
    deploy_ack_seconds: float = Field(30.0, gt=0)
    usage_accounting: bool = True
    workflow_min_interval_seconds: float = Field(60.0, gt=0)
    usage_flush_seconds: float = Field(1.0, gt=0)
    usage_buffer_rows: int = Field(20_000, ge=100)
    retain_metrics_days: int = Field(90, ge=0)
    retain_usage_days: int = Field(90, ge=0)
    # Spoken turns (battles with enable_tts). Speech is made by eSpeak NG from its wheel, offline,
    # unless TTS_URL names an OpenAI-compatible API (".../v1": POST {TTS_URL}/audio/speech with
    # TTS_MODEL and TTS_VOICE, TTS_API_KEY as the bearer token). TTS_WORKERS syntheses run at once per
    # process, each for at most TTS_TIMEOUT_SECONDS, of at most TTS_MAX_CHARS of the turn's text. An
    # agent's own audio may be TTS_AUDIO_MAX_BYTES and TTS_AUDIO_MAX_SECONDS long at most. Audio
    # files go after TTS_RETAIN_HOURS (the turns keep their text).
    tts_url: str = ""
    tts_model: str = "tts-1"
    tts_voice: str = "alloy"
    tts_api_key: str = ""
    tts_espeak_voice: str = "en"
    tts_workers: int = Field(2, ge=1, le=32)
    tts_timeout_seconds: float = Field(60.0, gt=0)
    tts_max_chars: int = Field(3000, ge=1)
    tts_audio_max_bytes: int = Field(4 * 1024 * 1024, ge=1024)
    tts_audio_max_seconds: float = Field(120.0, gt=0)
    tts_retain_hours: float = Field(24.0, gt=0)
    # Matchmaking (battle:queue): agents are matched when their ratings are within a window of
    # MATCH_WINDOW_BASE points, widened by MATCH_WINDOW_GROWTH points per second the longest waiter
    # has waited; two agents whose last battle was against each other are matched again only after
    # both waited MATCH_REMATCH_AFTER_SECONDS; a free-for-all starts with three when the oldest has
    # waited MATCH_FFA_FILL_SECONDS (four otherwise); an agent waits MATCH_MAX_WAIT_SECONDS unless it
    # asks for another wait.
    match_window_base: float = Field(100.0, ge=0)
    match_window_growth: float = Field(10.0, ge=0)
    match_rematch_after_seconds: float = Field(30.0, ge=0)
    match_ffa_fill_seconds: float = Field(20.0, ge=0)
    match_max_wait_seconds: float = Field(300.0, gt=0)
    migrate_on_start: bool = True
    # Also run the example agents (two battle bots, a commentator, a judge) against this server.
    demo: bool = False

    @property
    def embedded(self) -> bool:
        """True when at least one of PostgreSQL or Redis is started by us."""
        return not self.database_url or not self.redis_url

    def cookie_origins(self) -> list[str] | None:
        """Extra origins allowed to use the session cookie on sockets; None means any origin."""
        if self.cors_origins.strip() == "*":
            return None
        return [o.strip().rstrip("/") for o in self.cors_origins.split(",") if o.strip()]
