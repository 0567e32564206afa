"""A real Celery worker process for tests, against the test database and the real Redis broker."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

from django.db import connection

BASE_DIR = Path(__file__).resolve().parents[1]


def worker_database_url() -> str:
    """A DATABASE_URL for the database pytest-django created (test_<name>), for child processes."""
    s = connection.settings_dict
    user = quote(s.get("USER") or "postgres")
    password = f":{quote(s['PASSWORD'])}" if s.get("PASSWORD") else ""
    host = s.get("HOST") or ""
    if host.startswith("/"):
        return f"postgresql://{user}{password}@/{s['NAME']}?host={host}"
    port = f":{s['PORT']}" if s.get("PORT") else ""
    return f"postgresql://{user}{password}@{host}{port}/{s['NAME']}"


def child_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"}  # set for Playwright only
    env.update({"DATABASE_URL": worker_database_url(), "DJANGO_SETTINGS_MODULE": "config.settings_test",
                "CELERY_TASK_ALWAYS_EAGER": "false", "PYTHONUNBUFFERED": "1"})
    env.update(extra)
    return env


class WorkerProcess:
    def __init__(self, *, concurrency: int = 2, queues: str = "default,ingest,segments", name: str = "w1",
                 env: dict[str, str] | None = None):
        self.env = env or {}
        self.log_path = BASE_DIR / "var" / "test-artifacts" / f"celery-{name}-{os.getpid()}.log"
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self.args = [sys.executable, "-m", "celery", "-A", "config", "worker", "--loglevel", "INFO",
                     "--queues", queues, "--concurrency", str(concurrency), "--hostname", f"{name}@%h",
                     "--without-gossip", "--without-mingle"]
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 60) -> WorkerProcess:
        log = open(self.log_path, "w")  # noqa: SIM115 - closed in stop()
        self._log = log
        self.proc = subprocess.Popen(self.args, cwd=BASE_DIR, env=child_env(**self.env), stdout=log,
                                     stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"celery worker exited early:\n{self.log_path.read_text()[-4000:]}")
            if " ready." in self.log_path.read_text():
                return self
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"celery worker did not become ready:\n{self.log_path.read_text()[-4000:]}")

    def stop(self, timeout: float = 20) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if getattr(self, "_log", None):
            self._log.close()

    def kill(self) -> None:
        """Kill the worker abruptly (SIGKILL), as a crash would."""
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def wait_until(predicate, *, timeout: float = 30, interval: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()
