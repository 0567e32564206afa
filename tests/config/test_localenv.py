"""var/local.env: what `make run` shares with manage.py commands in a second terminal (config.localenv)."""

from __future__ import annotations

import os
import subprocess

import pytest

from config import localenv

KEYS = ("DEBUG", "SECRET_KEY", "DATABASE_URL", "REDIS_URL")


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.setenv("VAR_DIR", str(tmp_path))
    for key in KEYS:
        monkeypatch.delenv(key, raising=False)
    return tmp_path


def dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def test_settings_of_a_running_launcher_are_loaded(env):
    path = localenv.write({"DEBUG": "true", "DATABASE_URL": "postgresql://postgres@/crmcdp?host=/tmp/pg",
                           "REDIS_URL": "unix:///tmp/redis.socket"}, launcher_pid=os.getpid())
    assert path == env / "local.env" and oct(path.stat().st_mode & 0o777) == "0o600"
    localenv.load()
    assert os.environ["DEBUG"] == "true"
    assert os.environ["DATABASE_URL"] == "postgresql://postgres@/crmcdp?host=/tmp/pg"
    assert os.environ["REDIS_URL"] == "unix:///tmp/redis.socket"


def test_addresses_of_a_stopped_launcher_are_ignored(env):
    localenv.write({"DEBUG": "true", "DATABASE_URL": "postgresql://gone", "REDIS_URL": "unix:///gone"},
                   launcher_pid=dead_pid())
    localenv.load()
    assert os.environ["DEBUG"] == "true"
    assert "DATABASE_URL" not in os.environ and "REDIS_URL" not in os.environ


def test_the_environment_wins_and_no_file_is_nothing(env, monkeypatch):
    localenv.load()
    assert not any(key in os.environ for key in KEYS)
    monkeypatch.setenv("DEBUG", "false")
    localenv.write({"DEBUG": "true", "DATABASE_URL": "postgresql://shared"}, launcher_pid=os.getpid())
    localenv.load()
    assert os.environ["DEBUG"] == "false" and os.environ["DATABASE_URL"] == "postgresql://shared"
