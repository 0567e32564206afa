"""Activation in real Chromium: a marketer adds a webhook (to a real local receiver) and a "create task" action to
a segment on its page, sees the signing secret once, and refreshes the segment; a profile enters it; the webhook
arrives signed with that secret, and the rep who owns the contact sees the task on My work and on the contact page
and the lead score on the deal card of the board. An admin replays a dead delivery from the dead-letter page.
Every page opened is checked with axe-core."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest
from playwright.sync_api import expect

from cdp.models import Identifier, Profile
from crm.models import Activity, Contact
from segments.models import Delivery, Destination
from segments.services import webhooks
from segments.services.destinations import destination_create
from segments.services.scoring import score_model_create, score_model_rescore
from segments.services.segments import segment_create
from tests.crm.deal_factories import DealFactory, make_pipeline
from tests.e2e.conftest import axe_violations, login, screenshot
from tests.factories import UserFactory
from tests.segments.receiver import receiving

pytestmark = pytest.mark.browser

PRO = {"type": "all", "conditions": [{"type": "trait", "key": "plan", "op": "equals", "value": "pro"}]}


@pytest.fixture
def receiver(settings):
    with receiving(settings, SEGMENTS_WEBHOOK_MAX_ATTEMPTS=1) as r:
        yield r


def signed_with(secret: str, headers: dict, body: bytes) -> bool:
    expected = hmac.new(secret.encode(), headers["x-webhook-timestamp"].encode() + b"." + body,
                        hashlib.sha256).hexdigest()
    return any(hmac.compare_digest(expected, s.removeprefix("v1=")) for s in headers["x-webhook-signature"].split())


def test_marketer_adds_a_webhook_and_a_task_action_and_the_rep_follows_up(browser, browser_page, live_server,
                                                                          receiver):
    rep = UserFactory(username="rita", first_name="Rita", last_name="Rep", role="Sales")
    marketer = UserFactory(username="mia", first_name="Mia", last_name="Marketer", role="Marketing")
    make_pipeline()
    contact = Contact.objects.create(first_name="Ann", last_name="Lee", email="ann@example.com", owner=rep)
    deal = DealFactory(name="Lee expansion", owner=rep)
    deal.contacts.add(contact)
    segment = segment_create(name="Hot leads", definition=PRO)  # refreshed at once (eager): nobody yet
    profile = Profile.objects.create(traits={"plan": "pro", "name": "Ann Lee"}, crm_contact_id=contact.pk)
    Identifier.objects.create(profile=profile, type="email", value="ann@example.com")
    model = score_model_create(name="Fit", is_default=True, conditions=[
        {"label": "Pro plan", "points": 40, "condition": PRO["conditions"][0]}])
    score_model_rescore(model_id=model.pk)

    page = browser_page
    login(page, live_server, marketer)
    page.goto(f"{live_server.url}/segments/{segment.pk}/")
    expect(page.locator("[data-testid=destinations]")).to_contain_text("Nothing happens yet")

    # A webhook: first with a mistake (a private address), shown on the form; then right.
    page.click("[data-testid=add-webhook]")
    page.fill("#id_name", "Warehouse")
    page.fill("#id_url", "http://10.1.2.3/hook")
    page.fill("#id_traits", "plan, name")
    page.click("[data-testid=save-destination]")
    expect(page.locator("[data-testid=field-error]")).to_contain_text("private")
    assert axe_violations(page) == []
    page.fill("#id_url", receiver.url())
    page.click("[data-testid=save-destination]")
    secret = page.locator("[data-testid=new-secret-value]").input_value()
    assert secret.startswith("whsec_") and secret == Destination.objects.get(kind="webhook").secret
    assert axe_violations(page) == []
    screenshot(page, "segment-destinations-secret")

    # A task for the contact's owner, due now; the form shows the task's fields once "Create a task" is chosen.
    page.click("[data-testid=add-action]")
    page.select_option("#id_kind", "tag_add")
    expect(page.locator("#id_subject")).to_be_hidden()
    page.select_option("#id_kind", "task")
    expect(page.locator("#id_subject")).to_be_visible()
    page.fill("#id_name", "Call hot leads")
    page.fill("#id_subject", "Call {first_name} ({segment})")
    page.fill("#id_body", "Plan: {traits.plan}")
    page.select_option("#id_assign_to", "owner")
    page.fill("#id_due_in_hours", "0")
    assert axe_violations(page) == []
    page.click("[data-testid=save-destination]")
    rows = page.locator("[data-testid=destination-row]")
    expect(rows).to_have_count(2)
    expect(page.locator("[data-testid=new-secret]")).to_have_count(0)  # the secret was shown once

    # A profile enters the segment on refresh: the webhook is delivered and the task created.
    page.click("text=Refresh now")
    expect(page.locator("[data-testid=segment-size]")).to_have_text("1")
    [request] = receiver.received("/hook")
    assert signed_with(secret, request.headers, request.body)
    payload = json.loads(request.body)
    assert (payload["event"], payload["profile"]["id"], payload["traits"]) == (
        "entered", profile.pk, {"plan": "pro", "name": "Ann Lee"})
    task = Activity.objects.get(kind="task", contact=contact)
    assert (task.subject, task.body, task.assignee) == ("Call Ann (Hot leads)", "Plan: pro", rep)
    page.reload()
    webhook_row = rows.filter(has_text="Warehouse")
    expect(webhook_row.locator("[data-testid=success-rate]")).to_have_text("100.0 %")
    expect(webhook_row.locator("[data-testid=lag]")).to_contain_text(" s / ")
    expect(rows.filter(has_text="Call hot leads").locator("[data-testid=destination-counts]")).to_contain_text(
        "1 done")
    assert axe_violations(page) == []
    screenshot(page, "segment-destinations")

    webhook_row.locator("[data-testid=destination-log]").click()
    expect(page.locator("[data-testid=log-status]")).to_have_text(["Delivered"])
    assert axe_violations(page) == []

    # The rep sees the task on My work and on the contact, and the score on the board.
    rep_page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    login(rep_page, live_server, rep)
    rep_page.goto(f"{live_server.url}/crm/my-work/")
    expect(rep_page.locator("[data-testid=my-tasks]")).to_contain_text("Call Ann (Hot leads)")
    rep_page.goto(f"{live_server.url}/crm/contacts/{contact.pk}/")
    expect(rep_page.locator("body")).to_contain_text("Call Ann (Hot leads)")
    expect(rep_page.locator("body")).to_contain_text("Hot leads")
    rep_page.goto(f"{live_server.url}/crm/board/")
    card = rep_page.locator(f"[data-deal-id='{deal.pk}']")
    expect(card.locator("[data-testid=lead-score]")).to_have_text("40")
    assert axe_violations(rep_page) == []
    screenshot(rep_page, "segment-destinations-board")
    rep_page.context.close()


def test_admin_replays_a_dead_delivery_from_the_dead_letter_page(browser_page, live_server, receiver, admin_user):
    segment = segment_create(name="Pro", definition=PRO)
    destination_create(segment=segment, kind="webhook", name="Flaky", url=receiver.url())
    receiver.answer("/hook", (503, {}, b"down for <maintenance>"))
    profile = Profile.objects.create(traits={"plan": "pro"})
    from segments.services import refresh  # noqa: PLC0415

    refresh.profiles_check(profile_ids=[profile.pk])
    webhooks.deliveries_send()
    delivery = Delivery.objects.get()
    assert delivery.status == "dead"

    page = browser_page
    login(page, live_server, admin_user)
    page.goto(f"{live_server.url}/segments/")
    page.click("[data-testid=dead-letters-link]")
    expect(page.locator("[data-testid=dead-letter-row]")).to_have_count(1)
    assert axe_violations(page) == []
    page.click("[data-testid=inspect]")
    expect(page.locator("[data-testid=dead-letter-error]")).to_contain_text("HTTP 503: down for <maintenance>")
    expect(page.locator("[data-testid=dead-letter-payload]")).to_contain_text(str(delivery.delivery_id))
    assert axe_violations(page) == []
    page.click("[data-testid=replay-one]")
    expect(page.locator("[data-testid=no-dead-letters]")).to_be_visible()
    delivery.refresh_from_db()
    assert delivery.status == "delivered"  # sent again at once (eager tasks), with the same id
    assert {r.headers["x-webhook-id"] for r in receiver.received()} == {str(delivery.delivery_id)}
