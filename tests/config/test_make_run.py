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
                        "CELERY_TASK_ALWAYS_EAGER", "SECRET_KEY", "DEBUG",
                        "DJANGO_ALLOW_ASYNC_UNSAFE"}}  # set in this process for Playwright only
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


# Commands the README shows, as it writes them. Each one found there must be one this test knows how to run.
README = BASE_DIR / "README.md"
README_SNIPPET = re.compile(r"`([^`\n]+)`|^    (\S.*)$", re.MULTILINE)  # inline code, indented code lines
KNOWN_COMMANDS = {"createsource", "createreadtoken", "backfill_events", "seed_demo", "check", "curl", "axes_reset",
                  "reports_rollups_rebuild"}


def readme_commands() -> dict[str, str]:
    """name → the README's command, for every manage.py and curl command it shows (continued lines joined)."""
    text = re.sub(r"\\\n\s*", " ", README.read_text())
    found = {}
    for match in README_SNIPPET.finditer(text):
        command = (match.group(1) or match.group(2)).strip()
        if command.startswith("curl "):
            found.setdefault("curl", command)
        elif "manage.py " in command and not command.endswith("..."):
            found.setdefault(command.split("manage.py ")[1].split()[0], command)
    return found


def second_terminal(command: str, var_dir: Path) -> str:
    """Run ``command`` in a shell from the checkout, as a person would type it in a second terminal (only VAR_DIR
    is set: the test's make run keeps its data in a temporary folder)."""
    env = {k: v for k, v in os.environ.items()
           if k not in {"DATABASE_URL", "REDIS_URL", "XDG_RUNTIME_DIR", "DJANGO_SETTINGS_MODULE",
                        "CELERY_TASK_ALWAYS_EAGER", "SECRET_KEY", "DEBUG",
                        "DJANGO_ALLOW_ASYNC_UNSAFE"}}  # set in this process for Playwright only
    env["VAR_DIR"] = str(var_dir)
    result = subprocess.run(["bash", "-c", command], cwd=BASE_DIR, env=env, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, f"{command}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result.stdout


def check_readme_commands(port: int, var_dir: Path, tmp_path: Path) -> None:
    """Beside the running make run, every README command works as written, on the same database and Redis:
    the event curl sends is resolved by make run's worker into a profile that the read token finds."""
    commands = readme_commands()
    assert set(commands) == KNOWN_COMMANDS, "a README command this test does not run (or one it lost)"
    server = f"http://127.0.0.1:{port}"

    def run(name: str, **placeholders: str) -> str:
        command = commands[name]
        for placeholder, value in placeholders.items():
            command = command.replace(placeholder, value)
        return second_terminal(command, var_dir)

    write_key = run("createsource", NAME="readme-source").strip().splitlines()[-1]
    token = run("createreadtoken", NAME="readme-token").strip().splitlines()[-1]
    sent = json.loads(run("curl", WRITE_KEY=write_key, **{"https://your-server": server}))
    assert sent == {"success": True}

    def traits():
        request = urllib.request.Request(f"{server}/v1/profiles/user_id:42/traits",
                                         headers={"Authorization": f"Bearer {token}"})
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError:
            return None

    wait_for(traits, 60, "the worker to resolve the curl event", tmp_path / "run1.log")
    csv = tmp_path / "events.csv"
    csv.write_text("userId,event,timestamp\n"
                   "42,Viewed Pricing,2026-11-01T10:00:00Z\n43,Signed Up,2026-11-02T10:00:00Z\n")
    assert "2" in run("backfill_events", FILE=str(csv), NAME="readme-source")
    run("seed_demo")
    run("axes_reset")
    run("reports_rollups_rebuild", N="2")
    assert "no issues" in run("check")


def stop_and_check_nothing_left(proc: subprocess.Popen, log: Path, var_dir: Path) -> None:
    pids = [int(p) for p in re.findall(r"=(\d+)", re.search(r"Started (.*)", log.read_text()).group(1))]
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=60) == 0, log.read_text()[-3000:]
    time.sleep(0.5)
    alive = [pid for pid in pids if psutil.pid_exists(pid) and psutil.Process(pid).status() != "zombie"]
    assert alive == [], f"children still running: {alive}"
    # Postgres removes its pid file at the end of its shutdown checkpoint: give a loaded machine a moment.
    pid_file = var_dir / embedded.PGDATA_NAME / "postmaster.pid"
    deadline = time.monotonic() + 10
    while pid_file.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not pid_file.exists(), "embedded Postgres still running"
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
        check_readme_commands(port, var_dir, tmp_path)
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
