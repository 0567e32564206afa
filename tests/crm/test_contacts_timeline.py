"""The timeline providers for field history and lifecycle changes, and the contact panel extension point."""

from __future__ import annotations

import pytest
from django.urls import reverse

from crm import extensions
from crm.extensions import timeline_for
from crm.services.contacts import contact_create, contact_update
from tests.crm.factories import CompanyFactory

pytestmark = pytest.mark.django_db


def test_history_entries_name_who_changed_which_field_from_what_to_what(sales_user, admin_user):
    old_company = CompanyFactory(name="Old Co", owner=sales_user)
    new_company = CompanyFactory(name="New Co", owner=sales_user)
    contact = contact_create(actor=sales_user, first_name="Jane", company=old_company)
    contact_update(contact=contact, actor=admin_user, changes={"company": new_company, "title": "VP"})
    entries = timeline_for(contact, user=sales_user)
    assert entries == sorted(entries, key=lambda e: e.at, reverse=True)
    history = [e for e in entries if e.kind == "history"]
    assert history[-1].title == "Created" and history[-1].actor == "Sam Seller"
    changes = {c["field"]: (c["old"], c["new"]) for c in history[0].extra["changes"]}
    assert changes == {"Company": ("Old Co", "New Co"), "Title": ("—", "VP")}
    assert history[0].actor == "Ada Admin"
    lifecycle = [e for e in entries if e.kind == "lifecycle"]
    assert lifecycle[0].title == "Lifecycle set to Lead"


def test_other_apps_can_add_timeline_entries_and_contact_panels(sales_client, sales_user, monkeypatch):
    from crm.extensions import TimelineEntry

    contact = contact_create(actor=sales_user, first_name="Jane")

    def web_events(subject, *, user, limit):
        return [TimelineEntry(at=subject.created_at, kind="web_event", title="Viewed /pricing")]

    def segments_panel(contact, *, user):
        return {"title": "Segments", "template": "crm/contacts/_panel_list.html",
                "context": {"items": [{"label": "Hot", "detail": "since today"}]}}

    monkeypatch.setattr(extensions, "_timeline_providers", [*extensions._timeline_providers, web_events])
    monkeypatch.setattr(extensions, "_contact_panels", [segments_panel])
    body = sales_client.get(reverse("contact-detail", args=[contact.pk])).content.decode()
    assert "Viewed /pricing" in body
    assert "Segments" in body and "Hot" in body and "since today" in body


def test_timeline_endpoints_render_for_htmx_refresh(sales_client, sales_user):
    contact = contact_create(actor=sales_user, first_name="Jane")
    company = CompanyFactory(owner=sales_user)
    response = sales_client.get(reverse("contact-timeline", args=[contact.pk]), HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and "Lifecycle set to Lead" in response.content.decode()
    response = sales_client.get(reverse("company-timeline", args=[company.pk]), HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and 'data-testid="timeline"' in response.content.decode()
