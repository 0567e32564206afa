"""Webhooks never reach private, loopback, link-local or metadata addresses: literal addresses are refused on
save, names are checked after DNS resolution and on each redirect, unless the host is allowed by the setting.
The connection goes to the address that was checked (pinned), so a second DNS answer cannot redirect it."""

from __future__ import annotations

import socket

import pytest
from django.core.exceptions import ValidationError

from cdp.models import Profile
from segments.models import Delivery
from segments.services import refresh, webhook_http, webhooks
from segments.services.destinations import destination_create
from segments.services.segments import segment_create
from tests.segments.receiver import start_receiver

PRO = {"type": "all", "conditions": [{"type": "trait", "key": "plan", "op": "equals", "value": "pro"}]}


@pytest.fixture
def receiver():
    r = start_receiver()
    yield r
    r.server.shutdown()
    r.server.server_close()


@pytest.mark.parametrize("url", [
    "http://127.0.0.1/x", "http://10.1.2.3/", "http://192.168.0.1/", "http://172.16.5.4/", "http://169.254.169.254/"
    "latest/meta-data/", "http://[::1]/", "http://[fd00:ec2::254]/", "http://[::ffff:127.0.0.1]/", "http://0.0.0.0/",
    "http://100.64.0.1/", "ftp://example.com/", "http://user:pw@example.com/", "not a url",
])
def test_addresses_that_are_never_targets_are_refused_on_save(db, url):
    segment = segment_create(name="S", definition=PRO)
    with pytest.raises(ValidationError) as err:
        destination_create(segment=segment, kind="webhook", url=url)
    assert "url" in err.value.message_dict


def test_public_addresses_pass_the_address_check():
    assert webhook_http.address_allowed("93.184.216.34")
    assert webhook_http.address_allowed("2606:4700::1111")
    assert not webhook_http.address_allowed("::ffff:10.0.0.1")


def test_a_name_resolving_to_loopback_is_refused_after_resolution(db, receiver, settings):
    settings.SEGMENTS_WEBHOOK_ALLOWED_HOSTS = []
    segment = segment_create(name="S", definition=PRO)
    # "localhost" is a real DNS name (the hosts file) that resolves to 127.0.0.1: allowed on save, refused on send
    destination_create(segment=segment, kind="webhook", url=receiver.url(host="localhost"))
    refresh.profiles_check(profile_ids=[Profile.objects.create(traits={"plan": "pro"}).pk])
    webhooks.deliveries_send()
    d = Delivery.objects.get()
    assert d.status == "dead" and d.attempts == 1  # a refusal is not retried
    assert "127.0.0.1" in d.last_error and "non-public" in d.last_error
    assert receiver.received() == []


def test_a_name_whose_dns_answer_is_private_is_refused(monkeypatch):
    real = socket.getaddrinfo

    def fake(host, *args, **kwargs):
        if host == "hooks.attacker.example":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", 80)),
                    (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("169.254.169.254", 80))]
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    with pytest.raises(webhook_http.Refused, match="169.254.169.254"):
        webhook_http.resolve("http://hooks.attacker.example/hook")


def test_the_connection_goes_to_the_checked_address(monkeypatch, receiver, settings):
    """DNS rebinding: the name is resolved once, checked, and that address is connected to; a later answer
    (here: any other lookup) is never used."""
    settings.SEGMENTS_WEBHOOK_ALLOWED_HOSTS = ["pinned.example"]
    answers = iter(["127.0.0.1", "10.9.9.9"])
    asked: list[str] = []
    real = socket.getaddrinfo

    def fake(host, port, *args, **kwargs):
        asked.append(host)
        if host == "pinned.example":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (next(answers), port))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    result = webhook_http.post(f"http://pinned.example:{receiver.port}/hook", body=b"{}", headers={})
    assert result.ok
    [req] = receiver.received()
    assert req.headers["host"] == f"pinned.example:{receiver.port}"
    assert asked.count("pinned.example") == 1  # resolved once; the socket was opened to the checked address


def test_a_redirect_to_loopback_is_refused(db, receiver, settings):
    settings.SEGMENTS_WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]  # the receiver itself is allowed, localhost is not
    segment = segment_create(name="S", definition=PRO)
    destination_create(segment=segment, kind="webhook", url=receiver.url("/start"))
    receiver.answer("/start", (302, {"Location": receiver.url("/internal", host="localhost")}, b""))
    refresh.profiles_check(profile_ids=[Profile.objects.create(traits={"plan": "pro"}).pk])
    webhooks.deliveries_send()
    d = Delivery.objects.get()
    assert d.status == "dead" and "Refused" in d.last_error
    assert [r.path for r in receiver.received()] == ["/start"]  # never reached /internal


def test_a_redirect_to_the_metadata_address_is_refused(receiver, settings):
    settings.SEGMENTS_WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
    receiver.answer("/start", (307, {"Location": "http://169.254.169.254/latest/meta-data/"}, b""))
    result = webhook_http.post(receiver.url("/start"), body=b"{}", headers={})
    assert result.refused and not result.retryable and "169.254.169.254" in result.error
