"""Managing score models: API (create with per-item errors, update, default, delete refused while in use,
rescore) and the marketer pages; decay over time with an explicit clock."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from cdp.models import EventProfile, IngestBatch, Profile, RawEvent, Source
from segments.models import ProfileScore, ScoreModel
from segments.scoring_api import ENGAGEMENT_EXAMPLE
from segments.services.scoring import score_model_create, score_model_rescore
from segments.services.segments import segment_create
from tests.crm.test_api_contacts import api_for

pytestmark = pytest.mark.django_db
NOW = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.UTC)


def test_api_creates_checks_and_manages_models(marketing_user, sales_user, django_capture_on_commit_callbacks):
    client = api_for(marketing_user)
    Profile.objects.create(traits={})
    with django_capture_on_commit_callbacks(execute=True):
        created = client.post("/api/score-models/", ENGAGEMENT_EXAMPLE, format="json")
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["is_default"] and ScoreModel.objects.get(pk=body["id"]).last_scored_at is not None  # after commit
    bad = client.post("/api/score-models/", {"name": "Bad", "conditions": [
        {"label": "x", "points": "lots", "condition": {"type": "event"}},
        {"label": "y", "points": 1, "condition": {"type": "score", "model": body["id"], "op": "gte", "value": 1}}]},
        format="json")
    assert bad.status_code == 400
    paths = {e["path"] for e in bad.json()["errors"]}
    assert {"conditions[0].points", "conditions[0].condition.event", "conditions[1].condition"} <= paths
    fit = client.post("/api/score-models/", {"name": "Fit", "is_default": True, "conditions": [
        {"label": "Pro", "points": 5, "condition": {"type": "trait", "key": "plan", "op": "equals", "value": "pro"}}]},
        format="json").json()
    assert "id" in fit, fit
    assert ScoreModel.objects.get(is_default=True).pk == fit["id"]
    segment_create(name="Hot", definition={"type": "all", "conditions": [
        {"type": "score", "model": fit["id"], "op": "gte", "value": 5}]})
    assert client.delete(f"/api/score-models/{body['id']}/").status_code == 204
    assert client.delete(f"/api/score-models/{fit['id']}/").status_code == 409  # used by "Hot"
    assert client.post(f"/api/score-models/{fit['id']}/rescore/").status_code == 202
    assert api_for(sales_user).get("/api/score-models/").status_code == 403
    missing = client.post("/api/segments/", {"name": "Ghost", "definition": {"type": "all", "conditions": [
        {"type": "score", "model": 99999, "op": "gte", "value": 1}]}}, format="json")
    assert missing.status_code == 400 and missing.json()["errors"][0]["path"] == "definition.conditions[0].model"


def test_marketer_pages_list_and_edit_models(client, marketing_user, django_capture_on_commit_callbacks):
    client.force_login(marketing_user)
    page = client.get(reverse("segments:scoring-create"))
    assert page.status_code == 200 and "Viewed pricing" in page.content.decode()
    bad = client.post(reverse("segments:scoring-create"), {"name": "X", "conditions": "[{"})
    assert bad.status_code == 400 and "Not valid JSON" in bad.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        ok = client.post(reverse("segments:scoring-create"), {
            "name": "Fit", "cap": "50", "is_default": "on", "conditions": '[{"label": "Pro", "points": 5, '
            '"condition": {"type": "trait", "key": "plan", "op": "equals", "value": "pro"}}]'})
    assert ok.status_code == 302
    listing = client.get(reverse("segments:scoring")).content.decode()
    assert "Fit" in listing and "default" in listing
    model = ScoreModel.objects.get(name="Fit")
    assert model.cap == Decimal(50) and model.last_scored_at is not None


def _event(profile, ts, n):
    src = Source.objects.get_or_create(name="decay", kind="server")[0]
    batch = IngestBatch.objects.create(source=src, received_at=NOW, event_count=1)
    raw = RawEvent.objects.create(received_at=NOW, source=src, batch=batch, message_id=f"d{n}", type="track",
                                  event="Demo Requested", timestamp=ts, payload={"event": "Demo Requested"})
    EventProfile.objects.create(event_id=raw.pk, received_at=NOW, profile_id=profile.pk, timestamp=ts)


def test_event_points_decay_with_age(django_capture_on_commit_callbacks):
    fresh, old = Profile.objects.create(), Profile.objects.create()
    _event(fresh, NOW - dt.timedelta(hours=1), 1)
    _event(old, NOW - dt.timedelta(days=7), 2)
    model = score_model_create(name="Decaying", half_life_days=7, conditions=[
        {"label": "Demo", "points": 40, "condition": {"type": "event", "event": "Demo Requested"}},
        {"label": "Anyone", "points": 1, "condition": {"type": "all", "conditions": []}}])

    def scores(at):
        score_model_rescore(model_id=model.pk, now=at)
        return {r.profile_id: r.score for r in ProfileScore.objects.filter(model=model)}

    s = scores(NOW)
    assert s[old.pk] == Decimal("21.00")  # 40 * 0.5 (one half-life) + 1 undecayed
    assert s[fresh.pk] == Decimal("40.84")  # 40 * 0.5^(1/168) + 1
    later = scores(NOW + dt.timedelta(days=7))  # the clock moves on: everything halves again
    assert later[old.pk] == Decimal("11.00") and later[fresh.pk] == Decimal("20.92")
    assert scores(NOW + dt.timedelta(days=700))[old.pk] == Decimal("1.00")  # faded; the flat point stays


def test_demo_has_a_default_engagement_and_a_fit_model():
    from segments.demo import demo_segments_seed

    demo_segments_seed()
    demo_segments_seed()  # idempotent
    models = {m.name: m for m in ScoreModel.objects.all()}
    assert set(models) == {"Engagement", "Fit"} and models["Engagement"].is_default
    assert models["Engagement"].half_life_days == Decimal(14) and models["Engagement"].cap == Decimal(100)
