"""Write keys (hashed, CRM key refused, grace period, cache kept correct) and collection throttling per key and
per client address (issue 12). Real Redis and Postgres."""

from __future__ import annotations

import itertools

import orjson
import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.urls import reverse

from cdp.models import RawEvent, Source
from cdp.services.source_admin import source_settings_update
from cdp.services.sources import crm_source, source_create, source_end_grace, source_for_write_key, source_rotate_key
from tests.cdp.collect_support import make_source, post, track

_addresses = itertools.count(1)


def fresh_address() -> str:
    """A client address of its own, so counters of other tests in the same second do not count here."""
    n = next(_addresses)
    return f"10.77.{n // 250}.{n % 250 + 1}"


def send(client, key, n=0, *, address=None, **extra):
    return post(client, "/v1/track", track(n, messageId=f"k-{next(_addresses)}"), key=key,
                REMOTE_ADDR=address or fresh_address(), **extra)


# --- the CRM's own key ---------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_crm_sources_key_cannot_collect_and_is_never_shown(client, marketing_user):
    crm = source_create(name="CRM feed", kind=Source.Kind.CRM)
    r = send(client, crm.write_key)
    assert r.status_code == 403 and r["Content-Type"] == "application/json"
    assert orjson.loads(r.content)["error"] == "crm_source"
    r = post(client, "/v1/batch", {"batch": [track(1)], "writeKey": crm.write_key}, REMOTE_ADDR=fresh_address())
    assert r.status_code == 403 and RawEvent.objects.count() == 0

    client.force_login(marketing_user)
    builtin = crm_source()
    detail = client.get(reverse("cdp:source-detail", args=[builtin.pk])).content.decode()
    assert "Rotate key" not in detail and builtin.key_hint not in detail and "Write key" not in detail
    listing = client.get(reverse("cdp:index")).content.decode()
    assert builtin.key_hint not in listing and crm.key_hint not in listing
    assert client.post(reverse("cdp:source-rotate", args=[builtin.pk])).status_code == 404
    assert client.get(reverse("cdp:source-try", args=[builtin.pk])).status_code == 404


# --- hashed keys -----------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_keys_are_stored_hashed_and_recognisable_by_prefix():
    source = make_source()
    row = Source.objects.filter(pk=source.pk).values().get()
    assert source.write_key not in orjson.dumps(row, default=str).decode()
    assert row["write_key_prefix"] == source.write_key[:6] and len(row["write_key_hash"]) == 64
    assert source_for_write_key(source.write_key) == source
    assert source_for_write_key(source.write_key + "x") is None and source_for_write_key("") is None


@pytest.mark.django_db(transaction=True)
def test_the_migration_hashes_existing_keys_and_they_keep_working():
    executor = MigrationExecutor(connection)
    before, after = [("cdp", "0012_company_profiles_removed")], executor.loader.graph.leaf_nodes()
    executor.migrate(before)
    old = executor.loader.project_state(before[0]).apps.get_model("cdp", "Source")
    old.objects.create(name="Legacy", kind="server", write_key="legacy-key-1234567890", enabled=True,
                       previous_write_key="older-key-0987654321", allowed_origins=[], settings={})
    executor = MigrationExecutor(connection)
    executor.migrate(after)
    legacy = Source.objects.get(name="Legacy")
    assert legacy.write_key_prefix == "legacy" and source_for_write_key("legacy-key-1234567890") == legacy
    assert legacy.previous_key_prefix == "older-"
    assert source_for_write_key("older-key-0987654321") is None  # it had no grace period end: not honoured


# --- rotation, grace period, and the lookup cache ------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("cache_seconds", [0, 60])
def test_rotation_grace_end_and_disabling_count_at_once_even_with_the_cache(client, settings, cache_seconds):
    settings.CDP_SOURCE_CACHE_SECONDS = cache_seconds
    source = make_source()
    old = source.write_key
    assert send(client, old).status_code == 200  # cached now, when the cache is on
    new = source_rotate_key(source=source)
    assert send(client, old).status_code == 200 and send(client, new).status_code == 200  # grace period
    source_end_grace(source=source)
    assert send(client, old).status_code == 401
    assert send(client, new).status_code == 200
    source_settings_update(source_id=source.pk, enabled=False, allowed_origins=[], rate_limit_per_second=None)
    r = send(client, new)
    assert r.status_code == 403 and orjson.loads(r.content)["error"] == "source_disabled"


# --- throttling ------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_throttling_is_on_by_default(settings):
    assert settings.CDP_KEY_EVENTS_PER_SECOND == 50_000 and settings.CDP_ADDRESS_REQUESTS_PER_SECOND == 1_000


@pytest.mark.django_db
def test_per_address_limit_answers_429_json_with_retry_after(client, settings):
    settings.CDP_ADDRESS_REQUESTS_PER_SECOND = 3
    source = make_source()
    address = fresh_address()
    answers = [send(client, source.write_key, i, address=address) for i in range(10)]
    statuses = [r.status_code for r in answers]
    assert statuses[0] == 200 and 429 in statuses
    refused = answers[statuses.index(429)]
    assert refused["Retry-After"] == "1" and orjson.loads(refused.content)["error"] == "rate_limited"
    assert send(client, source.write_key, address=fresh_address()).status_code == 200  # another address


@pytest.mark.django_db
def test_forwarded_for_counts_only_behind_a_trusted_proxy(client, settings):
    settings.CDP_ADDRESS_REQUESTS_PER_SECOND = 3
    source = make_source()
    peer = fresh_address()
    # Not a trusted proxy: a client cannot dodge the limit with made-up X-Forwarded-For headers.
    statuses = [send(client, source.write_key, address=peer, HTTP_X_FORWARDED_FOR=f"192.0.2.{i}").status_code
                for i in range(10)]
    assert 429 in statuses
    settings.TRUSTED_PROXIES = [peer]
    proxy = [send(client, source.write_key, address=peer, HTTP_X_FORWARDED_FOR=fresh_address()).status_code
             for i in range(10)]
    assert proxy == [200] * 10  # ten clients behind our proxy


@pytest.mark.django_db
def test_per_key_limit_counts_events_default_and_per_source(client, settings):
    settings.CDP_KEY_EVENTS_PER_SECOND = 5
    source = make_source()
    batch = {"batch": [track(i, messageId=f"b-{next(_addresses)}") for i in range(3)]}
    statuses = [post(client, "/v1/batch", batch | {"batch": [dict(m, messageId=f"{m['messageId']}-{j}")
                                                             for m in batch["batch"]]},
                     key=source.write_key, REMOTE_ADDR=fresh_address()).status_code for j in range(6)]
    assert statuses[0] == 200 and 429 in statuses
    roomy = make_source(rate_limit_per_second=1000)  # a source's own limit wins over the default
    statuses = [send(client, roomy.write_key, i).status_code for i in range(12)]
    assert statuses == [200] * 12


@pytest.mark.django_db
def test_throttling_fails_open_without_redis(client, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    settings.CDP_ADDRESS_REQUESTS_PER_SECOND = 1
    settings.CDP_SOURCE_CACHE_SECONDS = 60
    source = make_source(rate_limit_per_second=1)
    address = fresh_address()
    assert [send(client, source.write_key, i, address=address).status_code for i in range(4)] == [200] * 4
    source_end_grace(source=source)
    source_settings_update(source_id=source.pk, enabled=False, allowed_origins=[], rate_limit_per_second=None)
    assert send(client, source.write_key).status_code == 403  # no cache without Redis: the change counts at once
