"""The real SDKs (segment-analytics-python, rudder-sdk-python) against a live test server: every call type
sent with the client's default settings arrives exactly once with the right fields."""

from __future__ import annotations

from datetime import timedelta

import pytest
import rudderstack.analytics as rudder_analytics
import rudderstack.analytics.request as rudder_request
import segment.analytics.request as segment_request
from django.utils import timezone
from segment.analytics import Client as SegmentClient
from segment.analytics.request import APIError

from cdp.models import IngestBatch, RawEvent
from tests.cdp.collect_support import make_source

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _close_sdk_connections():
    """The SDKs keep HTTP connections alive; close them so the live server's request threads (and their
    database connections) end with the test."""
    yield
    segment_request._session.close()
    rudder_request._session.close()


def send_everything(api, tag: str) -> None:
    api.identify(f"user-{tag}", {"email": f"{tag}@example.com", "plan": "pro"})
    api.track(f"user-{tag}", "Order Completed", {"revenue": 12.5, "currency": "EUR"})
    api.page(f"user-{tag}", "Docs", "Getting Started", {"url": "https://example.com/docs"})
    api.group(f"user-{tag}", f"acme-{tag}", {"name": "Acme"})
    api.alias(f"anon-{tag}", f"user-{tag}")


def assert_stored_once(source, tag: str, library: str) -> None:
    events = {e.type: e for e in RawEvent.objects.filter(source=source)}
    assert RawEvent.objects.filter(source=source).count() == 5
    assert set(events) == {"identify", "track", "page", "group", "alias"}
    assert RawEvent.objects.filter(source=source).values("message_id").distinct().count() == 5
    assert all(e.user_id == f"user-{tag}" for e in events.values())
    identify = events["identify"].payload
    # Segment sends traits at the root; Rudder puts them in context.traits (both are in the spec).
    traits = identify.get("traits") or identify["context"]["traits"]
    assert traits == {"email": f"{tag}@example.com", "plan": "pro"}
    assert events["track"].event == "Order Completed"
    assert events["track"].payload["properties"] == {"revenue": 12.5, "currency": "EUR"}
    assert events["page"].event == "Getting Started"
    assert events["page"].payload["properties"]["url"] == "https://example.com/docs"
    assert events["group"].payload["groupId"] == f"acme-{tag}"
    group = events["group"].payload
    assert (group.get("traits") or group["context"]["traits"]) == {"name": "Acme"}
    assert events["alias"].payload["previousId"] == f"anon-{tag}"
    now = timezone.now()
    for event in events.values():
        assert abs(event.timestamp - now) < timedelta(minutes=5) and not event.future_timestamp
        assert event.payload["context"]["library"]["name"].startswith(library)
    assert IngestBatch.objects.filter(source=source, processed_at__isnull=False).exists()


@pytest.mark.parametrize("gzip", [False, True], ids=["default", "gzip"])
def test_segment_python_sdk(live_server, gzip):
    source = make_source()
    errors = []
    kwargs = {"gzip": True} if gzip else {}
    client = SegmentClient(source.write_key, host=live_server.url, on_error=lambda e, batch: errors.append(e),
                           max_retries=1, **kwargs)
    send_everything(client, "seg")
    client.flush()
    client.shutdown()
    assert errors == []
    assert_stored_once(source, "seg", "analytics-python")


def test_segment_sdk_retry_of_the_same_batch_is_stored_once(live_server):
    source = make_source()
    client = SegmentClient(source.write_key, host=live_server.url, max_retries=1, sync_mode=True)
    client.track("user-r", "Replayed", message_id="fixed-id-1")
    client.track("user-r", "Replayed", message_id="fixed-id-1")
    assert RawEvent.objects.filter(source=source, message_id="fixed-id-1").count() == 1


def test_rudder_python_sdk_with_data_plane_url(live_server):
    source = make_source()
    errors = []
    rudder_analytics.write_key = source.write_key
    rudder_analytics.dataPlaneUrl = live_server.url
    rudder_analytics.on_error = lambda e, batch: errors.append(e)
    rudder_analytics.max_retries = 1
    rudder_analytics.default_client = None
    try:
        send_everything(rudder_analytics, "rud")
        rudder_analytics.flush()
    finally:
        if rudder_analytics.default_client is not None:
            rudder_analytics.default_client.shutdown()
        rudder_analytics.default_client = None
    assert errors == []
    assert_stored_once(source, "rud", "analytics-python")


def test_sdk_with_wrong_key_gets_a_4xx_it_understands(live_server):
    client = SegmentClient("not-a-key", host=live_server.url, max_retries=1, sync_mode=True)
    with pytest.raises(APIError) as raised:
        client.track("u", "E")
    assert (raised.value.status, raised.value.code) == (401, "unauthorized")
    assert RawEvent.objects.count() == 0
