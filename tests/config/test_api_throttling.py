"""DRF API throttling (issue 12): per token, per user, per anonymous address; 429 JSON with Retry-After; Redis."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from rest_framework.authtoken.models import Token
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.test import APIClient, APIRequestFactory
from rest_framework.views import APIView

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
URL = "/api/crm/contacts/"


def token_client(token: Token) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


def assert_throttled(response):
    assert response.status_code == 429
    body = response.json()
    assert body["error"] == "throttled" and "throttled" in body["detail"].lower()
    assert 1 <= int(response["Retry-After"]) <= 60


def test_user_rate_covers_session_and_every_token_of_the_user(settings, sales_user):
    settings.API_THROTTLE_USER = "4/minute"
    session = APIClient()
    session.force_login(sales_user)
    assert [session.get(URL).status_code for _ in range(2)] == [200, 200]
    first, second = (Token.objects.create(user=sales_user), None)
    assert token_client(first).get(URL).status_code == 200
    first.delete()
    second = Token.objects.create(user=sales_user)
    assert token_client(second).get(URL).status_code == 200
    assert_throttled(session.get(URL))
    # another user has a budget of their own
    other = APIClient()
    other.force_login(UserFactory(role="Sales"))
    assert other.get(URL).status_code == 200


def test_token_rate_is_per_token(settings, sales_user):
    settings.API_THROTTLE_TOKEN = "2/minute"
    token = Token.objects.create(user=sales_user)
    client = token_client(token)
    assert [client.get(URL).status_code for _ in range(2)] == [200, 200]
    assert_throttled(client.get(URL))
    # the same user through the browser session is not held by the token's limit
    session = APIClient()
    session.force_login(sales_user)
    assert session.get(URL).status_code == 200


def test_counters_live_in_the_redis_cache(settings, sales_user):
    settings.API_THROTTLE_USER = "10/minute"
    session = APIClient()
    session.force_login(sales_user)
    session.get(URL)
    assert len(cache.get(f"throttle_user_{sales_user.pk}")) == 1


class _Open(APIView):
    permission_classes = [AllowAny]

    def get(self, request):
        return Response({"ok": True})


def test_anonymous_rate_is_per_client_address(settings):
    settings.API_THROTTLE_ANON = "2/minute"
    view = _Open.as_view()
    factory = APIRequestFactory()

    def get(addr, **extra):
        return view(factory.get("/open", REMOTE_ADDR=addr, **extra))

    assert [get("192.0.2.1").status_code for _ in range(2)] == [200, 200]
    third = get("192.0.2.1", HTTP_X_FORWARDED_FOR="203.0.113.9")  # a forged header does not give a new budget
    assert third.status_code == 429 and third["Retry-After"]
    assert get("192.0.2.2").status_code == 200


def test_schema_and_docs_need_a_login(client, sales_user):
    from django.urls import reverse

    assert APIClient().get(reverse("api-schema")).status_code in (401, 403)
    for name in ("api-docs", "api-redoc"):
        response = client.get(reverse(name))
        assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    token = Token.objects.create(user=sales_user)
    assert token_client(token).get(reverse("api-schema")).status_code == 200
