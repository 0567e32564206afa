"""Login throttling (issue 12): site and admin login lock a username+address pair out after repeated failures."""

from __future__ import annotations

import pytest
from django.test import Client, RequestFactory
from django.urls import reverse

from config.client_ip import client_ip
from tests.factories import DEFAULT_PASSWORD

pytestmark = pytest.mark.django_db


def attempt(client, url, username, password="wrong password", **extra):
    return client.post(url, {"username": username, "password": password}, **extra)


def fail_until_locked(client, url, username, **extra):
    """Fail LOGIN_FAILURE_LIMIT (5) times: the first four show the form again, the fifth locks out."""
    for _ in range(4):
        response = attempt(client, url, username, **extra)
        assert response.status_code == 200 and b"Too many failed" not in response.content
    return attempt(client, url, username, **extra)


def test_site_login_locks_out_with_a_clear_message_and_retry_after(sales_user):
    client = Client()
    url = reverse("login")
    locked = fail_until_locked(client, url, sales_user.username)
    assert locked.status_code == 429 and locked["Retry-After"] == str(15 * 60)
    page = locked.content.decode()
    assert 'data-testid="login-locked"' in page and "Too many failed log-in attempts" in page
    assert "15 minutes" in page and 'name="password"' in page  # still the login page
    # Even the right password is refused while the lockout lasts.
    right = attempt(client, url, sales_user.username, DEFAULT_PASSWORD)
    assert right.status_code == 429 and "_auth_user_id" not in client.session


def test_lockout_is_per_username_and_address(sales_user, support_user):
    url = reverse("login")
    assert fail_until_locked(Client(), url, sales_user.username).status_code == 429
    # Another user from the same address, and the same user from another address, still log in.
    other_user = attempt(Client(), url, support_user.username, DEFAULT_PASSWORD)
    assert other_user.status_code == 302
    elsewhere = attempt(Client(REMOTE_ADDR="198.51.100.7"), url, sales_user.username, DEFAULT_PASSWORD)
    assert elsewhere.status_code == 302


def test_a_forged_forwarded_header_does_not_dodge_the_lockout(sales_user):
    url = reverse("login")
    for n in range(5):
        attempt(Client(), url, sales_user.username, HTTP_X_FORWARDED_FOR=f"203.0.113.{n}")
    response = attempt(Client(), url, sales_user.username, DEFAULT_PASSWORD, HTTP_X_FORWARDED_FOR="203.0.113.99")
    assert response.status_code == 429


def test_success_resets_the_count(sales_user):
    client, url = Client(), reverse("login")
    for _ in range(4):
        attempt(client, url, sales_user.username)
    assert attempt(client, url, sales_user.username, DEFAULT_PASSWORD).status_code == 302
    client.logout()
    for _ in range(4):
        attempt(client, url, sales_user.username)
    assert attempt(client, url, sales_user.username, DEFAULT_PASSWORD).status_code == 302


def test_admin_login_locks_out_too(admin_user):
    client = Client()
    url = reverse("admin:login")
    locked = fail_until_locked(client, url, admin_user.username)
    assert locked.status_code == 429 and "Too many failed log-in attempts" in locked.content.decode()
    assert attempt(client, url, admin_user.username, DEFAULT_PASSWORD).status_code == 429


# --- client address -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("trusted,remote,forwarded,expected", [
    ([], "192.0.2.1", "203.0.113.5", "192.0.2.1"),                        # no proxies configured: header ignored
    (["10.0.0.0/8"], "192.0.2.1", "203.0.113.5", "192.0.2.1"),            # not from our proxy: header ignored
    (["10.0.0.0/8"], "10.0.0.2", "203.0.113.5", "203.0.113.5"),
    (["10.0.0.0/8"], "10.0.0.2", "1.2.3.4, 203.0.113.5, 10.0.0.9", "203.0.113.5"),  # client-supplied hops skipped
    (["10.0.0.0/8"], "10.0.0.2", "", "10.0.0.2"),
    (["10.0.0.0/8"], "10.0.0.2", "not-an-ip", "10.0.0.2"),
    (["10.0.0.1"], "10.0.0.1", "2001:db8::1", "2001:db8::1"),
])
def test_client_ip(settings, trusted, remote, forwarded, expected):
    settings.TRUSTED_PROXIES = trusted
    request = RequestFactory().get("/", REMOTE_ADDR=remote, HTTP_X_FORWARDED_FOR=forwarded)
    assert client_ip(request) == expected


def test_behind_a_trusted_proxy_the_forwarded_address_is_what_gets_locked(sales_user, settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    url = reverse("login")
    proxy = {"REMOTE_ADDR": "10.0.0.2"}
    for _ in range(5):
        attempt(Client(**proxy), url, sales_user.username, HTTP_X_FORWARDED_FOR="203.0.113.5")
    assert attempt(Client(**proxy), url, sales_user.username, DEFAULT_PASSWORD,
                   HTTP_X_FORWARDED_FOR="203.0.113.5").status_code == 429
    assert attempt(Client(**proxy), url, sales_user.username, DEFAULT_PASSWORD,
                   HTTP_X_FORWARDED_FOR="203.0.113.6").status_code == 302


def test_many_usernames_from_one_address_lock_the_address_out(sales_user, settings):
    """Password spraying: one password tried on many accounts from one address."""
    settings.LOGIN_ADDRESS_FAILURE_LIMIT = 6
    url = reverse("login")
    for n in range(6):
        response = attempt(Client(), url, f"someone-{n}")
        assert response.status_code == 200
    locked = attempt(Client(), url, sales_user.username, DEFAULT_PASSWORD)
    assert locked.status_code == 429 and "Too many failed log-in attempts" in locked.content.decode()
    assert locked["Retry-After"] == str(15 * 60)
    assert attempt(Client(), reverse("admin:login"), sales_user.username, DEFAULT_PASSWORD).status_code == 429
    # another address is not concerned
    assert attempt(Client(REMOTE_ADDR="198.51.100.7"), url, sales_user.username, DEFAULT_PASSWORD).status_code == 302
