"""`make run` end to end: a fresh var/ gets Postgres + Redis + migrations + demo data, serves the login page
and dashboard with a worker and beat alive, stops everything on Ctrl-C, and a second start keeps the data."""

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from http.cookiejar import CookieJar
from pathlib import Path
from urllib.parse import urlencode

import psutil
import pytest

from config import embedded

BASE_DIR = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_launcher(var_dir: Path, port: int, log: Path) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items()
           if k not in {"DATABASE_URL", "REDIS_URL", "XDG_RUNTIME_DIR", "DJANGO_SETTINGS_MODULE",
                        "CELERY_TASK_ALWAYS_EAGER", "SECRET_KEY", "DEBUG"}}
    env.update({"VAR_DIR": str(var_dir), "PORT": str(port), "WEB_CONCURRENCY": "1", "WORKER_CONCURRENCY": "1"})
    return subprocess.Popen([sys.executable, "-m", "config.launcher"], cwd=BASE_DIR, env=env,
                            stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True)


def wait_for(predicate, timeout: float, what: str, log: Path):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = predicate()
            if value:
                return value
        except OSError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}:\n{log.read_text()[-5000:]}")


def http_get(opener, url):
    with opener.open(url, timeout=10) as response:
        return response.status, response.read().decode()


def healthz(port):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as err:
        return json.loads(err.read())


def log_in(port: int, username: str, password: str) -> str:
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
    status, page = http_get(opener, f"http://127.0.0.1:{port}/accounts/login/")
    assert status == 200 and "Log in" in page
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    data = urlencode({"username": username, "password": password, "csrfmiddlewaretoken": token}).encode()
    request = urllib.request.Request(f"http://127.0.0.1:{port}/accounts/login/", data=data,
                                     headers={"Referer": f"http://127.0.0.1:{port}/accounts/login/"})
    with opener.open(request, timeout=10) as response:
        return response.read().decode()


def stop_and_check_nothing_left(proc: subprocess.Popen, log: Path, var_dir: Path) -> None:
    pids = [int(p) for p in re.findall(r"=(\d+)", re.search(r"Started (.*)", log.read_text()).group(1))]
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=60) == 0, log.read_text()[-3000:]
    time.sleep(0.5)
    alive = [pid for pid in pids if psutil.pid_exists(pid) and psutil.Process(pid).status() != "zombie"]
    assert alive == [], f"children still running: {alive}"
    assert not (var_dir / embedded.PGDATA_NAME / "postmaster.pid").exists(), "embedded Postgres still running"
    redis_pid = int((var_dir / "redis" / "server.pid").read_text())
    assert not psutil.pid_exists(redis_pid) or psutil.Process(redis_pid).status() == "zombie", \
        "embedded Redis still running"


def test_make_run_serves_with_worker_and_beat_then_stops_cleanly_and_keeps_data(tmp_path):
    var_dir = tmp_path / "var"
    port = free_port()
    log = tmp_path / "run1.log"
    proc = start_launcher(var_dir, port, log)
    try:
        wait_for(lambda: "Serving on" in log.read_text(), 180, "the launcher to serve", log)
        text = log.read_text()
        assert "First run: seeding demo data" in text
        assert "sales      / sales-demo-2026" in text  # demo logins printed (DEBUG is on for make run)
        wait_for(lambda: healthz(port)["status"] == "ok", 60, "/healthz", log)
        dashboard = log_in(port, "sales", "sales-demo-2026")
        assert "Sam Seller" in dashboard
        wait_for(lambda: healthz(port)["worker_and_beat"]["status"] == "ok", 90, "worker + beat heartbeat", log)
    finally:
        if proc.poll() is None:
            stop_and_check_nothing_left(proc, log, var_dir)

    log2 = tmp_path / "run2.log"
    proc = start_launcher(var_dir, port, log2)
    try:
        wait_for(lambda: "Serving on" in log2.read_text(), 120, "the second start", log2)
        assert "First run" not in log2.read_text()  # data kept: nothing re-seeded
        wait_for(lambda: healthz(port)["status"] == "ok", 60, "/healthz", log2)
        assert "Sam Seller" in log_in(port, "sales", "sales-demo-2026")
    finally:
        if proc.poll() is None:
            stop_and_check_nothing_left(proc, log2, var_dir)
