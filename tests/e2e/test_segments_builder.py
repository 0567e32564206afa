"""The segment builder in real Chromium: a marketer builds a rule mixing a trait, web behaviour (an event count) and
a CRM fact (a deal in a stage), watches the live count follow each change, saves, and sees the members on the
segment page. The builder, list and segment pages are checked with axe-core."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from cdp.models import EventProfile, IngestBatch, Profile, RawEvent, Source
from crm.models import Contact, Deal, Pipeline, Stage
from segments.models import Membership, Segment
from tests.e2e.conftest import axe_violations, login, screenshot
from tests.factories import UserFactory

pytestmark = pytest.mark.browser


def _people() -> dict[str, int]:
    """Four people; only Ann is pro, viewed pricing 3 times this month and has an open deal in Negotiation."""
    pipe = Pipeline.objects.create(name="Sales")
    stages = {n: Stage.objects.create(pipeline=pipe, name=n, order=i) for i, n in
              enumerate(["Qualified", "Proposal", "Negotiation"])}
    src = Source.objects.create(name="web", kind="server")
    now = timezone.now()
    batch = IngestBatch.objects.create(source=src, received_at=now, event_count=0)
    people = {}
    for name, plan, views, stage in [("Ann Apple", "pro", 3, "Negotiation"), ("Bob Berry", "pro", 1, "Negotiation"),
                                     ("Cid Cherry", "free", 3, "Negotiation"), ("Dee Date", "pro", 3, "Proposal")]:
        contact = Contact.objects.create(first_name=name.split()[0], last_name=name.split()[1])
        deal = Deal.objects.create(name=f"{name} deal", pipeline=pipe, stage=stages[stage], status="open")
        deal.contacts.add(contact)
        profile = Profile.objects.create(traits={"name": name, "plan": plan}, crm_contact_id=contact.pk)
        for k in range(views):
            at = now - dt.timedelta(days=2 + k)
            raw = RawEvent.objects.create(received_at=at, source=src, batch=batch, message_id=f"{name}-{k}",
                                          type="track", event="Pricing Viewed", timestamp=at,
                                          payload={"type": "track", "event": "Pricing Viewed", "properties": {}})
            EventProfile.objects.create(event_id=raw.pk, received_at=at, profile_id=profile.pk, timestamp=at)
        people[name] = profile.pk
    return people


def _add(page, kind: str) -> None:
    page.select_option("select[data-rb=new-kind]", kind)
    page.click("[data-testid=add-condition]")


def test_marketer_builds_a_segment_of_behaviour_and_crm_facts_and_sees_its_members(browser_page, live_server):
    people = _people()
    marketer = UserFactory(username="mia", first_name="Mia", last_name="Marketer", role="Marketing")
    page = browser_page
    count = page.locator("[data-testid=preview-count]")
    login(page, live_server, marketer)
    page.goto(f"{live_server.url}/segments/")
    page.click("[data-testid=new-segment]")
    page.wait_for_selector("[data-testid=rule-builder] [data-testid=group]")
    expect(count).to_have_text("4")  # an empty rule: everyone

    _add(page, "trait")
    condition = page.locator("[data-testid=condition]").nth(0)
    condition.locator("[data-rb=key]").fill("plan")
    page.locator("[data-testid=condition]").nth(0).locator("[data-rb=value]").fill("pro")
    expect(count).to_have_text("3")

    _add(page, "event")
    page.locator("[data-testid=condition]").nth(1).locator("[data-rb=event]").fill("Pricing Viewed")
    page.locator("[data-testid=condition]").nth(1).locator("[data-rb=count]").fill("3")
    expect(count).to_have_text("2")  # Ann and Dee
    sample = page.locator("[data-testid=preview-sample] a")
    expect(sample).to_have_count(2)
    assert {sample.nth(i).inner_text() for i in range(2)} == {"Ann Apple", "Dee Date"}

    _add(page, "deal")  # has a deal, status open: all four have one
    expect(count).to_have_text("2")
    page.locator("[data-testid=condition]").nth(2).locator("[data-testid=add-deal-filter]").click()
    page.locator("[data-testid=condition]").nth(2).locator("[data-rb=deal-value]").nth(1).select_option(
        label="Sales › Negotiation")
    expect(count).to_have_text("1")
    expect(sample).to_have_text(["Ann Apple"])
    assert sample.first.get_attribute("href").endswith(f"/{people['Ann Apple']}/")

    # A mistake is shown at its node, and the count waits for the fix.
    page.locator("[data-testid=condition]").nth(0).locator("[data-rb=key]").fill("")
    expect(page.locator("[data-testid=condition]").nth(0).locator("[data-testid=node-error]")).to_be_visible()
    expect(count).to_have_text("–")
    page.locator("[data-testid=condition]").nth(0).locator("[data-rb=key]").fill("plan")
    expect(count).to_have_text("1")
    expect(page.locator("[data-testid=node-error]")).to_have_count(0)
    assert axe_violations(page) == []
    screenshot(page, "segments-builder")

    page.fill("[data-testid=segment-name]", "Pro buyers in negotiation")
    page.click("[data-testid=save-segment]")
    expect(page.locator("[data-testid=segment-title]")).to_have_text("Pro buyers in negotiation")
    segment = Segment.objects.get(name="Pro buyers in negotiation")
    assert set(Membership.objects.filter(segment=segment, exited_at__isnull=True)
               .values_list("profile_id", flat=True)) == {people["Ann Apple"]}
    members = page.locator("[data-testid=member-row]")
    expect(members).to_have_count(1)
    expect(members.first).to_contain_text("Ann Apple")
    expect(page.locator("[data-testid=segment-size]")).to_have_text("1")
    words = page.locator("[data-testid=rule-words]").inner_text()
    assert "plan" in words and "Pricing Viewed" in words and re.search("Negotiation", words), words
    assert axe_violations(page) == []
    screenshot(page, "segments-detail")

    page.goto(f"{live_server.url}/segments/")
    row = page.locator("[data-testid=segment-row]", has_text="Pro buyers in negotiation")
    expect(row).to_be_visible()
    assert axe_violations(page) == []
