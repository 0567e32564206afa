"""Confirmations and form switches come from static/js/app.js (data attributes), not inline handlers: they still
work, and identifier text from event data shown in a confirmation is text, never script (issue 12)."""

from __future__ import annotations

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from cdp.models import Identifier
from crm.models import Contact
from crm.services.contacts import contact_create
from tests.cdp.identity_support import ingest, msg, profile_of, source
from tests.e2e.conftest import login

pytestmark = pytest.mark.browser


def test_delete_asks_first_and_the_activity_kind_switches_fields(browser_page, live_server, admin_user):
    page = browser_page
    contact = contact_create(actor=None, first_name="Ann", last_name="Lee", emails=["ann@lee.io"], owner=admin_user)
    login(page, live_server, admin_user)
    page.goto(live_server.url + reverse("contact-detail", args=[contact.pk]))
    expect(page.locator("form.log-form select[data-sets-form-kind]")).to_be_visible()  # the form is there
    expect(page.locator(".kind-call").first).to_be_hidden()
    page.select_option("select[data-sets-form-kind]", "call")
    expect(page.locator(".kind-call").first).to_be_visible()

    asked: list[str] = []

    def answer(dialog, accept: bool) -> None:
        asked.append(dialog.message)
        dialog.accept() if accept else dialog.dismiss()

    page.once("dialog", lambda d: answer(d, False))
    page.click("form[data-confirm] button.danger")
    page.wait_for_timeout(300)
    assert asked == ["Delete this contact?"] and Contact.objects.filter(pk=contact.pk).exists()
    page.once("dialog", lambda d: answer(d, True))
    with page.expect_navigation():
        page.click("form[data-confirm] button.danger")
    assert not Contact.objects.filter(pk=contact.pk).exists()


def test_identifier_text_in_the_split_confirmation_is_not_run(browser_page, live_server, admin_user):
    page = browser_page
    ingest(source("server"), [msg("identify", minute=0, userId="ann", anonymousId="dev-1")])
    profile = profile_of("user_id", "ann")
    evil = "x');window.__pwned=1;//"
    ident = Identifier.objects.create(type=evil, value="v", profile=profile)
    login(page, live_server, admin_user)
    page.goto(live_server.url + reverse("cdp:profile-detail", args=[profile.pk]))
    asked: list[str] = []
    page.once("dialog", lambda d: (asked.append(d.message), d.dismiss()))
    page.click(f"form[action='{reverse('cdp:identifier-split', args=[ident.pk])}'] button")
    page.wait_for_timeout(300)
    assert asked == [f"Split {evil}:v into its own profile?"]
    assert page.evaluate("window.__pwned") is None
    assert Identifier.objects.get(pk=ident.pk).profile_id == profile.pk
