"""The local development settings that `make run` shares with commands typed in a second terminal.

The launcher (config/launcher.py) writes ``var/local.env``: DEBUG on, and, while it runs, the URLs of the
embedded Postgres and Redis it started. ``manage.py`` reads the file, so ``.venv/bin/python manage.py ...`` beside
a running ``make run`` uses the same database, Redis and settings. Variables already set in the environment win,
and the URLs are ignored once the launcher that wrote them is gone (the command then starts the embedded services
itself, as ``make run`` would). The file is under ``var/``, which git and the Docker build ignore.
"""

from __future__ import annotations

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
FILE_NAME = "local.env"
# Only while the launcher that wrote them runs.
RUNTIME_KEYS = ("DATABASE_URL", "REDIS_URL")


def path() -> Path:
    return Path(os.environ.get("VAR_DIR", BASE_DIR / "var")) / FILE_NAME


def write(values: dict[str, str], *, launcher_pid: int | None = None) -> Path:
    """Write ``values`` (and the launcher's pid, when given) to var/local.env."""
    target = path()
    target.parent.mkdir(parents=True, exist_ok=True)
    lines = ["# Written by `make run` (config/launcher.py) for manage.py commands in another terminal."]
    if launcher_pid is not None:
        lines.append(f"LAUNCHER_PID={launcher_pid}")
    lines += [f"{key}={value}" for key, value in values.items()]
    tmp = target.with_suffix(".tmp")
    tmp.write_text("\n".join(lines) + "\n")
    tmp.chmod(0o600)
    tmp.replace(target)
    return target


def read() -> dict[str, str]:
    """The file's values (empty when there is none)."""
    try:
        text = path().read_text()
    except (FileNotFoundError, NotADirectoryError):
        return {}
    values = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep and key.strip() and not key.lstrip().startswith("#"):
            values[key.strip()] = value.strip()
    return values


def _alive(pid: str | None) -> bool:
    try:
        number = int(pid or 0)
    except ValueError:
        return False
    if number <= 0:  # kill(0) would signal our own process group
        return False
    try:
        os.kill(number, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def load() -> None:
    """Put var/local.env's settings into ``os.environ`` where they are not set already."""
    values = read()
    running = _alive(values.pop("LAUNCHER_PID", None))
    for key, value in values.items():
        if key in RUNTIME_KEYS and not running:
            continue
        os.environ.setdefault(key, value)
