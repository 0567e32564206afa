"""Settings come from the environment; production settings pass Django's deployment checks."""

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from tests.workers import child_env

BASE_DIR = Path(__file__).resolve().parents[2]


def run_python(code: str, **env: str) -> subprocess.CompletedProcess:
    full_env = child_env(**env)
    for key, value in env.items():
        if value is None:
            full_env.pop(key, None)
    return subprocess.run([sys.executable, "-c", code], cwd=BASE_DIR, env=full_env, capture_output=True,
                          text=True, timeout=120)


@pytest.mark.django_db
def test_production_settings_pass_check_deploy():
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=BASE_DIR,
        env=child_env(DJANGO_SETTINGS_MODULE="config.settings", DEBUG="false",
                      SECRET_KEY=secrets.token_urlsafe(50), ALLOWED_HOSTS="crm.example.com"),
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.django_db
def test_debug_settings_fail_check_deploy():
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=BASE_DIR, env=child_env(DJANGO_SETTINGS_MODULE="config.settings", DEBUG="true", SECRET_KEY=""),
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode != 0
    assert "security.W018" in result.stderr + result.stdout  # DEBUG on in deployment


def test_production_refuses_to_start_without_secret_key():
    result = run_python("import django; django.setup()", DJANGO_SETTINGS_MODULE="config.settings",
                        DEBUG="false", SECRET_KEY="")
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


@pytest.mark.django_db
def test_settings_read_the_environment():
    code = (
        "import django, json; django.setup(); from django.conf import settings as s; "
        "print(json.dumps({'hosts': s.ALLOWED_HOSTS, 'debug': s.DEBUG, 'db': s.DATABASES['default']['NAME'], "
        "'broker': s.CELERY_BROKER_URL, 'hsts': s.SECURE_HSTS_SECONDS, 'secure': s.SESSION_COOKIE_SECURE}))"
    )
    result = run_python(code, DJANGO_SETTINGS_MODULE="config.settings", DEBUG="false",
                        SECRET_KEY="x" * 60, ALLOWED_HOSTS="a.example.com,b.example.com",
                        REDIS_URL="redis://127.0.0.1:6399/3")
    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout.strip().splitlines()[-1])
    assert values["hosts"] == ["a.example.com", "b.example.com"]
    assert values["debug"] is False
    assert values["db"].startswith("test_")
    assert values["broker"] == "redis://127.0.0.1:6399/3"
    assert values["hsts"] >= 31536000 and values["secure"] is True


def test_healthz_is_503_with_json_when_the_database_is_unreachable():
    code = (
        "import django, json; django.setup(); from django.test import Client; "
        "r = Client().get('/healthz'); print(r.status_code); print(r.content.decode())"
    )
    result = run_python(code, DATABASE_URL="postgresql://postgres@127.0.0.1:1/nowhere")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert lines[-2] == "503"
    report = json.loads(lines[-1])
    assert report["database"]["status"] == "down"
    assert report["redis"]["status"] == "ok"


def test_embedded_services_are_the_default_when_urls_are_unset():
    from config import embedded

    assert os.environ.get("DATABASE_URL")  # exported for child processes by embedded.database_url()
    assert embedded.celery_broker_url("unix:///tmp/r.sock") == "redis+socket:///tmp/r.sock"
    assert embedded.celery_broker_url("redis://h:6379/0") == "redis://h:6379/0"
    parsed = embedded.django_database({"HOST": "", "OPTIONS": {"host": "/var/run/pg"}})
    assert parsed["HOST"] == "/var/run/pg" and "host" not in parsed["OPTIONS"]
    assert embedded.django_database({"HOST": "%2Fvar%2Frun%2Fpg"})["HOST"] == "/var/run/pg"
