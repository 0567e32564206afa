"""The destinations API: a segment's webhooks and CRM actions (create with the secret shown once, list with the
last 24 hours, change, rotate, delete), bad input as 400 {"error", "detail"} with nothing changed, the delivery
log and action runs, the admins' dead-letter list (inspect, replay one and in bulk, discard), and who may do what.
Deliveries go to a real local receiver."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from cdp.models import Identifier, Profile
from crm.models import Activity, Contact, Team
from segments.models import ActionRun, Delivery, Destination
from segments.services import refresh, webhooks
from segments.services.crm_actions import action_runs_execute
from segments.services.segments import segment_create
from tests.factories import UserFactory
from tests.segments.receiver import receiving

PRO = {"type": "all", "conditions": [{"type": "trait", "key": "plan", "op": "equals", "value": "pro"}]}
MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_login(user, backend=MODEL_BACKEND)
    return client


@pytest.fixture
def api(marketing_user):
    return client_for(marketing_user)


@pytest.fixture
def admin_api(admin_user):
    return client_for(admin_user)


@pytest.fixture
def receiver(settings):
    with receiving(settings, SEGMENTS_WEBHOOK_MAX_ATTEMPTS=1) as r:
        yield r


@pytest.fixture
def segment(db):
    return segment_create(name="Pro", definition=PRO)


def url(segment, *rest) -> str:
    return "/".join([f"/api/segments/{segment.pk}/destinations", *map(str, rest), ""])


def enter(**traits) -> Profile:
    profile = Profile.objects.create(traits={"plan": "pro", **traits})
    Identifier.objects.create(profile=profile, type="email", value=f"p{profile.pk}@example.com")
    refresh.profiles_check(profile_ids=[profile.pk])
    return profile


@pytest.mark.django_db
def test_create_list_change_rotate_and_delete_a_webhook(api, segment, receiver):
    created = api.post(url(segment), {"kind": "webhook", "name": "Warehouse", "url": receiver.url(),
                                      "on_exit": True, "traits": ["plan", "city"]}, format="json")
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["secret"].startswith("whsec_") and body["on_enter"] and body["on_exit"]
    dest = Destination.objects.get(pk=body["id"])
    assert dest.secret == body["secret"] and dest.traits == ["plan", "city"] and dest.segment == segment

    listed = api.get(url(segment)).json()
    assert [d["id"] for d in listed["results"]] == [dest.pk]
    assert "secret" not in listed["results"][0] and "secret" not in api.get(url(segment, dest.pk)).json()

    changed = api.patch(url(segment, dest.pk), {"traits": ["plan"], "on_exit": False, "enabled": False},
                        format="json")
    assert changed.status_code == 200, changed.content
    dest.refresh_from_db()
    assert (dest.traits, dest.on_exit, dest.enabled, dest.name) == (["plan"], False, False, "Warehouse")

    rotated = api.post(url(segment, dest.pk, "rotate-secret"))
    assert rotated.status_code == 200
    dest.refresh_from_db()
    assert rotated.json()["secret"] == dest.secret != body["secret"] == dest.previous_secret
    assert rotated.json()["previous_secret_until"] is not None

    assert api.delete(url(segment, dest.pk)).status_code == 204
    assert not Destination.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(("payload", "field"), [
    ({"kind": "webhook", "url": "http://10.0.0.8/hook"}, "url"),
    ({"kind": "webhook", "url": "ftp://example.com/x"}, "url"),
    ({"kind": "webhook"}, "url"),
    ({"kind": "webhook", "url": "https://example.com/h", "on_enter": False}, "on_enter"),
    ({"kind": "webhook", "url": "https://example.com/h", "traits": "plan"}, "traits"),
    ({"kind": "teleport"}, "kind"),
    ({"kind": "task", "config": {"subject": ""}}, "config.subject"),
    ({"kind": "task", "config": {"subject": "Call", "assign_to": "team", "team_id": 999999}}, "config.team_id"),
    ({"kind": "task", "config": {"subject": "Call", "due_in_hours": "soon"}}, "config.due_in_hours"),
    ({"kind": "lifecycle", "config": {"stage": "king"}}, "config.stage"),
    ({"kind": "tag_add", "config": "hot"}, "config"),
])
def test_bad_input_is_a_400_naming_the_field_and_changes_nothing(api, segment, payload, field):
    response = api.post(url(segment), payload, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["error"] == "invalid" and field in response.json()["detail"]
    assert not Destination.objects.exists()


@pytest.mark.django_db
def test_a_bad_change_is_refused_and_the_destination_stays(api, segment):
    created = api.post(url(segment), {"kind": "webhook", "url": "https://example.com/h", "name": "Keep"},
                       format="json").json()
    for payload in ({"url": "http://169.254.169.254/latest"}, {"on_enter": False, "on_exit": False},
                    {"traits": [1, {}]}, {"name": "x" * 500}):
        response = api.patch(url(segment, created["id"]), payload, format="json")
        assert response.status_code == 400, (payload, response.content)
        assert set(response.json()) == {"error", "detail"}
    dest = Destination.objects.get()
    assert (dest.url, dest.on_enter, dest.name) == ("https://example.com/h", True, "Keep")
    task = api.post(url(segment), {"kind": "task", "config": {"subject": "Call"}}, format="json").json()
    assert api.patch(url(segment, task["id"]), {"config": {"subject": " "}}, format="json").status_code == 400
    assert Destination.objects.get(pk=task["id"]).config["subject"] == "Call"
    assert api.post(url(segment, task["id"], "rotate-secret")).status_code == 400  # only webhooks have a secret


@pytest.mark.django_db
def test_a_frozen_list_and_unknown_segments(api, segment):
    segment.mode = "static"
    segment.save(update_fields=["mode"])
    response = api.post(url(segment), {"kind": "tag_add", "config": {"tag": "x"}}, format="json")
    assert response.status_code == 400 and "segment" in response.json()["detail"]
    missing = api.get("/api/segments/999999/destinations/")
    assert missing.status_code == 404 and missing.json()["error"] == "not_found"


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["sales_user", "support_user"])
def test_sales_and_support_may_not_touch_destinations_or_dead_letters(request, role, segment):
    dest = Destination.objects.create(segment=segment, kind="webhook", name="W", url="https://example.com/h",
                                      secret="whsec_x")
    client = client_for(request.getfixturevalue(role))
    for response in (client.get(url(segment)), client.get(url(segment, dest.pk)),
                     client.post(url(segment), {"kind": "tag_add", "config": {"tag": "x"}}, format="json"),
                     client.patch(url(segment, dest.pk), {"name": "Mine"}, format="json"),
                     client.delete(url(segment, dest.pk)), client.post(url(segment, dest.pk, "rotate-secret")),
                     client.get("/api/dead-letters/")):
        assert response.status_code == 403 and response.json()["error"] == "permission_denied"
    dest.refresh_from_db()
    assert (dest.name, dest.secret) == ("W", "whsec_x")
    assert APIClient().get(url(segment)).status_code in (401, 403)


@pytest.mark.django_db
def test_delivery_log_and_the_dead_letter_list(api, admin_api, segment, receiver, django_assert_max_num_queries):
    dest_id = api.post(url(segment), {"kind": "webhook", "url": receiver.url()}, format="json").json()["id"]
    receiver.answer("/hook", (400, {}, b"bad payload"), (500, {}, b"boom"))
    first, second, third = enter(), enter(), enter()
    webhooks.deliveries_send()
    assert sorted(Delivery.objects.values_list("status", flat=True)) == ["dead", "dead", "delivered"]

    with django_assert_max_num_queries(8):
        log = api.get(url(segment, dest_id, "deliveries")).json()
    assert log["count"] == 3
    dead = [d for d in log["results"] if d["status"] == "dead"]
    assert {d["last_status_code"] for d in dead} == {400, 500} and all(d["attempts"] == 1 for d in dead)
    assert any("bad payload" in d["last_error"] for d in dead)
    assert all(d["last_response_ms"] is not None for d in log["results"])
    assert api.get(url(segment, dest_id, "deliveries") + "?status=delivered").json()["count"] == 1
    bad = api.get(url(segment, dest_id, "deliveries") + "?status=lost")
    assert bad.status_code == 400 and "status" in bad.json()["detail"]
    assert api.get(url(segment, dest_id, "runs")).status_code == 400

    listed = api.get(url(segment)).json()["results"][0]["stats"]
    assert (listed["total"], listed["delivered"], listed["dead"], listed["success_rate"]) == (3, 1, 2, 33.3)
    assert listed["lag_p50_seconds"] is not None and listed["lag_p95_seconds"] >= listed["lag_p50_seconds"]

    assert api.get("/api/dead-letters/").status_code == 403  # marketers see the log, admins handle dead letters
    with django_assert_max_num_queries(8):
        letters = admin_api.get(f"/api/dead-letters/?segment={segment.pk}").json()
    assert letters["count"] == 2 and letters["results"][0]["segment_name"] == "Pro"
    one = admin_api.get(f"/api/dead-letters/{dead[0]['id']}/").json()
    assert one["body"] and str(one["delivery_id"]) in one["body"]
    assert admin_api.get("/api/dead-letters/?segment=abc").status_code == 400

    replayed = admin_api.post(f"/api/dead-letters/{dead[0]['id']}/replay/")
    assert replayed.json() == {"count": 1}
    assert Delivery.objects.get(pk=dead[0]["id"]).status == "pending"
    assert admin_api.post(f"/api/dead-letters/{dead[0]['id']}/replay/").status_code == 404  # no longer dead
    webhooks.deliveries_send()
    assert Delivery.objects.get(pk=dead[0]["id"]).status == "delivered"
    assert Delivery.objects.filter(status="delivered").count() == 2
    assert len({r.headers["x-webhook-id"] for r in receiver.received()}) == 3  # the replay kept its id

    assert admin_api.post("/api/dead-letters/discard/", {"ids": []}, format="json").status_code == 400
    assert admin_api.post("/api/dead-letters/replay/", {"ids": ["x"]}, format="json").status_code == 400
    assert admin_api.post("/api/dead-letters/discard/", {"ids": [dead[1]["id"]]}, format="json").json() == {
        "count": 1}
    assert Delivery.objects.get(pk=dead[1]["id"]).status == "discarded"
    assert admin_api.get("/api/dead-letters/").json()["count"] == 0
    assert {first.pk, second.pk, third.pk} == set(Delivery.objects.values_list("profile_id", flat=True))


@pytest.mark.django_db
def test_bulk_replay_of_all_dead_letters_of_a_segment(admin_api, segment, receiver):
    client_dest = admin_api.post(url(segment), {"kind": "webhook", "url": receiver.url()}, format="json")
    assert client_dest.status_code == 201
    receiver.answer("/hook", *[(503, {}, b"down")] * 3)
    for _ in range(3):
        enter()
    webhooks.deliveries_send()
    ids = list(Delivery.objects.values_list("pk", flat=True))
    assert admin_api.post("/api/dead-letters/replay/", {"ids": ids[:1]}, format="json").json() == {"count": 1}
    assert admin_api.post("/api/dead-letters/replay/", {"all": True, "segment": segment.pk},
                          format="json").json() == {"count": 2}
    assert admin_api.post(f"/api/dead-letters/{ids[0]}/discard/").status_code == 404
    webhooks.deliveries_send()
    assert set(Delivery.objects.values_list("status", flat=True)) == {"delivered"}


@pytest.mark.django_db
def test_a_task_action_through_the_api_runs_once_per_entry(api, segment):
    owner = UserFactory(username="rita", first_name="Rita", last_name="Rep", role="Sales")
    team = Team.objects.create(name="Inside sales")
    created = api.post(url(segment), {"kind": "task", "name": "Call", "config": {
        "subject": "Call {first_name} ({segment})", "assign_to": "owner", "due_in_hours": 2}}, format="json")
    assert created.status_code == 201, created.content
    assert created.json()["on_enter"] and not created.json()["on_exit"] and created.json()["secret"] == ""
    lead = api.post(url(segment), {"kind": "create_contact", "config": {"team_id": team.pk}}, format="json")
    assert lead.status_code == 201 and lead.json()["config"] == {"team_id": team.pk}
    contact = Contact.objects.create(first_name="Ann", last_name="Lee", email="ann@example.com", owner=owner)
    profile = Profile.objects.create(traits={"plan": "pro"}, crm_contact_id=contact.pk)
    refresh.profiles_check(profile_ids=[profile.pk])
    action_runs_execute()
    refresh.segment_refresh(segment_id=segment.pk)
    action_runs_execute()
    task = Activity.objects.get(kind="task", contact=contact)
    assert (task.subject, task.assignee) == ("Call Ann (Pro)", owner)
    runs = api.get(url(segment, created.json()["id"], "runs")).json()
    assert runs["count"] == 1 and runs["results"][0]["status"] == "done"
    assert runs["results"][0]["activity_id"] == task.pk
    assert api.get(url(segment, created.json()["id"], "deliveries")).status_code == 400
    stats = api.get(url(segment, created.json()["id"])).json()["stats"]
    assert (stats["total"], stats["done"]) == (1, 1)
    assert ActionRun.objects.count() == 2  # and the lead action skipped: the profile has a contact
