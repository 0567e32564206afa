"""Scores follow behaviour and CRM changes in real time, through a real Celery worker and Redis: the profiles
touched by a processed batch, or by a CRM change drained into the pipeline, are rescored within seconds."""

from __future__ import annotations

from decimal import Decimal

from django.utils import timezone

from cdp.models import Identifier, Profile
from cdp.services.crm_outbox import crm_outbox_drain_rounds
from cdp.services.ingest import events_ingest
from crm.services.contacts import contact_create, contact_update
from segments.models import ProfileScore, ScoreModel
from tests.cdp.identity_support import source
from tests.workers import wait_until

ITEMS = [
    {"label": "Viewed pricing", "points": 10, "condition": {"type": "event", "event": "Pricing Viewed"}},
    {"label": "Customer", "points": 30, "condition": {"type": "contact", "field": "lifecycle_stage",
                                                      "op": "equals", "value": "customer"}},
]


def score_of(model, profile_id):
    row = ProfileScore.objects.filter(model=model, profile_id=profile_id).first()
    return row.score if row else None


def test_a_batch_and_a_crm_change_rescore_their_profiles(celery_worker_process):
    model = ScoreModel.objects.create(name="Engagement", conditions=ITEMS, is_default=True)
    src = source()
    now = timezone.now().isoformat()
    events_ingest(source=src, messages=[
        {"type": "track", "messageId": "sc-1", "userId": "u-sc", "event": "Pricing Viewed", "timestamp": now}])
    assert wait_until(lambda: Identifier.objects.filter(type="user_id", value="u-sc").exists(), timeout=60)
    profile_id = Identifier.objects.get(type="user_id", value="u-sc").profile_id
    assert wait_until(lambda: score_of(model, profile_id) == Decimal("10.00"), timeout=60)
    assert ProfileScore.objects.get(model=model, profile_id=profile_id).points == [10, 0]

    # A CRM change reaches the CDP through the outbox and the one ingestion path; its profile is rescored.
    contact = contact_create(actor=None, first_name="Rita", emails=["rita@example.com"], lifecycle_stage="lead")
    crm_outbox_drain_rounds()
    assert wait_until(lambda: Profile.objects.filter(crm_contact_id=contact.pk).exists(), timeout=60)
    crm_profile = Profile.objects.get(crm_contact_id=contact.pk)
    assert score_of(model, crm_profile.pk) is None  # a lead who viewed nothing scores nothing
    contact_update(contact=contact, actor=None, changes={"lifecycle_stage": "customer"})
    crm_outbox_drain_rounds()
    assert wait_until(lambda: score_of(model, crm_profile.pk) == Decimal("30.00"), timeout=60)
    row = ProfileScore.objects.get(model=model, profile_id=crm_profile.pk)
    assert (row.contact_id, row.points) == (contact.pk, [0, 30])
