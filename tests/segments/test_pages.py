"""Segment pages and the builder's JSON helpers: who may open them, what they show, per-node errors, export."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from cdp.models import Profile
from segments.models import Membership, Segment
from segments.services import refresh

MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"
PRO = {"type": "all", "conditions": [{"type": "trait", "key": "plan", "op": "equals", "value": "pro"}]}


@pytest.fixture
def marketer_client(client, marketing_user):
    client.force_login(marketing_user, backend=MODEL_BACKEND)
    return client


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["sales_user", "support_user"])
def test_sales_and_support_cannot_open_the_builder(client, request, role):
    client.force_login(request.getfixturevalue(role), backend=MODEL_BACKEND)
    assert client.get(reverse("segments:index")).status_code == 403
    assert client.post(reverse("segments:preview"), "{}", content_type="application/json").status_code == 403


@pytest.mark.django_db
def test_save_from_the_builder_form_then_see_members(marketer_client, django_capture_on_commit_callbacks):
    Profile.objects.create(traits={"plan": "pro", "name": "<b>Ann</b>"})
    Profile.objects.create(traits={"plan": "free"})
    with django_capture_on_commit_callbacks(execute=True):
        response = marketer_client.post(reverse("segments:create"), {
            "name": "Pro users", "mode": "realtime", "interval_minutes": "60", "definition": json.dumps(PRO)})
    segment = Segment.objects.get(name="Pro users")
    assert response.status_code == 302 and response.url == reverse("segments:detail", args=[segment.pk])
    page = marketer_client.get(response.url).content.decode()
    assert "&lt;b&gt;Ann&lt;/b&gt;" in page and "<b>Ann</b>" not in page
    assert "Trait plan is “pro”" in page
    listing = marketer_client.get(reverse("segments:index")).content.decode()
    assert "Pro users" in listing
    csv = b"".join(marketer_client.get(reverse("segments:export", args=[segment.pk])).streaming_content).decode()
    assert csv.splitlines()[0] == "\ufeffprofile_id,name,member_since" and "<b>Ann</b>" in csv


@pytest.mark.django_db
def test_builder_form_errors_stay_at_their_node(marketer_client):
    bad = {"type": "all", "conditions": [{"type": "trait", "key": "age", "value_type": "number", "op": "contains",
                                          "value": "x"}]}
    response = marketer_client.post(reverse("segments:create"), {
        "name": "", "mode": "realtime", "interval_minutes": "60", "definition": json.dumps(bad)})
    assert response.status_code == 400
    config = response.context["builder_config"]
    assert {e["path"] for e in config["errors"]} == {"name", "definition.conditions[0].op"}
    assert not Segment.objects.exists()


@pytest.mark.django_db
def test_preview_counts_and_samples_or_names_the_bad_node(marketer_client):
    pro = Profile.objects.create(traits={"plan": "pro"})
    ok = marketer_client.post(reverse("segments:preview"), json.dumps({"definition": PRO}),
                              content_type="application/json").json()
    assert ok["count"] == 1 and ok["sample"][0]["url"] == reverse("cdp:profile-detail", args=[pro.pk])
    bad = marketer_client.post(reverse("segments:preview"), json.dumps({"definition": {"type": "all", "conditions": [
        {"type": "event", "event": "X", "window": {"kind": "last_days", "days": -1}}]}}),
        content_type="application/json")
    assert bad.status_code == 400 and bad.json()["errors"][0]["path"] == "conditions[0].window.days"
    assert marketer_client.post(reverse("segments:preview"), "nope", content_type="application/json").status_code == 400


@pytest.mark.django_db
def test_suggestions_come_from_the_data(marketer_client):
    Profile.objects.create(traits={"favourite_colour": "blue"})
    got = marketer_client.get(reverse("segments:suggest"), {"kind": "trait", "q": "fav"}).json()
    assert got == {"values": ["favourite_colour"]}
    assert marketer_client.get(reverse("segments:suggest"), {"kind": "nope"}).status_code == 400


@pytest.mark.django_db
def test_duplicate_and_the_profile_pages_show_segments_since(marketer_client, admin_user):
    segment = Segment.objects.create(name="Pro", definition=PRO)
    profile = Profile.objects.create(traits={"plan": "pro"})
    refresh.segment_refresh(segment_id=segment.pk)
    response = marketer_client.post(reverse("segments:duplicate", args=[segment.pk]))
    assert response.status_code == 302 and Segment.objects.filter(name="Pro (copy)").exists()
    page = marketer_client.get(reverse("cdp:profile-detail", args=[profile.pk])).content.decode()
    since = Membership.objects.get(profile_id=profile.pk).entered_at
    assert f"Pro <span class=\"muted small\">since {since:%Y-%m-%d}</span>" in page
    assert Membership.objects.filter(profile_id=profile.pk).count() == 1


@pytest.mark.django_db
def test_list_page_queries_do_not_grow_with_segments(marketer_client, django_assert_max_num_queries):
    for i in range(8):
        s = Segment.objects.create(name=f"S{i}", definition=PRO)
        refresh.segment_refresh(segment_id=s.pk)
    with django_assert_max_num_queries(8):
        assert marketer_client.get(reverse("segments:index")).status_code == 200
