"""Company services and pages: domain rules, outbox group messages, list/search/export, detail with contacts."""

from __future__ import annotations

import csv
import io

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from crm.models import Company, Contact, OutboxEntry
from crm.services.companies import company_create, company_delete, company_update, domain_normalize
from tests.crm.factories import CompanyFactory, ContactFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("raw, expected", [
    ("Acme.com", "acme.com"), ("https://www.acme.com/about?x=1", "acme.com"), ("jane@sub.acme.co.uk", "sub.acme.co.uk"),
    ("", ""),
])
def test_domain_normalize(raw, expected):
    assert domain_normalize(raw) == expected


def test_domain_normalize_refuses_non_domains():
    with pytest.raises(ValidationError):
        domain_normalize("not a domain")


def test_create_update_record_history_and_group_message(sales_user):
    company = company_create(actor=sales_user, name="Acme", domain="WWW.Acme.com", size="51-200",
                             tags=["Partner"], city="Berlin", country="de")
    assert (company.domain, company.country, company.owner, company.tags) == ("acme.com", "DE", sales_user,
                                                                               ["partner"])
    message = OutboxEntry.objects.get(object_type="company").message
    assert message["type"] == "group" and message["groupId"] == f"crm-company-{company.pk}"
    assert message["traits"]["name"] == "Acme" and message["traits"]["domain"] == "acme.com"
    company_update(company=company, actor=sales_user, changes={"industry": "Aerospace"})
    latest = company.history.latest()
    assert latest.industry == "Aerospace" and latest.history_user == sales_user
    with pytest.raises(ValidationError) as info:
        company_create(actor=sales_user, name="Other", domain="acme.com")
    assert "already exists" in info.value.message_dict["domain"][0]
    with pytest.raises(ValidationError) as info:
        company_update(company=company, actor=sales_user, changes={"name": " "})
    assert "name" in info.value.message_dict


def test_delete_keeps_contacts(sales_user):
    company = CompanyFactory(owner=sales_user)
    contact = ContactFactory(owner=sales_user, company=company)
    company_delete(company=company, actor=sales_user)
    contact.refresh_from_db()
    assert contact.company is None and not Company.objects.filter(pk=company.pk).exists()


def test_company_list_search_filters_and_queries(sales_client, sales_user, django_assert_max_num_queries):
    for i in range(30):
        company = CompanyFactory(owner=sales_user, name=f"Firm {i:02d}", industry="Retail" if i % 2 else "Software",
                                 size="1-10")
        ContactFactory(owner=sales_user, company=company)
    CompanyFactory(owner=sales_user, name="Rocket Labs", domain="rocketlabs.example")
    with django_assert_max_num_queries(12):
        response = sales_client.get(reverse("company-list"), {"industry": "retail"})
    rows = response.context["rows"]
    assert len(rows) == 15 and all(c.industry == "Retail" and n == 1 for c, n in rows)
    response = sales_client.get(reverse("company-list"), {"q": "rocketlabs"})
    assert [c.name for c, _ in response.context["rows"]] == ["Rocket Labs"]
    response = sales_client.get(reverse("company-list"), {"sort": "-name"})
    assert response.context["rows"][0][0].name == "Rocket Labs"


def test_company_pages_create_edit_detail_and_export(sales_client, sales_user):
    response = sales_client.post(reverse("company-new"), {"name": "Globex", "domain": "globex", "size": ""})
    assert "not a domain" in response.context["form"].errors["domain"][0]
    response = sales_client.post(reverse("company-new"), {"name": "Globex", "domain": "globex.example",
                                                          "owner": sales_user.pk})
    company = Company.objects.get()
    assert response.status_code == 302
    ContactFactory(owner=sales_user, company=company, first_name="Hank")
    detail = sales_client.get(reverse("company-detail", args=[company.pk]))
    assert "Hank" in detail.content.decode() and "Created" in detail.content.decode()
    response = sales_client.post(reverse("company-edit", args=[company.pk]), {"name": "Globex Corp",
                                                                              "domain": "globex.example",
                                                                              "owner": sales_user.pk})
    assert response.status_code == 302
    detail = sales_client.get(reverse("company-detail", args=[company.pk]))
    assert "Globex → Globex Corp" in detail.content.decode()
    inline = sales_client.post(reverse("company-inline", args=[company.pk, "industry"]), {"value": "Chemicals"})
    assert "Chemicals" in inline.content.decode()
    export = sales_client.get(reverse("company-export"))
    rows = list(csv.DictReader(io.StringIO(b"".join(export.streaming_content).decode("utf-8-sig"))))
    assert [(r["name"], r["industry"]) for r in rows] == [("Globex Corp", "Chemicals")]


def test_company_options_for_the_contact_form(sales_client, sales_user):
    CompanyFactory(owner=sales_user, name="Initech", domain="initech.example")
    response = sales_client.get(reverse("company-options"), {"company": "initech"})
    assert '<option value="Initech (initech.example)">' in response.content.decode()
    assert Contact.objects.count() == 0


def test_company_list_filters_by_custom_field_and_tag(sales_client, sales_user):
    from tests.crm.factories import CustomFieldDefinitionFactory

    CustomFieldDefinitionFactory(object_type="company", key="tier", field_type="choice", choices=["Gold", "Silver"])
    CompanyFactory(owner=sales_user, name="Golden", custom={"tier": "Gold"}, tags=["partner"])
    CompanyFactory(owner=sales_user, name="Silvery", custom={"tier": "Silver"})
    response = sales_client.get(reverse("company-list"), {"cf_tier": "gold"})
    assert [c.name for c, _ in response.context["rows"]] == ["Golden"]
    response = sales_client.get(reverse("company-list"), {"tag": "Partner"})
    assert [c.name for c, _ in response.context["rows"]] == ["Golden"]
