"""The segments API: CRUD with per-node errors as {"error", "detail", "errors"}, preview, members, history,
refresh; who may use it; the profile API lists current segments."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from cdp.models import Profile
from segments.models import Segment
from segments.services import refresh

PRO = {"type": "all", "conditions": [{"type": "trait", "key": "plan", "op": "equals", "value": "pro"}]}
MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"


@pytest.fixture
def api(marketing_user):
    client = APIClient()
    client.force_login(marketing_user, backend=MODEL_BACKEND)
    return client


@pytest.mark.django_db
def test_create_refresh_members_history(api, django_capture_on_commit_callbacks):
    pro = Profile.objects.create(traits={"plan": "pro"})
    with django_capture_on_commit_callbacks(execute=True):
        created = api.post("/api/segments/", {"name": "Pro", "definition": PRO}, format="json")
    assert created.status_code == 201, created.content
    assert created.json()["status"] == "queued"  # the first refresh is queued after commit
    body = api.get(f"/api/segments/{created.json()['id']}/").json()
    assert body["status"] == "ready" and body["size"] == 1 and body["rule_in_words"] == "Trait plan is “pro”"
    members = api.get(f"/api/segments/{body['id']}/members/").json()
    assert [m["profile_id"] for m in members["results"]] == [pro.pk]
    Profile.objects.filter(pk=pro.pk).update(traits={})
    with django_capture_on_commit_callbacks(execute=True):
        assert api.post(f"/api/segments/{body['id']}/refresh/").status_code == 202
    history = api.get(f"/api/segments/{body['id']}/history/").json()["results"]
    assert len(history) == 1 and history[0]["exited_at"] is not None
    mine = api.get(f"/api/segments/profiles/{pro.pk}/memberships/").json()
    assert mine[0]["segment_name"] == "Pro" and mine[0]["exited_at"] is not None


@pytest.mark.django_db
def test_rule_errors_name_nodes_and_cycles_are_refused(api):
    bad = api.post("/api/segments/", {"name": "Bad", "definition": {"type": "all", "conditions": [
        {"type": "trait", "key": "age", "value_type": "number", "op": "contains", "value": "1"}]}}, format="json")
    assert bad.status_code == 400
    assert bad.json()["error"] == "invalid_rule"
    assert bad.json()["errors"][0]["path"] == "definition.conditions[0].op"
    a = Segment.objects.create(name="A", definition=PRO)
    b = api.post("/api/segments/", {"name": "B", "definition": {"type": "all", "conditions": [
        {"type": "segment", "segment": a.pk}]}}, format="json").json()
    cycle = api.patch(f"/api/segments/{a.pk}/", {"definition": {"type": "all", "conditions": [
        {"type": "segment", "segment": b["id"]}]}}, format="json")
    assert cycle.status_code == 400 and "cycle" in cycle.json()["errors"][0]["message"]
    assert api.delete(f"/api/segments/{a.pk}/").status_code == 409  # B uses it
    assert api.post("/api/segments/preview/", "[1]", content_type="application/json").status_code == 400


@pytest.mark.django_db
def test_preview_counts(api):
    Profile.objects.create(traits={"plan": "pro"})
    got = api.post("/api/segments/preview/", {"definition": PRO}, format="json").json()
    assert got["count"] == 1 and len(got["sample"]) == 1


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["sales_user", "support_user"])
def test_sales_and_support_read_memberships_only(request, role):
    from crm.services.contacts import contact_create

    user = request.getfixturevalue(role)
    client = APIClient()
    client.force_login(user, backend=MODEL_BACKEND)
    segment = Segment.objects.create(name="Pro", definition=PRO)
    contact = contact_create(actor=None, owner=user, first_name="Own")
    profile = Profile.objects.create(traits={"plan": "pro"}, crm_contact_id=contact.pk)  # a profile they may see
    visitor = Profile.objects.create(traits={"plan": "pro"})  # linked to no contact: Marketing only
    refresh.segment_refresh(segment_id=segment.pk)
    assert client.get("/api/segments/").status_code == 403
    assert client.get(f"/api/segments/{segment.pk}/members/").json()["error"] == "permission_denied"
    assert client.get(f"/api/segments/profiles/{profile.pk}/memberships/").json()[0]["segment_name"] == "Pro"
    assert client.get(f"/api/segments/profiles/{visitor.pk}/memberships/").status_code == 404


@pytest.mark.django_db
def test_schema_documents_the_rule_with_examples(api):
    schema = api.get("/api/schema/", {"format": "json"})
    text = schema.content.decode()
    assert schema.status_code == 200 and "/api/segments/{id}/members/" in text and "Abandoned cart" in text
