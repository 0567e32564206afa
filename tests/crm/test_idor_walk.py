"""An attacker's walk over every CRM page and endpoint that takes an id (issue 12), as a Sales rep of another team
and as a Support agent: other people's contacts, companies, deals, activities, imports, saved views and
duplicate pairs can be neither read (Sales) nor changed (both), through the pages or the API."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from crm.models import Activity, Company, Contact, Deal, DuplicateDismissal, ImportJob, OutboxEntry, SavedView
from crm.services.activities import activity_log
from crm.services.deals import deal_create
from crm.services.imports import import_job_create
from crm.services.saved_views import saved_view_save
from tests.crm.deal_factories import make_pipeline, stage
from tests.crm.factories import CompanyFactory, ContactFactory
from tests.crm.import_helpers import csv_upload
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PWNED = "Pwned"


@pytest.fixture
def victim(settings, tmp_path):
    """Records of a Sales rep of another team."""
    settings.MEDIA_ROOT = tmp_path
    pipeline = make_pipeline()
    rival = UserFactory(username="rival", role="Sales")
    company = CompanyFactory(owner=rival, name="Rival Co", domain="rival.example")
    contact = ContactFactory(owner=rival, first_name="Rita", last_name="Rival", email="rita@rival.example",
                             company=company)
    twin = ContactFactory(owner=rival, first_name="Rita", last_name="Rival", email="rita2@rival.example")
    deal = deal_create(user=rival, name="Rival deal", pipeline=pipeline, company=company, contacts=[contact])
    task = activity_log(user=rival, kind="task", subject="Rival task", deal=deal,
                        due_at=timezone.now() + timedelta(days=1))
    job = import_job_create(actor=rival, object_type="contact", upload=csv_upload([["Email"], ["x@example.com"]]))
    view = saved_view_save(user=rival, object_type="contact", name="Rival view", query_string="q=rita")
    return {"user": rival, "pipeline": pipeline, "company": company, "contact": contact, "twin": twin, "deal": deal,
            "task": task, "job": job, "view": view}


def snapshot(v) -> tuple:
    contact = Contact.objects.get(pk=v["contact"].pk)
    company = Company.objects.get(pk=v["company"].pk)
    deal = Deal.objects.get(pk=v["deal"].pk)
    task = Activity.objects.get(pk=v["task"].pk)
    return (contact.first_name, contact.title, contact.owner_id, company.industry, contact.tags,
            contact.lifecycle_stage, company.name, company.owner_id, deal.name, deal.stage_id, deal.status,
            deal.owner_id, task.done, task.subject,
            ImportJob.objects.get(pk=v["job"].pk).status, SavedView.objects.filter(pk=v["view"].pk).exists(),
            Contact.objects.filter(pk=v["twin"].pk).exists(), DuplicateDismissal.objects.exists(),
            sorted(deal.contacts.values_list("pk", flat=True)),
            Activity.objects.filter(deal=deal).count() + Activity.objects.filter(contact=contact).count())


def page_reads(v) -> list[str]:
    c, co, d, j = v["contact"].pk, v["company"].pk, v["deal"].pk, v["job"].pk
    return [
        reverse("contact-detail", args=[c]), reverse("contact-timeline", args=[c]),
        reverse("company-detail", args=[co]), reverse("company-timeline", args=[co]),
        reverse("deal-detail", args=[d]), reverse("deal-fields", args=[d]),
        reverse("duplicate-compare", args=[c, v["twin"].pk]),
    ], [
        reverse("contact-edit", args=[c]), reverse("contact-inline", args=[c, "first_name"]),
        reverse("company-edit", args=[co]), reverse("company-inline", args=[co, "name"]),
        reverse("deal-edit", args=[d]),
        reverse("import-detail", args=[j]), reverse("import-map", args=[j]), reverse("import-preview", args=[j]),
        reverse("import-progress", args=[j]), reverse("import-errors", args=[j]),
    ]


def page_writes(v) -> list[tuple[str, dict]]:
    """Requests that change the records when their owner sends them (test_the_owner_can_do_all_this holds that)."""
    c, co, d, j = v["contact"].pk, v["company"].pk, v["deal"].pk, v["job"].pk
    won = stage(v["pipeline"], "Won").pk
    owner = v["user"].pk
    return [
        (reverse("contact-edit", args=[c]), {"first_name": PWNED, "last_name": "Rival", "lifecycle_stage": "lead",
                                             "emails": "rita@rival.example", "owner": owner}),
        (reverse("contact-inline", args=[c, "title"]), {"value": PWNED}),
        (reverse("contact-inline", args=[c, "lifecycle_stage"]), {"value": "customer"}),
        (reverse("contact-delete", args=[c]), {}),
        (reverse("contact-bulk"), {"action": "tag", "tag": PWNED, "ids": [c]}),
        (reverse("contact-bulk"), {"action": "lifecycle", "lifecycle_stage": "customer", "ids": [c]}),
        (reverse("company-edit", args=[co]), {"name": PWNED, "domain": "rival.example", "owner": owner}),
        (reverse("company-inline", args=[co, "industry"]), {"value": PWNED}),
        (reverse("company-delete", args=[co]), {}),
        (reverse("deal-edit", args=[d]), {"name": PWNED, "pipeline": v["pipeline"].pk, "amount": "1",
                                          "currency": "EUR", "owner": owner, "contacts": [c], "company": co}),
        (reverse("deal-stage", args=[d]), {"stage": won}),
        (reverse("deal-won", args=[d]), {}),
        (reverse("deal-lost", args=[d]), {"lost_reason": PWNED}),
        (reverse("deal-board-move"), {"deal": d, "stage": won}),
        (reverse("task-complete", args=[v["task"].pk]), {}),
        (reverse("activity-log"), {"kind": "note", "subject": PWNED, "deal": d}),
        (reverse("activity-log"), {"kind": "note", "subject": PWNED, "contact": c}),
        (reverse("import-start", args=[j]), {}),
        (reverse("saved-view-delete", args=[v["view"].pk]), {}),
        (reverse("duplicate-dismiss", args=[c, v["twin"].pk]), {}),
        (reverse("duplicate-compare", args=[c, v["twin"].pk]), {"keep": "a"}),
    ]


def api_writes(v) -> list[tuple[str, str, dict]]:
    c, co, d, t = v["contact"].pk, v["company"].pk, v["deal"].pk, v["task"].pk
    won = stage(v["pipeline"], "Won").pk
    return [
        ("patch", f"/api/crm/contacts/{c}/", {"first_name": PWNED}),
        ("delete", f"/api/crm/contacts/{c}/", {}),
        ("patch", f"/api/crm/companies/{co}/", {"name": PWNED}),
        ("delete", f"/api/crm/companies/{co}/", {}),
        ("patch", f"/api/crm/deals/{d}/", {"name": PWNED}),
        ("delete", f"/api/crm/deals/{d}/", {}),
        ("post", f"/api/crm/deals/{d}/move/", {"stage": won}),
        ("post", f"/api/crm/deals/{d}/won/", {}),
        ("post", f"/api/crm/deals/{d}/lost/", {"lost_reason": PWNED}),
        ("patch", f"/api/crm/activities/{t}/", {"subject": PWNED}),
        ("delete", f"/api/crm/activities/{t}/", {}),
        ("post", f"/api/crm/activities/{t}/complete/", {"done": True}),
        ("post", "/api/crm/activities/", {"kind": "note", "subject": PWNED, "deal": d}),
        ("post", "/api/crm/activities/", {"kind": "note", "subject": PWNED, "contact": c}),
        ("delete", f"/api/crm/saved-views/{v['view'].pk}/", {}),
        ("post", f"/api/crm/contacts/{v['twin'].pk}/merge/", {"other": c}),
    ]


def api_reads(v) -> list[str]:
    c, co, d, t = v["contact"].pk, v["company"].pk, v["deal"].pk, v["task"].pk
    return [f"/api/crm/contacts/{c}/", f"/api/crm/contacts/{c}/lifecycle-changes/", f"/api/crm/companies/{co}/",
            f"/api/crm/deals/{d}/", f"/api/crm/activities/{t}/"]


def attacker(role: str):
    user = UserFactory(username=f"mallory-{role.lower()}", role=role)
    client, api = Client(), APIClient()
    client.force_login(user)
    api.force_authenticate(user)
    return user, client, api


def assert_nothing_changed(v, before):
    assert snapshot(v) == before
    assert not Contact.objects.filter(first_name=PWNED).exists()
    assert not Activity.objects.filter(subject=PWNED).exists()


@pytest.mark.parametrize("role", ["Sales", "Support"])
def test_pages_refuse_other_peoples_records(victim, role):
    _user, client, _api = attacker(role)
    before = snapshot(victim)
    outbox = OutboxEntry.objects.count()
    readable, never_readable = page_reads(victim)
    for url in readable:
        status = client.get(url).status_code
        assert status == (200 if role == "Support" else 404), (url, status)
    for url in never_readable:
        status = client.get(url).status_code
        assert status in (403, 404), (url, status)
    for url, data in page_writes(victim):
        response = client.post(url, data)
        assert response.status_code in (302, 400, 403, 404), (url, response.status_code)
        assert_nothing_changed(victim, before)
    assert OutboxEntry.objects.count() == outbox


@pytest.mark.parametrize("role", ["Sales", "Support"])
def test_api_refuses_other_peoples_records(victim, role):
    _user, _client, api = attacker(role)
    before = snapshot(victim)
    outbox = OutboxEntry.objects.count()
    for url in api_reads(victim):
        status = api.get(url).status_code
        assert status == (200 if role == "Support" else 404), (url, status)
    assert api.get(f"/api/crm/saved-views/{victim['view'].pk}/").status_code == 404
    for method, url, data in api_writes(victim):
        response = getattr(api, method)(url, data, format="json")
        assert response.status_code in (400, 403, 404), (method, url, response.status_code)
        assert set(response.json()) == {"error", "detail"}
        assert_nothing_changed(victim, before)
    assert OutboxEntry.objects.count() == outbox


def test_a_rep_cannot_link_own_records_to_other_peoples(victim, sales_user):
    """Creating or editing one's own records with another team's contact/company ids is refused too."""
    _ = sales_user
    user, client, api = attacker("Sales")
    c, co = victim["contact"].pk, victim["company"].pk
    client.post(reverse("deal-create"), {"name": "Sneaky", "pipeline": victim["pipeline"].pk, "amount": "1",
                                         "currency": "EUR", "owner": user.pk, "contacts": [c], "company": co})
    api.post("/api/crm/deals/", {"name": "Sneaky API", "pipeline": victim["pipeline"].pk, "contacts": [c],
                                 "company": co}, format="json")
    client.post(reverse("contact-new"), {"first_name": "Sneaky", "emails": "s@example.com", "company": co})
    api.post("/api/crm/contacts/", {"first_name": "Sneaky API", "emails": ["s2@example.com"], "company": co},
             format="json")
    assert not Deal.objects.filter(contacts=victim["contact"]).exclude(pk=victim["deal"].pk).exists()
    assert not Deal.objects.filter(company=victim["company"]).exclude(pk=victim["deal"].pk).exists()
    assert not Contact.objects.filter(company=victim["company"]).exclude(
        pk=victim["contact"].pk).exists()


def test_lists_filters_and_exports_leak_nothing(victim):
    _user, client, api = attacker("Sales")
    c, co, d = victim["contact"].pk, victim["company"].pk, victim["deal"].pk
    for url in (f"/api/crm/activities/?deal={d}", f"/api/crm/activities/?contact={c}",
                f"/api/crm/contacts/?company={co}", f"/api/crm/deals/?company={co}",
                "/api/crm/contacts/?search=rita", "/api/crm/saved-views/"):
        response = api.get(url)
        assert response.status_code in (200, 400), url
        if response.status_code == 200:
            assert response.json()["results"] == [], url
    for name in ("contact-export", "company-export", "deal-export"):
        body = b"".join(client.get(reverse(name), {"q": "rival", "owner": victim["user"].pk}).streaming_content)
        assert b"Rival" not in body and b"rita" not in body.lower(), name
    for name in ("contact-list", "company-list", "deal-list", "deal-board", "my-work", "duplicate-list",
                 "import-list"):
        page = client.get(reverse(name), {"q": "rita"}).content.decode()
        assert "Rita" not in page and "Rival" not in page, name


def test_the_owner_can_do_all_this(victim):
    """The walk's requests are real: each one, sent by the records' owner, changes something."""
    from django.db import transaction

    client, api = Client(), APIClient()
    client.force_login(victim["user"])
    api.force_authenticate(victim["user"])
    requests = [("post", url, data, client) for url, data in page_writes(victim)]
    requests += [(method, url, data, api) for method, url, data in api_writes(victim)]
    for method, url, data, who in requests:
        with transaction.atomic():
            before = snapshot(victim)
            kwargs = {"format": "json"} if who is api else {}
            response = getattr(who, method)(url, data, **kwargs)
            try:
                after = snapshot(victim)
            except (Contact.DoesNotExist, Company.DoesNotExist, Deal.DoesNotExist, Activity.DoesNotExist):
                after = None
            assert after != before, (method, url, response.status_code)
            transaction.set_rollback(True)


def test_merging_another_teams_contact_into_ones_own_is_refused(victim):
    user, client, api = attacker("Sales")
    own = ContactFactory(owner=user, first_name="Mine", last_name="Rival", email="mine@example.com")
    before = snapshot(victim)
    response = api.post(f"/api/crm/contacts/{own.pk}/merge/", {"other": victim["contact"].pk}, format="json")
    assert response.status_code in (400, 403, 404)
    assert client.post(reverse("duplicate-compare", args=[own.pk, victim["contact"].pk]),
                       {"keep": "a"}).status_code in (403, 404)
    assert_nothing_changed(victim, before)


def test_prefilled_forms_do_not_reveal_other_peoples_records(victim):
    _user, client, _api = attacker("Sales")
    page = client.get(reverse("deal-create"), {"contact": victim["contact"].pk,
                                               "company": victim["company"].pk}).content.decode()
    assert "Rita" not in page and "Rival Co" not in page
    assert client.get(reverse("company-options"), {"q": "rival"}).content == b""


def test_an_import_cannot_overwrite_or_attach_to_other_peoples_records(victim):
    from tests.crm.import_helpers import run_import

    user, _client, _api = attacker("Sales")
    before = snapshot(victim)
    job = run_import(user, [["Email", "First name", "Company", "Tags"],
                            ["rita@rival.example", PWNED, "Rival Co", PWNED]])
    assert job.status == ImportJob.Status.DONE
    assert snapshot(victim)[:6] == before[:6]
    contact = Contact.objects.get(pk=victim["contact"].pk)
    assert contact.first_name == "Rita" and PWNED not in contact.tags
    assert not Contact.objects.filter(company=victim["company"]).exclude(pk=contact.pk).exists()


@pytest.mark.parametrize("params", [
    {"sort": "owner__password"}, {"sort": "-id;drop table crm_contact"}, {"page": "-1"}, {"page": "9" * 30},
    {"owner": "'; select 1"}, {"lifecycle": "<script>"}, {"cf_x": "1"}, {"q": "\x00"}, {"ordering": "password"},
])
def test_hostile_list_parameters_never_break_a_page(victim, params):
    _user, client, api = attacker("Sales")
    for name in ("contact-list", "company-list", "deal-list", "contact-export", "deal-board"):
        response = client.get(reverse(name), params)
        assert response.status_code in (200, 400), (name, params, response.status_code)
        body = b"".join(response.streaming_content) if response.streaming else response.content
        assert b"<script>" not in body
    for url in ("/api/crm/contacts/", "/api/crm/deals/", "/api/crm/activities/"):
        response = api.get(url, params)
        assert response.status_code in (200, 400, 404), (url, params, response.status_code)  # 404: no such page
        if response.status_code != 200:
            assert set(response.json()) == {"error", "detail"}
