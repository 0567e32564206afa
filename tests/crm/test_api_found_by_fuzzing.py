"""The requests schemathesis found answering 500 or contradicting the schema, each pinned as a regression test."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from crm.models import SavedView
from tests.crm.factories import CompanyFactory, ContactFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(admin_user) -> APIClient:
    client = APIClient()
    client.force_authenticate(admin_user)
    return client


def test_saved_view_without_a_query_string(api, admin_user):
    r = api.post("/api/crm/saved-views/", {"object_type": "contact", "name": "All"}, format="multipart")
    assert r.status_code == 201, r.content
    assert SavedView.objects.get(user=admin_user).query_string == ""


def test_renaming_a_saved_view_onto_another_is_a_400(api):
    first = api.post("/api/crm/saved-views/", {"object_type": "deal", "name": "Mine"}, format="json").json()
    second = api.post("/api/crm/saved-views/", {"object_type": "deal", "name": "Big", "query_string": "a=1"},
                      format="json").json()
    r = api.put(f"/api/crm/saved-views/{second['id']}/", {"object_type": "deal", "name": "Mine"}, format="json")
    assert r.status_code == 400
    assert r.json()["error"] == "invalid" and "name" in r.json()["detail"]
    renamed = api.put(f"/api/crm/saved-views/{second['id']}/", {"object_type": "deal", "name": " Largest "},
                      format="json")
    assert renamed.status_code == 200 and renamed.json()["name"] == "Largest"
    assert renamed.json()["query_string"] == "a=1"
    assert api.get(f"/api/crm/saved-views/{first['id']}/").json()["name"] == "Mine"


@pytest.mark.parametrize("value, status", [
    ("2000-01-01T00:00:00+18:55", 200),  # beyond Postgres' offsets: converted to UTC first
    ("0001-01-01T00:00:00+05:00", 400),  # before year 1 in UTC
    ("9999-12-31T23:00:00-05:00", 400),  # after 9999 in UTC
])
def test_timestamp_filters_with_any_offset(api, value, status):
    ContactFactory()
    r = api.get("/api/crm/contacts/", {"updated_after": value, "created_after": value})
    assert r.status_code == status, r.content
    if status == 200:
        assert r.json()["count"] == 1
    else:
        assert r.json()["error"] == "invalid"


@pytest.mark.parametrize("page_size", ["-99999999999999999999999", "0", "99999999999999999999999", "abc"])
def test_any_page_size_answers_a_page(api, page_size):
    ContactFactory()
    r = api.get("/api/crm/contacts/", {"page_size": page_size})
    assert r.status_code == 200 and r.json()["count"] == 1


def test_company_name_is_null_without_a_company(api):
    with_company = ContactFactory(company=CompanyFactory(name="Acme"))
    ContactFactory(company=None)
    names = {c["id"]: c["company_name"] for c in api.get("/api/crm/contacts/").json()["results"]}
    assert names.pop(with_company.pk) == "Acme" and list(names.values()) == [None]


@pytest.mark.parametrize("path", ["/api/crm/contacts/0.5/", "/api/crm/nothing-here/", "/v1/nothing-here"])
def test_unknown_api_urls_answer_json_404(api, path):
    r = api.get(path)
    assert r.status_code == 404
    assert r["Content-Type"] == "application/json" and r.json()["error"] == "not_found"


def test_unknown_page_urls_stay_html(client):
    r = client.get("/no-such-page/")
    assert r.status_code == 404 and r["Content-Type"].startswith("text/html")


def test_a_second_shared_sla_policy_for_a_priority_is_a_400(api):
    policy = {"name": "Urgent", "priority": "urgent", "first_response_minutes": 30, "resolution_minutes": 240}
    assert api.post("/api/crm/sla-policies/", policy, format="json").status_code == 201
    again = api.post("/api/crm/sla-policies/", policy | {"name": "Urgent again"}, format="json")
    assert again.status_code == 400 and "priority" in again.json()["detail"]


def test_comments_of_a_malformed_ticket_id_is_a_404(api):
    assert api.get("/api/crm/tickets/null,null/comments/").status_code == 404


def test_sales_report_of_a_period_without_won_deals(api):
    r = api.get("/api/reports/sales/", {"start": ""})
    assert r.status_code == 200, r.content
    totals = [row for row in r.json()["sections"]["deal_size"]["rows"] if row["month"] == "All"]
    assert totals and totals[0]["won"] == 0


def test_ticket_created_after_with_an_offset_beyond_postgres(api):
    r = api.get("/api/crm/tickets/", {"created_after": "2000-01-01T00:00:00+18:55"})
    assert r.status_code == 200 and r.json()["count"] == 0
