"""Start-up checks for ``arena serve`` and ``arena migrate``: ordinary mistakes become a plain message.

``preflight`` runs before anything is started (no embedded PostgreSQL, no migrations): it checks the
shape of DATABASE_URL / REDIS_URL and SECRET_KEY, binds the listening socket, checks the data
directory lock, and connects once to each given URL. Every failure is a ``StartupError`` whose text
names the setting to fix; the caller prints it and keeps the traceback for LOG_LEVEL=DEBUG.
"""

from __future__ import annotations

import asyncio
import errno
import re
import socket
import ssl
from pathlib import Path
from urllib.parse import SplitResult, parse_qs, unquote, urlsplit

import asyncpg
from pydantic import ValidationError

from . import embedded, logs, migrate
from .settings import Settings

# Long enough for a server across a slow network, short enough that a typo is reported at once.
PROBE_TIMEOUT = 3.0
DATABASE_EXAMPLE = "postgresql://user:password@host:5432/database"
REDIS_EXAMPLE = "redis://:password@host:6379/0 (rediss:// for TLS, unix:///path/to/redis.sock)"
_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


class StartupError(Exception):
    """A start-up failure the user can fix; ``str()`` is the plain message (without ``error: ``)."""


# --- secrets never leave in a message -----------------------------------------------------------


def mask_url(url: str) -> str:
    """``url`` with its password (userinfo or ``password=`` query parameter) replaced by ``***``.

    Works on malformed URLs too, since those are exactly the ones echoed back to the user."""
    head, sep, query = url.partition("?")
    scheme_end = head.find("://")
    start = scheme_end + 3 if scheme_end >= 0 else 0
    at = head.rfind("@")  # the last "@": an unescaped "@" in a password must not leak its tail
    if at >= start:
        user, colon, _ = head[start:at].partition(":")
        if colon:
            head = f"{head[:start]}{user}:***{head[at:]}"
    query = re.sub(r"(?i)((?:^|&)password=)[^&]*", r"\1***", query)
    return head + sep + query


def _scrub(text: str, url: str) -> str:
    """``text`` (e.g. a driver's exception message) with any password from ``url`` masked."""
    secrets: set[str] = set()
    try:
        parts = urlsplit(url)
        if parts.password:
            secrets |= {parts.password, unquote(parts.password)}
        secrets |= set(parse_qs(parts.query).get("password", []))
    except ValueError:
        pass
    for secret in sorted(secrets, key=len, reverse=True):
        if secret:
            text = text.replace(secret, "***")
    return text


# --- URL shapes -----------------------------------------------------------------------------------


def _host_port(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _split(url: str, var: str, schemes: tuple[str, ...], example: str) -> SplitResult:
    """Parse ``url`` and check its scheme; a malformed one raises StartupError naming ``var``."""
    wanted = " or ".join(f"{s}://" for s in schemes)
    got = f"(got {mask_url(url)!r})"
    try:
        parts = urlsplit(url.strip())
    except ValueError as exc:
        raise StartupError(f"{var} is not a valid URL: {exc} {got}; expected {example}") from None
    if parts.scheme.lower() not in schemes:
        raise StartupError(f"{var} must start with {wanted} {got}; expected {example}")
    return parts


def _endpoints(parts: SplitResult, default_port: int, var: str, example: str) -> list[str]:
    """``host:port`` for each host of the URL (libpq URLs may list several, comma-separated)."""
    hostinfo = parts.netloc.rpartition("@")[2]
    found = []
    for item in filter(None, hostinfo.split(",")):
        try:
            one = urlsplit(f"//{item}")
            host, port = one.hostname, one.port
        except ValueError:
            raise StartupError(
                f"{var} has an invalid host or port {item!r} (got {mask_url(parts.geturl())!r}); expected {example}"
            ) from None
        if host:
            found.append(_host_port(host, port or default_port))
    return found


def check_database_url(url: str) -> str:
    """Check DATABASE_URL's shape; return where it points (``host:port``) for later messages."""
    parts = _split(url, "DATABASE_URL", ("postgresql", "postgres"), DATABASE_EXAMPLE)
    where = _endpoints(parts, 5432, "DATABASE_URL", DATABASE_EXAMPLE)
    if not where:
        # libpq also takes the host as a query parameter (a socket directory, or a name).
        query_hosts = parse_qs(parts.query).get("host", [])
        if not query_hosts:
            raise StartupError(
                f"DATABASE_URL has no host (got {mask_url(url)!r}); expected {DATABASE_EXAMPLE}"
            )
        return ", ".join(query_hosts)
    return ", ".join(where)


def check_redis_url(url: str) -> str:
    """Check REDIS_URL's shape; return where it points (``host:port`` or the socket path)."""
    parts = _split(url, "REDIS_URL", ("redis", "rediss", "unix"), REDIS_EXAMPLE)
    if parts.scheme.lower() == "unix":
        if not parts.path:
            raise StartupError(f"REDIS_URL has no socket path (got {mask_url(url)!r}); expected {REDIS_EXAMPLE}")
        return f"unix socket {parts.path}"
    where = _endpoints(parts, 6379, "REDIS_URL", REDIS_EXAMPLE)
    if len(where) != 1:
        raise StartupError(f"REDIS_URL needs exactly one host (got {mask_url(url)!r}); expected {REDIS_EXAMPLE}")
    return where[0]


# --- settings -----------------------------------------------------------------------------------


def settings_errors(exc: ValidationError) -> list[str]:
    """One plain line per bad setting, naming its environment variable."""
    lines = []
    for err in exc.errors():
        name = str(err["loc"][0]).upper() if err["loc"] else "settings"
        value = err.get("input")
        shown = "" if isinstance(value, dict) else f"={value!r}"
        if name.endswith(("_URL", "SECRET_KEY")) and isinstance(value, str):
            shown = f"={mask_url(value)!r}" if name.endswith("_URL") else "=***"
        lines.append(f"{name}{shown} is not valid: {_expected(err)}.")
    return lines


def _expected(err: dict) -> str:
    kind = err.get("type", "")
    if kind in ("int_parsing", "int_from_float", "int_type"):
        return "expected a whole number"
    if kind in ("float_parsing", "float_type"):
        return "expected a number"
    if kind in ("bool_parsing", "bool_type"):
        return "expected true or false"
    pattern = (err.get("ctx") or {}).get("pattern", "")
    choices = re.fullmatch(r"\^\(([\w|]+)\)\$", pattern)
    if choices:
        return "expected " + " or ".join(choices.group(1).split("|"))
    return str(err.get("msg", "invalid value")).lower()


def configure_logging(settings: Settings) -> None:
    """``logs.configure`` with LOG_LEVEL checked first (``logging`` would raise a bare ValueError)."""
    if settings.log_level.upper() not in _LOG_LEVELS:
        raise StartupError(f"LOG_LEVEL={settings.log_level!r} is not valid: expected one of {', '.join(_LOG_LEVELS)}.")
    logs.configure(settings.log_format, settings.log_level)


def check_secret_key(settings: Settings) -> None:
    """SECRET_KEY is generated only in embedded mode; with both URLs given it must be set."""
    if not settings.embedded and not settings.secret_key:
        raise StartupError(
            "SECRET_KEY is not set; it is required when DATABASE_URL and REDIS_URL are both given. "
            "Set it to the same long random string in every process, e.g. "
            "python -c 'import secrets; print(secrets.token_urlsafe(48))'"
        )


# --- the listening socket -----------------------------------------------------------------------


def bind(host: str, port: int, backlog: int = 128) -> list[socket.socket]:
    """Listening sockets on every address ``host`` resolves to, as aiohttp would open them.

    Bound and listening before anything else starts, then handed to ``web.run_app(sock=...)``, so a
    port in use is reported at once and nobody can take the port in between."""
    if not 0 <= port <= 65535:
        raise StartupError(f"--port / PORT must be between 0 and 65535 (got {port}).")
    try:
        infos = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise StartupError(
            f"cannot listen on {host!r} (--host / HOST): {exc.strerror}. "
            "Use an address of this machine, e.g. 127.0.0.1 or 0.0.0.0."
        ) from exc
    infos = list(dict.fromkeys(infos))  # getaddrinfo may repeat an address
    socks: list[socket.socket] = []
    try:
        for family, kind, proto, _, addr in infos:
            try:
                sock = socket.socket(family, kind, proto)
            except OSError:  # a family this machine lacks (like asyncio, skip it)
                continue
            socks.append(sock)
            # Same options as asyncio's create_server: restart right after a stop (TIME_WAIT), and
            # keep "::" from also claiming the IPv4 port.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            try:
                sock.bind(addr)
            except OSError as exc:
                if exc.errno == errno.EADDRNOTAVAIL and len(infos) > 1:  # e.g. IPv6 disabled: skip it
                    socks.pop().close()
                    continue
                raise
            sock.listen(backlog)
            sock.setblocking(False)
        if not socks:
            raise OSError(errno.EADDRNOTAVAIL, "no usable address")
    except OSError as exc:
        for sock in socks:
            sock.close()
        raise StartupError(_listen_error(exc, host, port)) from exc
    return socks


def _listen_error(exc: OSError, host: str, port: int) -> str:
    where = f"cannot listen on {_host_port(host, port)}"
    if exc.errno == errno.EADDRINUSE:
        return (f"{where} (--host / HOST, --port / PORT): the port is already in use. "
                "Stop the process using it or choose another --port / PORT.")
    if exc.errno == errno.EACCES:
        return f"{where} (--port / PORT): permission denied (ports below 1024 need root); choose another --port / PORT."
    if exc.errno == errno.EADDRNOTAVAIL:
        return (f"{where} (--host / HOST): {host} is not an address of this machine. "
                "Use 127.0.0.1, 0.0.0.0 or one of its addresses.")
    return f"{where} (--host / HOST, --port / PORT): {exc.strerror or exc}."


# --- the data directory -------------------------------------------------------------------------


def check_data_dir(data_dir: Path) -> None:
    """Fail if another server holds the data directory (the app takes the lock for real later)."""
    lock = embedded.DataDirLock(data_dir)
    try:
        lock.acquire()
    except embedded.EmbeddedError as exc:
        try:
            owner = lock.path.read_text().strip() or "another process"
        except OSError:
            owner = "another process"
        raise StartupError(
            f"data directory {data_dir} (--data-dir / DATA_DIR) is in use by pid {owner}. Stop that server, "
            "choose another --data-dir / DATA_DIR, or set DATABASE_URL and REDIS_URL to shared servers."
        ) from exc
    except OSError as exc:
        raise StartupError(
            f"cannot use data directory {data_dir} (--data-dir / DATA_DIR): {exc.strerror or exc}. "
            "Choose a writable --data-dir / DATA_DIR."
        ) from exc
    lock.release()


# --- one connection to each given service -------------------------------------------------------


def _os_reason(exc: BaseException, timeout: float) -> str | None:
    """A few words for a network failure found in ``exc`` or what it wraps; None if there is none."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, TimeoutError):  # also asyncio's
            return f"no answer within {timeout:g} s"
        if isinstance(seen, socket.gaierror):
            return f"host name not found ({seen.strerror})"
        if isinstance(seen, ssl.SSLError):
            return f"TLS failed ({seen.reason or seen})"
        if isinstance(seen, OSError):
            # asyncio reports every address it tried as one OSError without errno ("Multiple exceptions").
            codes = {seen.errno} if seen.errno else {int(n) for n in re.findall(r"\[Errno (\d+)\]", str(seen))}
            if codes == {errno.ECONNREFUSED}:
                return "connection refused"
            if codes & {errno.EHOSTUNREACH, errno.ENETUNREACH}:
                return "no route to host"
            if codes == {errno.ENOENT}:
                return "no such socket file"
            return seen.strerror or str(seen)
        seen = seen.__cause__ or seen.__context__
    return None


def _has_password(url: str) -> bool:
    try:
        parts = urlsplit(url)
        return bool(parts.password) or "password" in parse_qs(parts.query)
    except ValueError:
        return False


def _unreachable(service: str, where: str, var: str, reason: str) -> str:
    hint = f"Check the host name in {var}." if reason.startswith("host name") else f"Is it running? Check {var}."
    return f"cannot reach {service} at {where} ({var}): {reason}. {hint}"


def database_error(exc: BaseException, url: str, where: str, timeout: float = PROBE_TIMEOUT) -> str:
    """A plain message for an exception from connecting to DATABASE_URL."""
    msg = _scrub(str(exc), url).rstrip(".")
    at = f"PostgreSQL at {where} (DATABASE_URL)"
    if isinstance(exc, asyncpg.InvalidPasswordError | asyncpg.InvalidAuthorizationSpecificationError):
        return f"{at} refused the login: {msg}. Check the user name and password in DATABASE_URL."
    if isinstance(exc, asyncpg.InvalidCatalogNameError):
        return f"{at}: {msg}. Create it (createdb) or fix the database name in DATABASE_URL."
    if isinstance(exc, asyncpg.CannotConnectNowError | asyncpg.TooManyConnectionsError):
        return f"{at} cannot take a connection now: {msg}."
    if isinstance(exc, asyncpg.PostgresError):
        return f"{at} refused the connection: {msg}. Check DATABASE_URL."
    reason = _os_reason(exc, timeout)
    if reason is not None:
        return _unreachable("PostgreSQL", where, "DATABASE_URL", reason)
    if isinstance(exc, ValueError):  # asyncpg's DSN parser (e.g. an unknown sslmode)
        return f"DATABASE_URL is not valid: {msg}."
    return f"cannot connect to {at}: {type(exc).__name__}: {msg}. Is that PostgreSQL? Check DATABASE_URL."


def redis_error(exc: BaseException, url: str, where: str, timeout: float = PROBE_TIMEOUT) -> str:
    """A plain message for an exception from connecting to REDIS_URL."""
    import redis.exceptions as rex

    msg = _scrub(str(exc), url).rstrip(".")
    at = f"Redis at {where} (REDIS_URL)"
    if isinstance(exc, rex.AuthenticationError | rex.AuthenticationWrongNumberOfArgsError | rex.NoPermissionError):
        if not _has_password(url):  # the server's own words ("HELLO must be called ...") do not say so
            return f"{at} requires a password: put it in REDIS_URL, e.g. {REDIS_EXAMPLE.split()[0]}"
        return f"{at} refused the login: {msg}. Check the password (and user) in REDIS_URL."
    if isinstance(exc, rex.TimeoutError):
        return _unreachable("Redis", where, "REDIS_URL", f"no answer within {timeout:g} s")
    if isinstance(exc, rex.ResponseError):
        return f"{at} answered with an error: {msg}. Check REDIS_URL."
    reason = _os_reason(exc, timeout)
    if reason is not None:
        return _unreachable("Redis", where, "REDIS_URL", reason)
    if isinstance(exc, ValueError):  # redis-py's URL parser
        return f"REDIS_URL is not valid: {msg}."
    return f"cannot connect to {at}: {type(exc).__name__}: {msg}. Is that Redis? Check REDIS_URL."


async def probe_database(url: str, timeout: float = PROBE_TIMEOUT) -> None:
    """Open and close one connection to DATABASE_URL; StartupError says why it failed."""
    where = check_database_url(url)
    try:
        # asyncpg's own timeout covers the whole handshake; wait_for is the backstop.
        conn = await asyncio.wait_for(asyncpg.connect(url, timeout=timeout), timeout + 1)
    except Exception as exc:
        raise StartupError(database_error(exc, url, where, timeout)) from exc
    await conn.close()


async def probe_redis(url: str, timeout: float = PROBE_TIMEOUT) -> None:
    """PING REDIS_URL once over a fresh connection; StartupError says why it failed."""
    import redis.asyncio as aioredis
    from redis.asyncio.retry import Retry
    from redis.backoff import NoBackoff

    where = check_redis_url(url)
    # No retries: the default policy backs off for seconds before admitting the server is not there.
    client = aioredis.Redis.from_url(
        url, socket_connect_timeout=timeout, socket_timeout=timeout, retry=Retry(NoBackoff(), 0)
    )
    try:
        await asyncio.wait_for(client.ping(), timeout + 1)
    except Exception as exc:
        raise StartupError(redis_error(exc, url, where, timeout)) from exc
    finally:
        await client.aclose()


async def _probe(settings: Settings, timeout: float) -> None:
    probes = []
    if settings.database_url:
        probes.append(probe_database(settings.database_url, timeout))
    if settings.redis_url:
        probes.append(probe_redis(settings.redis_url, timeout))
    # Together, so two unreachable services cost one timeout; DATABASE_URL is reported first.
    for result in await asyncio.gather(*probes, return_exceptions=True):
        if isinstance(result, BaseException):
            raise result


# --- all of it, in order ------------------------------------------------------------------------


def preflight(settings: Settings, timeout: float = PROBE_TIMEOUT) -> list[socket.socket]:
    """Check everything that can be checked before starting; return the bound listening sockets.

    Order: what needs no I/O (URL shapes, SECRET_KEY), then the port, then the data directory, then
    one connection to each given URL. Nothing is started; on failure the sockets are closed."""
    if settings.database_url:
        check_database_url(settings.database_url)
    if settings.redis_url:
        check_redis_url(settings.redis_url)
    check_secret_key(settings)
    socks = bind(settings.host, settings.port)
    try:
        if settings.embedded:
            check_data_dir(settings.data_dir)
        asyncio.run(_probe(settings, timeout))
    except BaseException:
        for sock in socks:
            sock.close()
        raise
    return socks


def explain(exc: BaseException, settings: Settings, doing: str = "start-up") -> list[str]:
    """One or two plain lines for an exception that escaped start-up (or ``doing``) after preflight."""
    if isinstance(exc, StartupError | migrate.MigrationError):
        return [str(exc)]
    if isinstance(exc, embedded.EmbeddedError):
        first, _, rest = str(exc).partition("\n")
        if not rest.strip():
            return [first]
        # The rest is the service's own output (initdb, a log tail): too long for here, and the
        # DEBUG traceback carries the whole message.
        return [first.rstrip(":"), f"run with LOG_LEVEL=DEBUG to see its output; the embedded services log to "
                                   f"postgres.log and redis.log in {settings.data_dir}"]
    # Given URLs passed preflight, so they parse; the embedded services have no URL worth naming.
    if isinstance(exc, asyncpg.PostgresError | asyncpg.InterfaceError) and settings.database_url:
        url = settings.database_url
        return [database_error(exc, url, check_database_url(url))]
    if type(exc).__module__.startswith("redis") and settings.redis_url:
        url = settings.redis_url
        return [redis_error(exc, url, check_redis_url(url))]
    return [f"{doing} failed: {type(exc).__name__}: {exc}; run with LOG_LEVEL=DEBUG for the traceback"]
