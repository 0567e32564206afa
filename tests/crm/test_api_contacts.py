"""CRM API for contacts, companies, custom field definitions and saved views."""

from __future__ import annotations

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from crm.models import Company, Contact, CustomFieldDefinition, OutboxEntry, SavedView
from crm.selectors import contacts as contacts_selectors
from tests.crm.factories import CompanyFactory, ContactFactory, CustomFieldDefinitionFactory
from tests.factories import TeamFactory, UserFactory

pytestmark = pytest.mark.django_db


def api_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_token_auth_and_anonymous_refused(sales_user):
    ContactFactory(owner=sales_user)
    assert APIClient().get("/api/crm/contacts/").status_code in (401, 403)
    token = Token.objects.create(user=sales_user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    response = client.get("/api/crm/contacts/")
    assert response.status_code == 200 and response.json()["count"] == 1


def test_list_is_scoped_paginated_and_constant_in_queries(sales_user, django_assert_max_num_queries):
    company = CompanyFactory(owner=sales_user)
    for i in range(30):
        ContactFactory(owner=sales_user, company=company, first_name=f"C{i}", phones=["+49301234567"])
    ContactFactory(owner=UserFactory(role="Sales"), first_name="Hidden")
    client = api_for(sales_user)
    with django_assert_max_num_queries(8):
        response = client.get("/api/crm/contacts/", {"page_size": 10})
    body = response.json()
    assert body["count"] == 30
    assert all(row["first_name"] != "Hidden" for row in body["results"])
    row = body["results"][0]
    assert row["company_name"] == company.name and row["phones"] == [{"number": "+49301234567", "kind": "mobile"}]
    assert row["emails"] == [row["email"]]


def test_filters_search_and_ordering(sales_user):
    CustomFieldDefinitionFactory(key="tier", field_type="choice", choices=["Gold", "Silver"])
    acme = CompanyFactory(name="Acme Rockets", owner=sales_user)
    ContactFactory(owner=sales_user, first_name="Ann", last_name="Zed", lifecycle_stage="customer",
                   tags=["vip"], custom={"tier": "Gold"}, company=acme)
    ContactFactory(owner=sales_user, first_name="Bob", last_name="Young", lifecycle_stage="lead")
    client = api_for(sales_user)

    def names(**params):
        response = client.get("/api/crm/contacts/", params)
        assert response.status_code == 200, response.json()
        return [r["first_name"] for r in response.json()["results"]]

    assert names(lifecycle_stage="customer") == ["Ann"]
    assert names(tag="VIP") == ["Ann"]
    assert names(custom="tier:gold") == ["Ann"]
    assert names(search="rockets") == ["Ann"]
    assert names(ordering="last_name") == ["Bob", "Ann"]
    assert names(ordering="-last_name") == ["Ann", "Bob"]
    bad = client.get("/api/crm/contacts/", {"custom": "nope:1"})
    assert bad.status_code == 400 and bad.json()["error"]


@pytest.fixture
def mixed_case_names(sales_user):
    # Raw column order would put "Adams" and "adams" apart (and "Carter" before "baker" under C collation).
    for first, last, stage in [("Zed", "adams", "customer"), ("Al", "Adams", "lead"), ("Bob", "baker", "lead"),
                               ("Cy", "Carter", "customer")]:
        ContactFactory(owner=sales_user, first_name=first, last_name=last, lifecycle_stage=stage,
                       company=CompanyFactory(name=f"Rocket {first}"))


@pytest.mark.parametrize("sort_ids", [10_000, 2, 0], ids=["narrow-search", "broad-after-two", "broad-walked-search"])
def test_ordering_by_name_is_case_insensitive_like_the_list_page(sales_user, mixed_case_names,
                                                                  sort_ids, monkeypatch):
    monkeypatch.setattr(contacts_selectors, "SEARCH_SORT_IDS", sort_ids)
    client = api_for(sales_user)

    def names(**params):
        response = client.get("/api/crm/contacts/", params)
        assert response.status_code == 200, response.json()
        return [r["first_name"] for r in response.json()["results"]]

    by_name = ["Al", "Zed", "Bob", "Cy"]  # last name, then first name, ignoring case
    assert names() == by_name
    assert names(ordering="last_name") == by_name
    assert names(ordering="-last_name") == by_name[::-1]
    assert names(ordering="first_name") == ["Al", "Bob", "Cy", "Zed"]
    assert names(ordering="lifecycle_stage,last_name") == ["Zed", "Cy", "Al", "Bob"]
    # A search keeps the requested order, whichever way it finds its matches.
    assert names(search="rocket") == by_name
    assert names(search="rocket", ordering="-last_name") == by_name[::-1]
    assert names(search="rocket", lifecycle_stage="lead") == ["Al", "Bob"]
    assert names(ordering="search_text") == by_name  # not an ordering field: ignored, as before


def test_company_ordering_by_name_is_case_insensitive(sales_user):
    for name in ["zeta", "Bolt", "acme", "Alpha"]:
        CompanyFactory(owner=sales_user, name=name)
    client = api_for(sales_user)

    def names(**params):
        return [r["name"] for r in client.get("/api/crm/companies/", params).json()["results"]]

    assert names() == ["acme", "Alpha", "Bolt", "zeta"]
    assert names(ordering="-name") == ["zeta", "Bolt", "Alpha", "acme"]
    assert names(ordering="industry,name") == ["acme", "Alpha", "Bolt", "zeta"]


def test_create_read_update_delete(sales_user):
    client = api_for(sales_user)
    company = CompanyFactory(owner=sales_user)
    response = client.post("/api/crm/contacts/", {
        "first_name": "Jane", "last_name": "Doe", "emails": ["Jane@Example.com"],
        "phones": [{"number": "+1 415 555 2671", "kind": "work"}], "company": company.pk, "tags": ["VIP"],
        "lifecycle_stage": "sales_qualified",
    }, format="json")
    assert response.status_code == 201, response.json()
    data = response.json()
    assert data["email"] == "jane@example.com" and data["phone"] == "+14155552671" and data["owner"] == sales_user.pk
    assert data["tags"] == ["vip"]
    pk = data["id"]
    assert client.get(f"/api/crm/contacts/{pk}/").json()["first_name"] == "Jane"
    response = client.patch(f"/api/crm/contacts/{pk}/", {"lifecycle_stage": "customer"}, format="json")
    assert response.status_code == 200 and response.json()["lifecycle_stage"] == "customer"
    assert Contact.objects.get(pk=pk).lifecycle_changes.count() == 2
    assert OutboxEntry.objects.filter(object_type="contact", object_id=pk).count() == 2
    assert client.delete(f"/api/crm/contacts/{pk}/").status_code == 204
    assert not Contact.objects.filter(pk=pk).exists()


def test_validation_errors_are_json_400(sales_user):
    client = api_for(sales_user)
    response = client.post("/api/crm/contacts/", {"first_name": "X", "phones": [{"number": "12"}],
                                                  "emails": ["nope"]}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["error"] and "phones" in body["detail"] and "emails" in body["detail"]


def test_no_mass_assignment_of_owner_team_or_audit_fields(sales_user):
    other = UserFactory(role="Sales")
    other_team = TeamFactory()
    client = api_for(sales_user)
    response = client.post("/api/crm/contacts/", {"first_name": "A", "owner": other.pk}, format="json")
    assert response.status_code == 400 and "owner" in response.json()["detail"]
    response = client.post("/api/crm/contacts/", {"first_name": "A", "team": other_team.pk}, format="json")
    assert response.status_code == 400 and "team" in response.json()["detail"]
    response = client.post("/api/crm/contacts/", {"first_name": "A", "created_at": "2000-01-01T00:00:00Z",
                                                  "id": 999999}, format="json")
    assert response.status_code == 201
    contact = Contact.objects.get(pk=response.json()["id"])
    assert contact.pk != 999999 and contact.created_at.year != 2000 and contact.owner == sales_user
    response = client.patch(f"/api/crm/contacts/{contact.pk}/", {"owner": other.pk}, format="json")
    assert response.status_code == 400
    contact.refresh_from_db()
    assert contact.owner == sales_user


def test_manager_may_assign_team_member(sales_user):
    manager = UserFactory(role="Sales")
    team = TeamFactory(manager=manager)
    team.members.add(sales_user)
    response = api_for(manager).post("/api/crm/contacts/", {"first_name": "A", "owner": sales_user.pk,
                                                            "team": team.pk}, format="json")
    assert response.status_code == 201 and response.json()["owner"] == sales_user.pk


def test_scoping_on_detail_and_writes(sales_user, marketing_user):
    hidden = ContactFactory(owner=UserFactory(role="Sales"))
    client = api_for(sales_user)
    assert client.get(f"/api/crm/contacts/{hidden.pk}/").status_code == 404
    assert client.patch(f"/api/crm/contacts/{hidden.pk}/", {"title": "x"}, format="json").status_code == 404
    assert client.delete(f"/api/crm/contacts/{hidden.pk}/").status_code == 404
    readonly = api_for(marketing_user)
    assert readonly.get(f"/api/crm/contacts/{hidden.pk}/").status_code == 200
    response = readonly.patch(f"/api/crm/contacts/{hidden.pk}/", {"title": "x"}, format="json")
    assert response.status_code == 403 and response.json()["error"]
    assert readonly.post("/api/crm/contacts/", {"first_name": "A"}, format="json").status_code == 403
    assert readonly.delete(f"/api/crm/contacts/{hidden.pk}/").status_code == 403


def test_companies_crud_domain_normalization_and_uniqueness(sales_user, django_assert_max_num_queries):
    client = api_for(sales_user)
    response = client.post("/api/crm/companies/", {"name": "Acme", "domain": "https://www.ACME.com/about",
                                                   "size": "11-50"}, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["domain"] == "acme.com"
    dup = client.post("/api/crm/companies/", {"name": "Acme 2", "domain": "acme.com"}, format="json")
    assert dup.status_code == 400 and "domain" in dup.json()["detail"]
    bad = client.post("/api/crm/companies/", {"name": "X", "size": "huge"}, format="json")
    assert bad.status_code == 400 and "size" in bad.json()["detail"]
    bad = client.post("/api/crm/companies/", {"name": "X", "country": "Germany", "domain": "not a domain"},
                      format="json")
    assert bad.status_code == 400 and {"country", "domain"} <= set(bad.json()["detail"])
    for i in range(15):
        CompanyFactory(owner=sales_user, name=f"Co {i}")
    with django_assert_max_num_queries(6):
        listing = client.get("/api/crm/companies/", {"search": "acme"})
    assert [r["name"] for r in listing.json()["results"]] == ["Acme"]
    pk = response.json()["id"]
    assert client.patch(f"/api/crm/companies/{pk}/", {"industry": "Rockets"}, format="json").json()[
        "industry"] == "Rockets"
    assert OutboxEntry.objects.filter(object_type="company", object_id=pk).latest("id").message["groupId"] == \
        f"crm-company-{pk}"
    assert client.delete(f"/api/crm/companies/{pk}/").status_code == 204
    assert not Company.objects.filter(pk=pk).exists()


def test_custom_field_definitions_read_for_all_write_for_admins(sales_user, admin_user):
    CustomFieldDefinitionFactory(key="tier")
    assert api_for(sales_user).get("/api/crm/custom-fields/").json()["count"] == 1
    payload = {"object_type": "contact", "key": "seats", "label": "Seats", "field_type": "number"}
    assert api_for(sales_user).post("/api/crm/custom-fields/", payload, format="json").status_code == 403
    assert api_for(admin_user).post("/api/crm/custom-fields/", payload, format="json").status_code == 201
    dup = api_for(admin_user).post("/api/crm/custom-fields/", payload, format="json")
    assert dup.status_code == 400
    no_choices = api_for(admin_user).post("/api/crm/custom-fields/", {**payload, "key": "plan",
                                                                      "field_type": "choice"}, format="json")
    assert no_choices.status_code == 400 and "choices" in no_choices.json()["detail"]
    assert CustomFieldDefinition.objects.count() == 2
    seats = CustomFieldDefinition.objects.get(key="seats")
    renamed = api_for(admin_user).patch(f"/api/crm/custom-fields/{seats.pk}/", {"label": "Licences"}, format="json")
    assert renamed.status_code == 200 and renamed.json()["label"] == "Licences"
    to_choice = api_for(admin_user).patch(f"/api/crm/custom-fields/{seats.pk}/", {"field_type": "choice"},
                                          format="json")
    assert to_choice.status_code == 400 and "choices" in to_choice.json()["detail"]
    seats.refresh_from_db()
    assert (seats.label, seats.field_type) == ("Licences", "number")


def test_saved_views_are_per_user(sales_user, admin_user):
    client = api_for(sales_user)
    response = client.post("/api/crm/saved-views/", {"object_type": "contact", "name": "Hot",
                                                     "query_string": "lifecycle=opportunity"}, format="json")
    assert response.status_code == 201
    assert api_for(admin_user).get("/api/crm/saved-views/").json()["count"] == 0
    assert api_for(admin_user).delete(f"/api/crm/saved-views/{response.json()['id']}/").status_code == 404
    assert client.get("/api/crm/saved-views/").json()["results"][0]["name"] == "Hot"
    assert SavedView.objects.get().user == sales_user


def test_openapi_schema_lists_the_crm_endpoints(admin_user):
    client = api_for(admin_user)
    response = client.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    text = response.content.decode()
    for path in ("/api/crm/contacts/", "/api/crm/companies/{id}/", "/api/crm/custom-fields/",
                 "/api/crm/saved-views/"):
        assert path in text
    parameters = {p["name"] for p in response.json()["paths"]["/api/crm/contacts/"]["get"]["parameters"]}
    assert {"search", "ordering", "tag", "page"} <= parameters


def test_lifecycle_changes_endpoint(sales_user):
    client = api_for(sales_user)
    pk = client.post("/api/crm/contacts/", {"first_name": "A"}, format="json").json()["id"]
    client.patch(f"/api/crm/contacts/{pk}/", {"lifecycle_stage": "opportunity"}, format="json")
    page = client.get(f"/api/crm/contacts/{pk}/lifecycle-changes/").json()
    assert (page["count"], page["next"]) == (2, None)  # paginated like every list
    changes = page["results"]
    assert [(c["from_stage"], c["to_stage"]) for c in changes] == [("lead", "opportunity"), ("", "lead")]
    assert changes[0]["changed_by"] == sales_user.pk
    hidden = ContactFactory(owner=UserFactory(role="Sales"))
    assert client.get(f"/api/crm/contacts/{hidden.pk}/lifecycle-changes/").status_code == 404
