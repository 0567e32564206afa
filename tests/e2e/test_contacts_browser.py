"""A rep works with contacts in real Chromium: create with form errors, inline edit, live search, bulk tag."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from crm.models import Contact, LifecycleChange
from tests.crm.factories import CompanyFactory, ContactFactory
from tests.e2e.conftest import login, screenshot

pytestmark = pytest.mark.browser


def test_rep_creates_a_contact_edits_inline_and_sees_the_timeline(browser_page, live_server, sales_user):
    page = browser_page
    CompanyFactory(name="Globex", domain="globex.example", owner=sales_user)
    login(page, live_server, sales_user)
    page.goto(f"{live_server.url}/crm/")
    page.click("[data-testid=nav-contacts]")
    page.click("[data-testid=new-contact]")
    page.fill("#id_first_name", "Ann")
    page.fill("#id_last_name", "Lee")
    page.fill("#id_emails", "ann@globex.example")
    page.fill("#id_phones", "12")
    page.click("[data-testid=save-contact]")
    expect(page.locator(".errorlist")).to_contain_text("international format")
    page.fill("#id_phones", "+49 30 1234567")
    page.fill("#id_company", "Globex (globex.example)")
    page.click("[data-testid=save-contact]")
    expect(page.locator("[data-testid=contact-name]")).to_have_text("Ann Lee")
    expect(page.locator("[data-testid=contact-phones]")).to_contain_text("+49 30 1234567")
    expect(page.locator("[data-testid=contact-company]")).to_have_text("Globex")

    page.click("button[aria-label='Edit lifecycle_stage']")
    page.select_option("#field-lifecycle_stage select[name=value]", "customer")
    page.click("#field-lifecycle_stage button[type=submit]")
    expect(page.locator("[data-testid=field-lifecycle_stage]")).to_have_text("Customer")
    # The timeline refreshes itself after the inline edit (htmx trigger) and shows the change.
    expect(page.locator("[data-testid=timeline]")).to_contain_text("Lifecycle: Lead → Customer")
    expect(page.locator("[data-testid=timeline]")).to_contain_text("Sam Seller")
    screenshot(page, "contact-detail")
    contact = Contact.objects.get(first_name="Ann")
    assert LifecycleChange.objects.filter(contact=contact, to_stage="customer", changed_by=sales_user).exists()


def test_live_search_and_bulk_tag(browser_page, live_server, sales_user):
    page = browser_page
    for name in ("Alice", "Albert", "Bob"):
        ContactFactory(first_name=name, last_name="Tester", owner=sales_user)
    login(page, live_server, sales_user)
    page.goto(f"{live_server.url}/crm/contacts/")
    expect(page.locator("[data-testid=contact-row]")).to_have_count(3)
    page.fill("[data-testid=contact-search]", "alb")
    expect(page.locator("[data-testid=contact-row]")).to_have_count(1)
    expect(page.locator("[data-testid=contact-row]")).to_contain_text("Albert")
    expect(page).to_have_url(re.compile(r"q=alb"))
    page.fill("[data-testid=contact-search]", "")
    expect(page.locator("[data-testid=contact-row]")).to_have_count(3)
    page.check("input[data-select-all]")
    page.select_option("[data-testid=bulk-bar] select[name=action]", "tag")
    page.fill("[data-testid=bulk-bar] input[name=tag]", "expo")
    page.click("[data-testid=bulk-bar] button[type=submit]")
    expect(page.locator(".messages")).to_contain_text("Updated 3 contacts")
    expect(page.locator(".tag", has_text="expo")).to_have_count(3)
    screenshot(page, "contact-list")
    assert Contact.objects.filter(tags__contains=["expo"]).count() == 3
