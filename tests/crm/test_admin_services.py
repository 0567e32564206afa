"""Django admin writes contacts, companies and deals through their services (issue 12): the outbox hears of it."""

from __future__ import annotations

import pytest
from django.urls import reverse

from crm.models import Activity, Company, Contact, Deal, LifecycleChange, OutboxEntry
from crm.services.activities import activity_log
from tests.crm.deal_factories import DealFactory, make_pipeline
from tests.crm.factories import CompanyFactory, ContactFactory
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


def outbox(object_type, object_id):
    return list(OutboxEntry.objects.filter(object_type=object_type, object_id=object_id).order_by("id"))


def contact_form(contact, **changes):
    data = {"first_name": contact.first_name, "last_name": contact.last_name, "title": contact.title,
            "company": contact.company_id or "", "owner": contact.owner_id or "", "team": contact.team_id or "",
            "lifecycle_stage": contact.lifecycle_stage, "lead_source": contact.lead_source,
            "tags": ",".join(contact.tags), "custom": "{}",
            "emails": "\n".join(contact.emails.values_list("email", flat=True)) if contact.pk else "",
            "phones": "\n".join(contact.phones.values_list("number", flat=True)) if contact.pk else ""}
    for prefix in ("emails", "phones", "lifecycle_changes"):
        data |= {f"{prefix}-TOTAL_FORMS": "0", f"{prefix}-INITIAL_FORMS": "0"}
    return data | changes


def test_admin_edit_of_a_contact_goes_through_the_service(admin_client, admin_user):
    owner = UserFactory(role="Sales")
    contact = ContactFactory(first_name="Ann", owner=owner, email="ann@example.com")
    OutboxEntry.objects.all().delete()
    url = reverse("admin:crm_contact_change", args=[contact.pk])
    form = admin_client.get(url)
    assert form.status_code == 200 and "ann@example.com" in form.content.decode()

    response = admin_client.post(url, contact_form(contact, first_name="Annie", lifecycle_stage="customer",
                                                   emails="Annie@Example.com\nann@example.com"))
    assert response.status_code == 302, getattr(response, "context", None) and response.context["adminform"].form.errors
    contact.refresh_from_db()
    assert (contact.first_name, contact.lifecycle_stage, contact.email) == ("Annie", "customer", "annie@example.com")
    [entry] = outbox("contact", contact.pk)
    assert entry.message["traits"]["firstName"] == "Annie" and entry.message["traits"]["lifecycleStage"] == "customer"
    change = LifecycleChange.objects.get(contact=contact)
    assert (change.to_stage, change.changed_by) == ("customer", admin_user)


def test_admin_edit_errors_from_the_service_are_form_errors(admin_client):
    contact = ContactFactory(first_name="Ann")
    OutboxEntry.objects.all().delete()
    response = admin_client.post(reverse("admin:crm_contact_change", args=[contact.pk]),
                                 contact_form(contact, emails="not an address"))
    assert response.status_code == 200
    assert "not an address" in response.content.decode() and "errornote" in response.content.decode()
    contact.refresh_from_db()
    assert contact.first_name == "Ann" and outbox("contact", contact.pk) == []


def test_admin_add_and_delete_of_a_contact_reach_the_outbox(admin_client):
    response = admin_client.post(reverse("admin:crm_contact_add"), contact_form(
        Contact(first_name="Bo", lifecycle_stage="lead"), emails="bo@example.com", phones="+49 30 1234567"))
    assert response.status_code == 302, getattr(response, "context", None) and response.context["adminform"].form.errors
    contact = Contact.objects.get(first_name="Bo")
    assert contact.email == "bo@example.com" and contact.phone == "+49301234567"
    assert [e.message["type"] for e in outbox("contact", contact.pk)] == ["identify"]

    response = admin_client.post(reverse("admin:crm_contact_delete", args=[contact.pk]), {"post": "yes"})
    assert response.status_code == 302
    assert not Contact.objects.filter(pk=contact.pk).exists()
    assert outbox("contact", contact.pk)[-1].message["event"] == "CRM Contact Deleted"


def test_admin_bulk_delete_goes_through_the_service(admin_client):
    contacts = [ContactFactory() for _ in range(2)]
    OutboxEntry.objects.all().delete()
    response = admin_client.post(reverse("admin:crm_contact_changelist"), {
        "action": "delete_selected", "_selected_action": [c.pk for c in contacts], "post": "yes"})
    assert response.status_code == 302
    assert not Contact.objects.filter(pk__in=[c.pk for c in contacts]).exists()
    assert sorted(e.object_id for e in OutboxEntry.objects.filter(message__event="CRM Contact Deleted")) == sorted(
        c.pk for c in contacts)


def company_form(company, **changes):
    data = {"name": company.name, "domain": company.domain, "industry": company.industry, "size": company.size,
            "street": "", "city": "", "region": "", "postal_code": "", "country": "", "owner": "", "team": "",
            "tags": "", "custom": "{}"}
    return data | changes


def test_admin_edit_add_and_delete_of_a_company_reach_the_outbox(admin_client):
    company = CompanyFactory(name="Acme")
    OutboxEntry.objects.all().delete()
    response = admin_client.post(reverse("admin:crm_company_change", args=[company.pk]),
                                 company_form(company, name="Acme GmbH", domain="https://www.Acme.de/about"))
    assert response.status_code == 302, getattr(response, "context", None) and response.context["adminform"].form.errors
    company.refresh_from_db()
    assert (company.name, company.domain) == ("Acme GmbH", "acme.de")
    assert outbox("company", company.pk)[-1].message["traits"]["name"] == "Acme GmbH"

    taken = admin_client.post(reverse("admin:crm_company_add"), company_form(Company(name="Copy"), domain="acme.de"))
    assert taken.status_code == 200 and Company.objects.count() == 1

    response = admin_client.post(reverse("admin:crm_company_add"), company_form(Company(name="Globex")))
    assert response.status_code == 302
    globex = Company.objects.get(name="Globex")
    assert outbox("company", globex.pk)[-1].message["type"] == "group"

    admin_client.post(reverse("admin:crm_company_delete", args=[company.pk]), {"post": "yes"})
    assert not Company.objects.filter(pk=company.pk).exists()
    assert outbox("company", company.pk)[-1].message["event"] == "CRM Company Deleted"


def test_deals_and_activities_are_inspected_in_admin_and_deleted_through_their_service(admin_client, admin_user):
    make_pipeline()
    deal = DealFactory(owner=admin_user)
    task = activity_log(user=admin_user, kind="note", subject="Hello", deal=deal)
    OutboxEntry.objects.all().delete()
    change = admin_client.post(reverse("admin:crm_deal_change", args=[deal.pk]), {"name": "Renamed"})
    assert change.status_code == 403
    admin_client.post(reverse("admin:crm_activity_delete", args=[task.pk]), {"post": "yes"})
    assert not Activity.objects.filter(pk=task.pk).exists()
    admin_client.post(reverse("admin:crm_deal_delete", args=[deal.pk]), {"post": "yes"})
    assert not Deal.objects.filter(pk=deal.pk).exists()
    assert outbox("deal", deal.pk)[-1].message["event"] == "Deal Deleted"


def test_reverting_from_history_is_refused(admin_client, admin_user):
    contact = ContactFactory(first_name="Ann")
    record = contact.history.latest()
    url = reverse("admin:crm_contact_simple_history", args=[contact.pk, record.history_id])
    assert admin_client.get(url).status_code == 200  # looking is fine
    response = admin_client.post(url, contact_form(contact, first_name="Reverted"))
    assert response.status_code == 403
    contact.refresh_from_db()
    assert contact.first_name == "Ann"

    make_pipeline()
    deal = DealFactory(owner=admin_user, name="Deal")
    record = deal.history.latest()
    url = reverse("admin:crm_deal_simple_history", args=[deal.pk, record.history_id])
    assert admin_client.post(url, {"name": "Reverted"}).status_code == 403


# --- a company change reaches its contacts' profiles (their traits carry the company) ---------------------------


def _contact_traits(contact):
    return OutboxEntry.objects.filter(object_type="contact", object_id=contact.pk).latest("id").message["traits"]


def test_company_rename_delete_and_merge_refresh_their_contacts_traits(admin_user):
    from crm.services.companies import company_delete, company_update
    from crm.services.merge import company_merge

    acme = CompanyFactory(name="Acme", domain="acme.example")
    globex = CompanyFactory(name="Globex", domain="globex.example")
    ann, bo = ContactFactory(company=acme), ContactFactory(company=globex)
    OutboxEntry.objects.all().delete()

    company_update(company=acme, actor=admin_user, changes={"industry": "Hardware"})  # shown on contacts
    assert _contact_traits(ann)["company"]["industry"] == "Hardware"
    before = OutboxEntry.objects.count()
    company_update(company=acme, actor=admin_user, changes={"city": "Berlin"})  # not on contacts: company only
    assert OutboxEntry.objects.count() == before + 1

    company_merge(survivor=acme, other=globex, field_choices={}, actor=admin_user)
    assert _contact_traits(bo)["company"]["name"] == "Acme"

    company_delete(company=acme, actor=admin_user)
    assert _contact_traits(ann)["company"] is None and _contact_traits(bo)["company"] is None
