"""Attribution of won revenue and leads to web campaigns, computed by hand.

Contacts C1 (profile P1), C2 (profile P2), C3 (no profile), C4 (profile P4, no deal); Sam owns the deals:
    A1 1000 EUR, created 10 Feb, won 5 Mar, contact C1
    A2  500 EUR, created 20 Feb, won 20 Mar, contacts C1 and C2
    A3  200 EUR, won 25 Mar, contact C3
Page views:
    P1  5 Jan  google/cpc/spring              (touch)
    P1  1 Feb  referrer news.example.org      (touch: another site)
    P1  5 Feb  referrer shop.example.com      (not a touch: the site itself)
    P1 15 Feb  newsletter/email/feb           (touch)
    P1  1 Mar  bing/cpc/late                  (after both deals were created: ignored)
    P2  1 Jan  linkedin/social/launch         (touch)
    P4  3 Jan  google/cpc/spring              (touch)
First touch: A1 google, A2 linkedin (P2's is the earliest of its two contacts), A3 none.
Last touch: A1 news.example.org, A2 newsletter, A3 none.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from cdp.models import Profile
from crm.models import Contact
from reports.filters import ReportFilters
from reports.models import Touch
from reports.selectors import attribution
from reports.services.touches import touches_refresh
from tests.crm.deal_factories import DealFactory, make_pipeline
from tests.crm.factories import ContactFactory
from tests.factories import UserFactory
from tests.reports.events_data import add_events

PERIOD = ReportFilters(start=date(2026, 1, 1), end=date(2026, 4, 30))


def utc(*parts):
    return datetime(*parts, tzinfo=UTC)


def page(profile, ts, *, campaign=None, referrer=""):
    context = {"page": {"url": "https://shop.example.com/p", "referrer": referrer}}
    if campaign:
        context["campaign"] = dict(zip(("source", "medium", "name"), campaign, strict=True))
    return {"ts": ts, "type": "page", "anonymous_id": f"anon-{profile.pk}", "profile_id": profile.pk,
            "context": context}


@pytest.fixture
def world(db, settings):
    settings.TIME_ZONE = "UTC"
    pipeline = make_pipeline()
    won = pipeline.stages.get(name="Won")
    admin = UserFactory(username="ada", is_superuser=True, is_staff=True)
    sam = UserFactory(username="sam", role="Sales")
    bob = UserFactory(username="bob", role="Sales")
    c1, c2, c3, c4 = (ContactFactory(owner=sam) for _ in range(4))
    Contact.objects.filter(pk__in=[c1.pk, c2.pk, c3.pk, c4.pk]).update(created_at=utc(2026, 1, 2))
    p1, p2, p4 = (Profile.objects.create(crm_contact_id=c.pk) for c in (c1, c2, c4))

    def deal(amount, created, closed, contacts):
        d = DealFactory(owner=sam, pipeline=pipeline, stage=won, amount=Decimal(amount))
        d.contacts.set(contacts)
        type(d).objects.filter(pk=d.pk).update(created_at=created, closed_at=closed)

    deal("1000", utc(2026, 2, 10), utc(2026, 3, 5), [c1])
    deal("500", utc(2026, 2, 20), utc(2026, 3, 20), [c1, c2])
    deal("200", utc(2026, 3, 1), utc(2026, 3, 25), [c3])
    add_events([
        page(p1, utc(2026, 1, 5), campaign=("google", "cpc", "spring")),
        page(p1, utc(2026, 2, 1), referrer="https://news.example.org/story?x=1"),
        page(p1, utc(2026, 2, 5), referrer="https://shop.example.com/"),
        page(p1, utc(2026, 2, 15), campaign=("newsletter", "email", "feb")),
        page(p1, utc(2026, 3, 1), campaign=("bing", "cpc", "late")),
        page(p2, utc(2026, 1, 1), campaign=("linkedin", "social", "launch")),
        page(p4, utc(2026, 1, 3), campaign=("google", "cpc", "spring")),
    ])
    touches_refresh(since=utc(2025, 12, 1), until=utc(2026, 5, 1))
    return {"admin": admin, "sam": sam, "bob": bob, "profiles": (p1, p2, p4), "contacts": (c1, c2, c3, c4)}


def _rows(df, *columns):
    return [tuple(r) for r in df[list(columns)].itertuples(index=False, name=None)]


def test_first_and_last_touch_revenue(world):
    revenue = attribution.revenue_by_touch(user=world["sam"], filters=PERIOD)
    first = attribution.touch_revenue(revenue, "first")
    assert _rows(first, "utm_source", "utm_medium", "utm_campaign", "referrer", "deals", "revenue") == [
        ("google", "cpc", "spring", "(none)", 1, 1000.0),
        ("linkedin", "social", "launch", "(none)", 1, 500.0),
        ("(no web touch)", "(none)", "(none)", "(none)", 1, 200.0),
    ]
    assert {m.strftime("%Y-%m") for m in first["month"]} == {"2026-03"}
    last = attribution.touch_revenue(revenue, "last")
    assert _rows(last, "utm_source", "utm_campaign", "referrer", "revenue") == [
        ("(none)", "(none)", "news.example.org", 1000.0),
        ("newsletter", "feb", "(none)", 500.0),
        ("(no web touch)", "(none)", "(none)", 200.0),
    ]


def test_attribution_is_scoped_like_the_deals(world):
    revenue = attribution.revenue_by_touch(user=world["bob"], filters=PERIOD)
    assert revenue.empty
    assert attribution.leads_and_customers(user=world["bob"], filters=PERIOD).empty


def test_leads_and_customers_per_first_touch_campaign(world):
    df = attribution.leads_and_customers(user=world["admin"], filters=PERIOD)
    assert _rows(df, "utm_source", "utm_campaign", "leads", "customers", "conversion") == [
        ("google", "spring", 2, 1, 0.5),
        ("(no web touch)", "(none)", 1, 1, 1.0),
        ("linkedin", "launch", 1, 1, 1.0),
    ]


def test_attribution_page_and_excel(client, world):
    import io

    import pandas as pd

    client.force_login(world["sam"])
    response = client.get("/reports/attribution/?start=2026-01-01&end=2026-04-30")
    assert response.status_code == 200 and "news.example.org" in response.content.decode()
    xlsx = client.get("/reports/attribution/export.xlsx?start=2026-01-01&end=2026-04-30")
    sheets = pd.read_excel(io.BytesIO(xlsx.content), sheet_name=None)
    assert sheets["First-touch revenue"]["Revenue (EUR)"].tolist() == [1000, 500, 200]
    support = UserFactory(username="sue", role="Support")
    client.force_login(support)
    assert client.get("/reports/attribution/").status_code == 403


def test_touches_follow_merges_and_the_last_touch_is_the_last_before_creation(db, settings):
    """Through the real ingestion path: a campaign page view of an anonymous visitor becomes the contact's touch
    once the visitor logs in (profiles merged); a touch later on the day the deal was created does not count."""
    from tests.cdp.identity_support import T0, ingest, msg, profile_of, source

    settings.TIME_ZONE = "UTC"
    sam = UserFactory(username="sam", role="Sales")
    contact = ContactFactory(owner=sam)
    src = source(kind="website")

    def visit(minute, anonymous_id, name):
        context = {"page": {"url": "https://shop.example.com/"},
                   "campaign": {"source": "newsletter", "medium": "email", "name": name}}
        return msg("page", minute=minute, anonymousId=anonymous_id, context=context)

    ingest(src, [msg("identify", minute=0, userId="u1")])
    known = profile_of("user_id", "u1")
    Profile.objects.filter(pk=known.pk).update(crm_contact_id=contact.pk)
    ingest(src, [visit(60, "d2", "morning")])
    touches_refresh()
    visitor = profile_of("anonymous_id", "d2")
    assert visitor.pk != known.pk
    assert list(Touch.objects.values_list("profile_id", "utm_campaign")) == [(visitor.pk, "morning")]

    before_merge = timezone.now()
    ingest(src, [msg("identify", minute=120, anonymousId="d2", userId="u1"), visit(300, "d2", "evening")])
    assert profile_of("anonymous_id", "d2").pk == known.pk  # the visitor was merged into the known person
    # Only events received since the merge are recomputed: the morning touch is re-pointed by the merge record.
    touches_refresh(since=before_merge)
    assert sorted(Touch.objects.values_list("profile_id", "utm_campaign")) == [
        (known.pk, "evening"), (known.pk, "morning")]

    pipeline = make_pipeline()
    deal = DealFactory(owner=sam, pipeline=pipeline, stage=pipeline.stages.get(name="Won"), amount=Decimal("700"))
    deal.contacts.set([contact])
    created = T0.replace(hour=15)  # after the morning visit (13:00), before the evening one (17:00), same day
    type(deal).objects.filter(pk=deal.pk).update(created_at=created, closed_at=utc(2026, 11, 20))
    period = ReportFilters(start=date(2026, 11, 1), end=date(2026, 11, 30))
    revenue = attribution.revenue_by_touch(user=sam, filters=period)
    for model in ("first", "last"):
        assert _rows(attribution.touch_revenue(revenue, model), "utm_campaign", "revenue") == [("morning", 700.0)]
