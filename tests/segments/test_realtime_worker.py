"""Real-time membership through a real Celery worker and Redis: an event accepted by the ingestion service puts
its profile in a real-time segment, and "Segment Entered" lands on the profile's timeline."""

from __future__ import annotations

from django.utils import timezone

from cdp.models import Identifier, RawEvent
from cdp.services.ingest import events_ingest
from segments.models import Membership, Segment
from segments.rules import validate_rule
from segments.services.definitions import rule_facts
from tests.cdp.identity_support import source
from tests.workers import wait_until


def test_an_event_puts_its_profile_in_a_real_time_segment(celery_worker_process):
    rule = {"type": "all", "conditions": [
        {"type": "trait", "key": "plan", "op": "equals", "value": "pro"},
        {"type": "event", "event": "Pricing Viewed", "count": {"op": "at_least", "value": 2},
         "window": {"kind": "last_days", "days": 7}}]}
    segment = Segment.objects.create(name="Hot pro", definition=rule, mode="realtime",
                                     **rule_facts(validate_rule(rule)))
    src = source()
    now = timezone.now().isoformat()
    events_ingest(source=src, messages=[
        {"type": "identify", "messageId": "rt-1", "userId": "u-rt", "timestamp": now, "traits": {"plan": "pro"}},
        {"type": "track", "messageId": "rt-2", "userId": "u-rt", "event": "Pricing Viewed", "timestamp": now},
    ])
    assert wait_until(lambda: Identifier.objects.filter(type="user_id", value="u-rt").exists(), timeout=60)
    profile_id = Identifier.objects.get(type="user_id", value="u-rt").profile_id
    assert not wait_until(lambda: Membership.objects.filter(segment=segment).exists(), timeout=3)  # one view only
    events_ingest(source=src, messages=[
        {"type": "track", "messageId": "rt-3", "userId": "u-rt", "event": "Pricing Viewed", "timestamp": now}])
    assert wait_until(lambda: Membership.objects.filter(segment=segment, profile_id=profile_id,
                                                        exited_at__isnull=True).exists(), timeout=60)
    assert wait_until(lambda: RawEvent.objects.filter(event="Segment Entered", user_id="u-rt",
                                                      profile_links__profile_id=profile_id).exists(), timeout=60)
    entered = RawEvent.objects.get(event="Segment Entered", user_id="u-rt")
    assert entered.payload["properties"]["segment_name"] == "Hot pro"
