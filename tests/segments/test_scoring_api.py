"""Scores in the APIs: the CRM contact API (a lead_score field through crm.extensions, constant queries) and the
profile API (GET /v1/profiles/{type}:{value}/scores)."""

from __future__ import annotations

import pytest

from cdp.models import Identifier, Profile
from segments.models import ScoreModel
from segments.services.scoring import score_model_rescore
from tests.cdp.factories import ReadTokenFactory
from tests.cdp.identity_support import ingest, msg, source
from tests.crm.factories import ContactFactory
from tests.crm.test_api_contacts import api_for

pytestmark = pytest.mark.django_db

VIP = {"label": "VIP", "points": 30, "condition": {"type": "contact", "field": "tags", "op": "contains",
                                                   "value": "vip"}}
PRO = {"label": "Pro plan", "points": 12.5, "condition": {"type": "trait", "key": "plan", "op": "equals",
                                                          "value": "pro"}}


def test_contact_api_carries_the_lead_score_with_constant_queries(sales_user, django_assert_max_num_queries):
    contacts = [ContactFactory(owner=sales_user, first_name=f"C{i}", tags=["vip"] if i % 2 else [])
                for i in range(12)]
    for c in contacts:
        Profile.objects.create(crm_contact_id=c.pk)
    model = ScoreModel.objects.create(name="Engagement", conditions=[VIP], is_default=True)
    score_model_rescore(model_id=model.pk)
    client = api_for(sales_user)
    with django_assert_max_num_queries(9):
        body = client.get("/api/crm/contacts/", {"page_size": 20}).json()
    by_name = {row["first_name"]: row["lead_score"] for row in body["results"]}
    assert by_name["C1"] == {"value": "30.00", "model": "Engagement", "why": [{"label": "VIP", "points": "30"}]}
    assert by_name["C0"] is None
    one = client.get(f"/api/crm/contacts/{contacts[3].pk}/").json()
    assert one["lead_score"]["value"] == "30.00"


def test_profile_api_lists_the_profiles_scores(client):
    src = source()
    ingest(src, [msg("identify", minute=1, userId="77", traits={"plan": "pro"})])
    profile_id = Identifier.objects.get(type="user_id", value="77").profile_id
    default = ScoreModel.objects.create(name="Fit", conditions=[PRO], is_default=True)
    other = ScoreModel.objects.create(name="Engagement", conditions=[VIP])
    for m in (default, other):
        score_model_rescore(model_id=m.pk)
    token = ReadTokenFactory(name="site", scopes=["traits"]).raw
    body = client.get("/v1/profiles/user_id:77/scores", HTTP_AUTHORIZATION=f"Bearer {token}").json()
    assert body["profile_id"] == profile_id
    assert [(s["model"], s["default"], s["score"], s["why"]) for s in body["scores"]] == [
        ("Fit", True, 12.5, [{"label": "Pro plan", "points": 12.5}])]
    no_scope = ReadTokenFactory(name="ev", scopes=["events"]).raw
    assert client.get("/v1/profiles/user_id:77/scores", HTTP_AUTHORIZATION=f"Bearer {no_scope}").status_code == 403
