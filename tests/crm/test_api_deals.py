import pytest
from rest_framework.test import APIClient

from crm.models import Activity, Deal, DealStageChange, OutboxEntry, Pipeline
from tests.crm.deal_factories import DealFactory, TaskFactory, make_pipeline, stage
from tests.crm.factories import CompanyFactory, ContactFactory
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
BASE = "/api/crm"


@pytest.fixture
def pipeline():
    return make_pipeline()


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_deal_list_is_scoped_paginated_filtered_with_constant_queries(pipeline, sales_user,
                                                                      django_assert_max_num_queries):
    company = CompanyFactory(owner=sales_user)
    for i in range(30):
        deal = DealFactory(owner=sales_user, pipeline=pipeline, name=f"Mine {i}", company=company,
                           stage=stage(pipeline, "Proposal" if i % 2 else "Lead"))
        deal.contacts.add(ContactFactory(owner=sales_user))
    DealFactory(owner=UserFactory(role="Sales"), pipeline=pipeline, name="Theirs")
    client = api(sales_user)
    with django_assert_max_num_queries(8):
        response = client.get(f"{BASE}/deals/")
    body = response.json()
    assert response.status_code == 200 and body["count"] == 30
    assert all(row["name"].startswith("Mine") for row in body["results"])
    assert len(body["results"][0]["contacts"]) == 1
    proposal = client.get(f"{BASE}/deals/", {"stage": stage(pipeline, "Proposal").pk}).json()
    assert proposal["count"] == 15
    assert client.get(f"{BASE}/deals/", {"search": "Mine 29"}).json()["count"] == 1
    ordered = client.get(f"{BASE}/deals/", {"ordering": "name"}).json()["results"]
    assert ordered[0]["name"] == "Mine 0"


def test_create_deal_sets_owner_to_caller_and_ignores_audit_fields(pipeline, sales_user):
    contact = ContactFactory(owner=sales_user)
    response = api(sales_user).post(f"{BASE}/deals/", {
        "name": "API deal", "pipeline": pipeline.pk, "amount": "1500.00", "currency": "usd",
        "contacts": [contact.pk], "status": "won", "created_by": 999, "probability_overridden": True,
    }, format="json")
    assert response.status_code == 201, response.json()
    data = response.json()
    assert (data["owner"], data["status"], data["stage_name"], data["probability"]) == (sales_user.pk, "open",
                                                                                         "Lead", 10)
    assert data["currency"] == "USD" and data["created_by"] == sales_user.pk and not data["probability_overridden"]
    deal = Deal.objects.get(pk=data["id"])
    assert OutboxEntry.objects.get(object_id=deal.pk).message["anonymousId"] == f"crm-contact-{contact.pk}"


def test_rep_cannot_assign_deal_to_someone_else(pipeline, sales_user):
    other = UserFactory(role="Sales")
    response = api(sales_user).post(f"{BASE}/deals/", {"name": "X", "pipeline": pipeline.pk, "owner": other.pk},
                                    format="json")
    assert response.status_code == 400 and response.json()["detail"] == {
        "owner": ["You may not assign records to this owner."]}
    deal = DealFactory(owner=sales_user, pipeline=pipeline)
    response = api(sales_user).patch(f"{BASE}/deals/{deal.pk}/", {"owner": other.pk}, format="json")
    assert response.status_code == 400 and "owner" in response.json()["detail"]
    assert Deal.objects.get(pk=deal.pk).owner == sales_user


def test_validation_errors_are_json_400(pipeline, sales_user):
    other = make_pipeline("Other", is_default=False)
    client = api(sales_user)
    response = client.post(f"{BASE}/deals/", {"name": "X", "pipeline": pipeline.pk,
                                              "stage": stage(other, "Lead").pk}, format="json")
    assert response.status_code == 400 and "stage" in response.json()["detail"]
    response = client.post(f"{BASE}/deals/", {"name": "X", "pipeline": pipeline.pk, "probability": 300},
                           format="json")
    assert response.status_code == 400 and "probability" in response.json()["detail"]
    hidden_company = CompanyFactory(owner=UserFactory(role="Sales"))
    response = client.post(f"{BASE}/deals/", {"name": "X", "pipeline": pipeline.pk, "company": hidden_company.pk},
                           format="json")
    assert response.status_code == 400 and "company" in response.json()["detail"]


def test_move_action_and_permissions(pipeline, sales_user, marketing_user):
    deal = DealFactory(owner=sales_user, pipeline=pipeline)
    other_rep_deal = DealFactory(owner=UserFactory(role="Sales"), pipeline=pipeline)
    won = stage(pipeline, "Won")
    response = api(sales_user).post(f"{BASE}/deals/{deal.pk}/move/", {"stage": won.pk}, format="json")
    assert response.status_code == 200 and response.json()["status"] == "won"
    assert DealStageChange.objects.get(deal=deal).changed_by == sales_user
    assert api(sales_user).post(f"{BASE}/deals/{other_rep_deal.pk}/move/", {"stage": won.pk},
                                format="json").status_code == 404
    assert api(marketing_user).get(f"{BASE}/deals/{other_rep_deal.pk}/").status_code == 200
    response = api(marketing_user).post(f"{BASE}/deals/{other_rep_deal.pk}/move/", {"stage": won.pk}, format="json")
    assert response.status_code == 403
    assert api(marketing_user).patch(f"{BASE}/deals/{other_rep_deal.pk}/", {"name": "x"},
                                     format="json").status_code == 403
    assert api(marketing_user).delete(f"{BASE}/deals/{other_rep_deal.pk}/").status_code == 403
    response = api(sales_user).post(f"{BASE}/deals/{deal.pk}/lost/", {}, format="json")
    assert response.status_code == 400
    response = api(sales_user).post(f"{BASE}/deals/{deal.pk}/lost/", {"lost_reason": "Budget"}, format="json")
    assert response.json()["status"] == "lost"


def test_delete_deal(pipeline, sales_user):
    deal = DealFactory(owner=sales_user, pipeline=pipeline)
    assert api(sales_user).delete(f"{BASE}/deals/{deal.pk}/").status_code == 204
    assert not Deal.objects.filter(pk=deal.pk).exists()
    assert OutboxEntry.objects.filter(message__event="Deal Deleted").exists()


def test_pipelines_readable_by_all_writable_by_admins(pipeline, sales_user, admin_user):
    body = api(sales_user).get(f"{BASE}/pipelines/").json()
    assert body["results"][0]["name"] == "Sales" and len(body["results"][0]["stages"]) == 5
    assert api(sales_user).post(f"{BASE}/pipelines/", {"name": "Mine"}, format="json").status_code == 403
    response = api(admin_user).post(f"{BASE}/pipelines/", {
        "name": "Renewals", "stages": [{"name": "Due", "probability": 50}, {"name": "Renewed", "probability": 100,
                                                                            "is_won": True}]}, format="json")
    assert response.status_code == 201, response.json()
    assert [s["name"] for s in response.json()["stages"]] == ["Due", "Renewed"]
    renewals = Pipeline.objects.get(name="Renewals")
    response = api(admin_user).post(f"{BASE}/stages/", {"pipeline": renewals.pk, "name": "Churned",
                                                        "probability": 0, "is_lost": True}, format="json")
    assert response.status_code == 201 and response.json()["order"] == 2
    bad = api(admin_user).post(f"{BASE}/stages/", {"pipeline": renewals.pk, "name": "Both", "is_won": True,
                                                   "is_lost": True}, format="json")
    assert bad.status_code == 400
    assert api(admin_user).delete(f"{BASE}/pipelines/{pipeline.pk}/").status_code == 204
    DealFactory(owner=sales_user, pipeline=renewals)
    assert api(admin_user).delete(f"{BASE}/pipelines/{renewals.pk}/").status_code == 400


def test_stage_probability_change_updates_open_deals_without_override(pipeline, sales_user, admin_user):
    lead = stage(pipeline, "Lead")
    plain = DealFactory(owner=sales_user, pipeline=pipeline)
    custom = DealFactory(owner=sales_user, pipeline=pipeline, probability=77, probability_overridden=True)
    response = api(admin_user).patch(f"{BASE}/stages/{lead.pk}/", {"probability": 15}, format="json")
    assert response.status_code == 200
    plain.refresh_from_db()
    custom.refresh_from_db()
    assert (plain.probability, custom.probability) == (15, 77)


def test_activities_api_log_list_complete(pipeline, sales_user, marketing_user, django_assert_max_num_queries):
    deal = DealFactory(owner=sales_user, pipeline=pipeline)
    client = api(sales_user)
    response = client.post(f"{BASE}/activities/", {"kind": "call", "subject": "Call", "deal": deal.pk,
                                                   "call_outcome": "connected", "call_duration_minutes": 5,
                                                   "owner": marketing_user.pk}, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["owner"] == sales_user.pk
    response = client.post(f"{BASE}/activities/", {"kind": "task", "subject": "No due", "deal": deal.pk},
                           format="json")
    assert response.status_code == 400 and "due_at" in response.json()["detail"]
    assert client.post(f"{BASE}/activities/", {"kind": "note", "subject": "Nothing linked"},
                       format="json").status_code == 400
    for _ in range(20):
        TaskFactory(deal=deal, assignee=sales_user, owner=sales_user)
    with django_assert_max_num_queries(6):
        body = client.get(f"{BASE}/activities/", {"kind": "task", "done": "false"}).json()
    assert body["count"] == 20
    task = Activity.objects.filter(kind="task").first()
    assert client.post(f"{BASE}/activities/{task.pk}/complete/", {}, format="json").json()["done"] is True
    assert api(marketing_user).post(f"{BASE}/activities/{task.pk}/complete/", {},
                                    format="json").status_code == 403
    response = client.patch(f"{BASE}/activities/{task.pk}/", {"deal": None}, format="json")
    assert response.status_code == 400
    assert client.patch(f"{BASE}/activities/{task.pk}/", {"subject": "Renamed"}, format="json").json()[
        "subject"] == "Renamed"
    hidden = DealFactory(owner=UserFactory(role="Sales"), pipeline=pipeline)
    response = client.post(f"{BASE}/activities/", {"kind": "note", "subject": "x", "deal": hidden.pk}, format="json")
    assert response.status_code == 400


def test_api_requires_authentication(pipeline):
    assert APIClient().get(f"{BASE}/deals/").status_code in (401, 403)


def test_schema_includes_sales_endpoints(admin_user):
    response = api(admin_user).get("/api/schema/")
    text = response.content.decode()
    assert response.status_code == 200
    for path in ("/api/crm/deals/{id}/move/", "/api/crm/pipelines/", "/api/crm/activities/{id}/complete/"):
        assert path in text
