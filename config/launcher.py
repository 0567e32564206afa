"""`make run`: start the embedded services if needed, migrate, seed once, then serve web + worker + beat.

Ctrl-C (or SIGTERM) stops the children in order and then the embedded services; nothing is left running.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from config import localenv

BASE_DIR = Path(__file__).resolve().parent.parent
STOP_TIMEOUT = 20


def _children_commands(port: str) -> dict[str, list[str]]:
    bin_dir = Path(sys.executable).parent
    return {
        "web": [str(bin_dir / "gunicorn"), "config.wsgi:application", "--bind", f"127.0.0.1:{port}",
                "--workers", os.environ.get("WEB_CONCURRENCY", "2"), "--access-logfile", "-"],
        "worker": [sys.executable, "-m", "celery", "-A", "config", "worker", "--loglevel", "INFO",
                   "--queues", "default,ingest,segments",
                   "--concurrency", os.environ.get("WORKER_CONCURRENCY", "2")],
        "beat": [sys.executable, "-m", "celery", "-A", "config", "beat", "--loglevel", "INFO",
                 "--schedule", str(Path(os.environ.get("VAR_DIR", BASE_DIR / "var")) / "celerybeat-schedule")],
    }


def _prepare() -> None:
    import django  # noqa: PLC0415
    from django.conf import settings  # noqa: PLC0415
    from django.core.management import call_command  # noqa: PLC0415

    django.setup()  # starts the embedded Postgres/Redis and exports their URLs to our children
    call_command("migrate", interactive=False, verbosity=0)
    if not settings.DEBUG:
        call_command("collectstatic", interactive=False, verbosity=0)
    from django.contrib.auth import get_user_model  # noqa: PLC0415

    if not get_user_model().objects.exists():
        print("First run: seeding demo data...", flush=True)
        call_command("seed_demo", verbosity=0)
    from crm.demo import DEMO_USERS  # noqa: PLC0415

    if settings.DEBUG:
        print("Demo logins (username / password):", flush=True)
        for spec in DEMO_USERS:
            print(f"  {spec['role_label']:<10} {spec['username']:<10} / {spec['password']}", flush=True)
    from django.db import connections  # noqa: PLC0415

    connections.close_all()


def _share_settings(*, running: bool) -> None:
    """Write var/local.env for manage.py commands in another terminal (config.localenv): the development
    settings, and while we run, the URLs of the Postgres and Redis we use."""
    keys = ["DEBUG", "SECRET_KEY"] + (list(localenv.RUNTIME_KEYS) if running else [])
    values = {key: os.environ[key] for key in keys if os.environ.get(key)}
    localenv.write(values, launcher_pid=os.getpid() if running else None)


def _stop(children: dict[str, subprocess.Popen]) -> None:
    for proc in children.values():
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT
    for proc in children.values():
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def main() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("DEBUG", "true")
    port = os.environ.get("PORT", "8000")
    _prepare()
    _share_settings(running=True)
    stopping = False

    def request_stop(signum, frame):  # noqa: ARG001
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    # Children get their own session so that Ctrl-C reaches only us and we stop them in order.
    children = {
        name: subprocess.Popen(cmd, cwd=BASE_DIR, start_new_session=True)
        for name, cmd in _children_commands(port).items()
    }
    pids = ", ".join(f"{name}={proc.pid}" for name, proc in children.items())
    print(f"Started {pids}", flush=True)
    print(f"Serving on http://127.0.0.1:{port}/ with a Celery worker and beat. Ctrl-C stops everything.",
          flush=True)
    exit_code = 0
    while not stopping:
        for name, proc in children.items():
            if proc.poll() is not None:
                print(f"{name} exited with status {proc.returncode}; stopping.", file=sys.stderr, flush=True)
                stopping, exit_code = True, 1
        time.sleep(0.5)
    print("Stopping web, worker and beat...", flush=True)
    _stop(children)
    _share_settings(running=False)
    print("Stopped.", flush=True)
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
