"""Docker does not run here: read docker-compose.yml and the Dockerfile and check they match the settings."""

import re
from pathlib import Path

import yaml

BASE_DIR = Path(__file__).resolve().parents[2]


def compose():
    return yaml.safe_load((BASE_DIR / "docker-compose.yml").read_text())


def env_vars_read_by_settings() -> set[str]:
    names = set()
    for path in (BASE_DIR / "config").glob("*.py"):
        text = path.read_text()
        names |= set(re.findall(r'env(?:\.\w+)?\(\s*"([A-Z][A-Z0-9_]*)"', text))
        names |= set(re.findall(r'os\.environ(?:\.get)?[\(\[]\s*"([A-Z][A-Z0-9_]*)"', text))
    return names


def test_services_and_images():
    services = compose()["services"]
    assert set(services) == {"postgres", "redis", "migrate", "web", "worker", "beat"}
    assert services["postgres"]["image"] == "postgres:16"
    assert services["redis"]["image"] == "redis:7"
    app_images = {services[name]["image"] for name in ("migrate", "web", "worker", "beat")}
    assert app_images == {"crmcdp:latest"}  # one image shared by every app service
    for name in ("web", "worker", "beat"):
        deps = services[name]["depends_on"]
        assert deps["postgres"]["condition"] == "service_healthy"
        assert deps["redis"]["condition"] == "service_healthy"
        assert deps["migrate"]["condition"] == "service_completed_successfully"


def test_commands():
    services = compose()["services"]
    assert services["web"]["command"][:2] == ["gunicorn", "config.wsgi:application"]
    worker = services["worker"]["command"]
    assert worker[:4] == ["celery", "-A", "config", "worker"]
    assert worker[worker.index("--queues") + 1].split(",") == ["default", "ingest", "segments"]
    assert services["beat"]["command"][:4] == ["celery", "-A", "config", "beat"]
    assert services["migrate"]["command"] == ["python", "manage.py", "migrate", "--noinput"]


def test_scaling_out_is_possible():
    services = compose()["services"]
    # No container_name and no single fixed host port, so --scale web=N / worker=N work.
    for name in ("web", "worker"):
        assert "container_name" not in services[name]
    assert services["web"]["ports"] == ["8000-8019:8000"]


def test_every_env_var_set_is_read_by_the_settings():
    read = env_vars_read_by_settings()
    assert {"DATABASE_URL", "REDIS_URL", "SECRET_KEY", "DEBUG", "ALLOWED_HOSTS"} <= read
    for name in ("migrate", "web", "worker", "beat"):
        env = compose()["services"][name]["environment"]
        unknown = set(env) - read
        assert not unknown, f"{name} sets variables the settings never read: {unknown}"
        assert env["DEBUG"] == "false"
        assert env["DATABASE_URL"].startswith("postgresql://") and "@postgres:5432/" in env["DATABASE_URL"]
        assert env["REDIS_URL"] == "redis://redis:6379/0"


def test_dockerfile_builds_from_the_lockfile():
    dockerfile = (BASE_DIR / "Dockerfile").read_text()
    assert "FROM python:3.12" in dockerfile
    assert "COPY pyproject.toml uv.lock" in dockerfile
    assert "uv sync --frozen --no-dev" in dockerfile
    assert "collectstatic" in dockerfile
    assert (BASE_DIR / "uv.lock").exists()
