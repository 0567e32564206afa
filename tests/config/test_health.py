import json

import pytest
from django.core.cache import cache
from django.urls import reverse

from config import status

pytestmark = pytest.mark.django_db


def test_healthz_reports_database_and_redis_ok(client):
    response = client.get(reverse("healthz"))
    assert response.status_code == 200
    report = json.loads(response.content)
    assert report["status"] == "ok"
    assert report["database"]["status"] == "ok"
    assert report["redis"]["status"] == "ok"


def test_healthz_is_503_when_redis_is_down(client, settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens on port 1
            "OPTIONS": {"socket_connect_timeout": 0.5},
        }
    }
    response = client.get(reverse("healthz"))
    assert response.status_code == 503
    report = json.loads(response.content)
    assert report["redis"]["status"] == "down"
    assert report["database"]["status"] == "ok"


def test_heartbeat_shows_worker_and_beat_alive(client):
    cache.delete(status.HEARTBEAT_KEY)
    assert json.loads(client.get(reverse("healthz")).content)["worker_and_beat"]["status"] == "unknown"
    status.heartbeat_record()
    assert json.loads(client.get(reverse("healthz")).content)["worker_and_beat"]["status"] == "ok"
