"""The demo has behaviour: website and email events over two months, resolved onto the demo CRM contacts."""

from __future__ import annotations

import time

import pytest
from django.core.management import call_command
from django.urls import reverse

from cdp.demo import EMAIL_SOURCE, WEBSITE_SOURCE, demo_behaviour_seed
from cdp.models import Identifier, IngestBatch, Profile, RawEvent
from cdp.services.crm_outbox import crm_outbox_drain
from cdp.services.processing import batch_process
from crm.models import Contact, Deal

pytestmark = pytest.mark.django_db


def _resolve_all():
    while crm_outbox_drain():
        pass
    for batch_id in IngestBatch.objects.filter(processed_at__isnull=True).order_by("id").values_list("id", flat=True):
        batch_process(batch_id=batch_id)


@pytest.fixture
def seeded(django_db_setup):
    started = time.monotonic()
    call_command("seed_demo", verbosity=0)
    _resolve_all()
    return time.monotonic() - started


def test_demo_has_website_and_email_behaviour_through_ingestion(seeded):
    web = RawEvent.objects.filter(source__name=WEBSITE_SOURCE)
    mail = RawEvent.objects.filter(source__name=EMAIL_SOURCE)
    assert 2000 <= web.count() <= 6000 and 300 <= mail.count() <= 1500
    pages = {p for p in web.filter(type="page").values_list("payload__properties__path", flat=True)}
    assert {"/pricing", "/docs/getting-started", "/blog/customer-data-101"} <= pages
    assert web.filter(payload__context__campaign__name="autumn-launch").exists()
    assert web.filter(type="identify").count() >= 50
    assert set(mail.values_list("event", flat=True)) == {"Email Delivered", "Email Opened", "Email Clicked"}
    span = [t for t in web.order_by("timestamp").values_list("timestamp", flat=True)]
    assert (span[-1] - span[0]).days >= 45
    # Every event went through identity resolution; companies made no person profiles.
    assert not IngestBatch.objects.filter(processed_at__isnull=True).exists()
    assert not Identifier.objects.filter(value__startswith="crm-company-").exists()
    # A second seed adds nothing.
    before = RawEvent.objects.count()
    assert demo_behaviour_seed() == 0
    assert RawEvent.objects.count() == before


def test_rep_sees_web_visits_beside_open_deals_on_the_contact_page(seeded, client):
    contact = (Contact.objects.filter(deals__status=Deal.Status.OPEN, owner__username="sales")
               .order_by("id").first())
    profile = Profile.objects.get(crm_contact_id=contact.pk)
    kinds = set(RawEvent.objects.filter(profile_links__profile_id=profile.pk).values_list("type", flat=True))
    assert {"page", "identify", "track"} <= kinds
    client.force_login(contact.owner)
    page = client.get(reverse("contact-detail", args=[contact.pk])).content.decode()
    deal = contact.deals.filter(status=Deal.Status.OPEN).first()
    assert deal.name in page
    assert "Signed Up" in page or "Viewed" in page
    customer360 = client.get(reverse("cdp:profile-detail", args=[profile.pk]))
    assert customer360.status_code == 200
    assert "Signed Up" in customer360.content.decode()
