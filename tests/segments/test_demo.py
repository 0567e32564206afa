"""The demo seeding creates meaningful segments over the demo data, one mixing web behaviour and deals."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from cdp.services.crm_outbox import crm_outbox_drain_rounds
from segments.models import Segment
from segments.services import refresh


@pytest.mark.django_db
def test_demo_segments_have_members_and_seeding_twice_adds_none(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        call_command("seed_demo", verbosity=0)
    with django_capture_on_commit_callbacks(execute=True):  # the CRM's changes reach cdp (beat does this)
        crm_outbox_drain_rounds()
    for segment in Segment.objects.all():  # and the scheduled refresh comes round
        refresh.segment_refresh(segment_id=segment.pk)
    segments = {s.name: s for s in Segment.objects.all()}
    assert len(segments) >= 4
    mixed = segments["Pricing visitors with an open deal"]
    kinds = {c["type"] for c in mixed.definition["conditions"]}
    assert kinds == {"event", "deal"}
    assert mixed.status == "ready" and mixed.size > 0, (mixed.status, mixed.last_error)
    assert all(s.status == "ready" for s in segments.values()), {s.name: s.last_error for s in segments.values()}
    with django_capture_on_commit_callbacks(execute=True):
        call_command("seed_demo", verbosity=0)
    assert Segment.objects.count() == len(segments)
