"""The segment page's destinations: add, change, remove webhooks and CRM actions with form errors on the page
(never a 500, nothing changed), the secret shown once, rotation, the delivery log, success rate and lag on the
segment page, and the admins' dead-letter pages (inspect, replay one, selected or all, discard). Deliveries go to
a real local receiver."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from cdp.models import Identifier, Profile
from crm.models import Contact, Team
from segments.models import Delivery, Destination
from segments.services import refresh, webhooks
from segments.services.crm_actions import action_runs_execute
from segments.services.destinations import destination_create
from segments.services.segments import segment_create
from tests.factories import UserFactory
from tests.segments.receiver import receiving

PRO = {"type": "all", "conditions": [{"type": "trait", "key": "plan", "op": "equals", "value": "pro"}]}
MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"


@pytest.fixture
def marketer_client(client, marketing_user):
    client.force_login(marketing_user, backend=MODEL_BACKEND)
    return client


@pytest.fixture
def admin_client_(client, admin_user):
    client.force_login(admin_user, backend=MODEL_BACKEND)
    return client


@pytest.fixture
def segment(db):
    return segment_create(name="Pro", definition=PRO)


@pytest.fixture
def receiver(settings):
    with receiving(settings, SEGMENTS_WEBHOOK_MAX_ATTEMPTS=1) as r:
        yield r


def enter(**traits) -> Profile:
    profile = Profile.objects.create(traits={"plan": "pro", **traits})
    Identifier.objects.create(profile=profile, type="email", value=f"p{profile.pk}@example.com")
    refresh.profiles_check(profile_ids=[profile.pk])
    return profile


def page(client, segment) -> str:
    response = client.get(reverse("segments:detail", args=[segment.pk]))
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.django_db
def test_add_a_webhook_and_see_its_secret_once(marketer_client, segment, receiver):
    response = marketer_client.post(reverse("segments:webhook-add", args=[segment.pk]), {
        "name": "Warehouse", "url": receiver.url(), "on_enter": "on", "on_exit": "on", "traits": "plan, city"})
    assert response.status_code == 302 and response.url.endswith("#destinations")
    dest = Destination.objects.get()
    assert (dest.name, dest.on_exit, dest.traits, dest.created_by.username) == ("Warehouse", True, ["plan", "city"],
                                                                                 "max")
    first = page(marketer_client, segment)
    assert dest.secret in first and 'data-testid="new-secret"' in first
    again = page(marketer_client, segment)
    assert dest.secret not in again and "Warehouse" in again

    old = dest.secret
    assert marketer_client.post(reverse("segments:destination-rotate", args=[segment.pk, dest.pk])).status_code == 302
    dest.refresh_from_db()
    assert dest.secret != old and dest.previous_secret == old
    assert dest.secret in page(marketer_client, segment)
    assert dest.secret not in page(marketer_client, segment)


@pytest.mark.django_db
@pytest.mark.parametrize(("data", "message"), [
    ({"url": "http://192.168.1.10/hook", "on_enter": "on"}, "private, loopback"),
    ({"url": "", "on_enter": "on"}, "This field is required"),
    ({"url": "javascript:alert(1)", "on_enter": "on"}, "http:// or https://"),
    ({"url": "https://example.com/h"}, "on enter, on exit or both"),
    ({"url": "https://example.com/h", "on_enter": "on", "traits": "x" * 101}, "list of names"),
])
def test_a_bad_webhook_form_shows_its_error_and_adds_nothing(marketer_client, segment, data, message):
    response = marketer_client.post(reverse("segments:webhook-add", args=[segment.pk]), data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Destination.objects.exists()


@pytest.mark.django_db
def test_add_crm_actions_with_errors_on_the_page(marketer_client, segment):
    rep = UserFactory(username="rita", first_name="Rita", last_name="Rep", role="Sales")
    team = Team.objects.create(name="Inside")
    add = reverse("segments:action-add", args=[segment.pk])
    assert marketer_client.get(add).status_code == 200
    for data, message in [
        ({"kind": "task", "subject": "", "assign_to": "owner", "due_in_hours": "24"}, "Give the task a subject"),
        ({"kind": "task", "subject": "Call", "assign_to": "user", "due_in_hours": "24"}, "Choose the user"),
        ({"kind": "task", "subject": "Call", "assign_to": "owner", "due_in_hours": "-3"}, "greater than or equal"),
        ({"kind": "task", "subject": "Call", "assign_to": "owner", "user": "999999"}, "Select a valid choice"),
        ({"kind": "create_contact"}, "Choose the team"),
        ({"kind": "tag_add", "tag": ""}, "Enter a tag"),
        ({"kind": "lifecycle", "stage": ""}, "Choose one of"),
        ({"kind": "webhook"}, "Select a valid choice"),
    ]:
        response = marketer_client.post(add, data)
        assert response.status_code == 400, data
        assert message in response.content.decode(), data
    assert not Destination.objects.exists()

    response = marketer_client.post(add, {"kind": "task", "name": "Call hot", "subject": "Call {first_name}",
                                          "body": "From {segment}", "assign_to": "user", "user": rep.pk,
                                          "due_in_hours": "4"})
    assert response.status_code == 302
    task = Destination.objects.get()
    assert task.config == {"subject": "Call {first_name}", "body": "From {segment}", "assign_to": "user",
                           "due_in_hours": 4, "user_id": rep.pk}
    assert marketer_client.post(add, {"kind": "create_contact", "team": team.pk}).status_code == 302
    assert Destination.objects.get(kind="create_contact").config == {"team_id": team.pk}
    assert "Call hot" in page(marketer_client, segment)

    edit = reverse("segments:destination-edit", args=[segment.pk, task.pk])
    assert 'value="Call {first_name}"' in marketer_client.get(edit).content.decode()
    bad = marketer_client.post(edit, {"kind": "tag_add", "name": "Call hot", "subject": "", "assign_to": "owner",
                                      "due_in_hours": "4", "enabled": "on"})
    assert bad.status_code == 400 and "Give the task a subject" in bad.content.decode()
    task.refresh_from_db()
    assert task.kind == "task" and task.config["subject"] == "Call {first_name}"
    ok = marketer_client.post(edit, {"name": "Call hot", "subject": "Ring {first_name}", "assign_to": "owner",
                                     "due_in_hours": "8"})
    assert ok.status_code == 302
    task.refresh_from_db()
    assert (task.config["subject"], task.config["assign_to"], task.enabled) == ("Ring {first_name}", "owner", False)

    assert marketer_client.post(reverse("segments:destination-remove", args=[segment.pk, task.pk])).status_code == 302
    assert not Destination.objects.filter(pk=task.pk).exists()


@pytest.mark.django_db
def test_edit_a_webhook_and_a_bad_change_keeps_it(marketer_client, segment):
    dest = destination_create(segment=segment, kind="webhook", name="W", url="https://example.com/h")
    edit = reverse("segments:destination-edit", args=[segment.pk, dest.pk])
    bad = marketer_client.post(edit, {"name": "W2", "url": "http://[::1]/x", "on_enter": "on", "enabled": "on"})
    assert bad.status_code == 400 and "private, loopback" in bad.content.decode()
    dest.refresh_from_db()
    assert (dest.name, dest.url) == ("W", "https://example.com/h")
    ok = marketer_client.post(edit, {"name": "W2", "url": "https://example.org/h", "on_exit": "on", "traits": "a,b"})
    assert ok.status_code == 302
    dest.refresh_from_db()
    assert (dest.name, dest.url, dest.on_enter, dest.on_exit, dest.traits, dest.enabled) == (
        "W2", "https://example.org/h", False, True, ["a", "b"], False)
    other = segment_create(name="Other", definition=PRO)
    assert marketer_client.get(reverse("segments:destination-edit", args=[other.pk, dest.pk])).status_code == 404
    assert marketer_client.get(reverse("segments:destination-rotate", args=[segment.pk, dest.pk])).status_code == 405


@pytest.mark.django_db
def test_log_success_rate_and_lag(marketer_client, segment, receiver, django_assert_max_num_queries):
    dest = destination_create(segment=segment, kind="webhook", name="Hook", url=receiver.url())
    receiver.answer("/hook", (400, {}, b"<b>bad</b> payload"))
    for _ in range(4):
        enter()
    webhooks.deliveries_send()
    body = page(marketer_client, segment)
    assert "75.0 %" in body and " s / " in body  # 3 of 4 delivered; p50 / p95 lag shown
    log_url = reverse("segments:destination-log", args=[segment.pk, dest.pk])
    with django_assert_max_num_queries(12):
        log = marketer_client.get(log_url).content.decode()
    assert log.count('data-testid="log-row"') == 4 and "Dead (failed)" in log
    assert "&lt;b&gt;bad&lt;/b&gt; payload" in log and "<b>bad</b>" not in log
    assert marketer_client.get(log_url + "?status=dead").content.decode().count('data-testid="log-row"') == 1
    assert marketer_client.get(log_url + "?status=nonsense").status_code == 200
    assert marketer_client.get(log_url + "?page=999").status_code == 200


@pytest.mark.django_db
def test_the_runs_of_a_task_action(marketer_client, segment):
    owner = UserFactory(username="rita", role="Sales")
    contact = Contact.objects.create(first_name="Ann", last_name="Lee", email="ann@example.com", owner=owner)
    dest = destination_create(segment=segment, kind="task", config={"subject": "Call {first_name}"})
    refresh.profiles_check(profile_ids=[Profile.objects.create(traits={"plan": "pro"}, crm_contact_id=contact.pk).pk])
    action_runs_execute()
    log = marketer_client.get(reverse("segments:destination-log", args=[segment.pk, dest.pk])).content.decode()
    assert "Call Ann" in log and reverse("contact-detail", args=[contact.pk]) in log
    assert "1 done" in page(marketer_client, segment)


@pytest.mark.django_db
def test_dead_letter_pages_for_admins(admin_client_, segment, receiver, django_assert_max_num_queries):
    destination_create(segment=segment, kind="webhook", name="Hook", url=receiver.url())
    receiver.answer("/hook", *[(500, {}, b"boom")] * 4)
    for _ in range(4):
        enter(name="<script>x</script>")
    webhooks.deliveries_send()
    ids = list(Delivery.objects.order_by("pk").values_list("pk", flat=True))
    assert 'data-testid="segment-dead-letters"' in page(admin_client_, segment)
    with django_assert_max_num_queries(10):
        listing = admin_client_.get(reverse("segments:dead-letters") + f"?segment={segment.pk}").content.decode()
    assert listing.count('data-testid="dead-letter-row"') == 4
    detail = admin_client_.get(reverse("segments:dead-letter", args=[ids[0]])).content.decode()
    assert str(Delivery.objects.get(pk=ids[0]).delivery_id) in detail and "HTTP 500: boom" in detail
    act = reverse("segments:dead-letters-act")
    assert admin_client_.post(act, {"action": "replay"}).status_code == 302  # nothing selected: a message
    assert set(Delivery.objects.values_list("status", flat=True)) == {"dead"}
    admin_client_.post(act, {"action": "replay", "ids": [ids[0]]})
    assert Delivery.objects.get(pk=ids[0]).status == "pending"
    admin_client_.post(act, {"action": "discard", "ids": [ids[1], "x"]})
    assert Delivery.objects.get(pk=ids[1]).status == "discarded"
    assert admin_client_.get(reverse("segments:dead-letter", args=[ids[1]])).status_code == 404
    admin_client_.post(act, {"action": "replay_all", "segment": segment.pk})
    assert list(Delivery.objects.order_by("pk").values_list("status", flat=True)) == [
        "pending", "discarded", "pending", "pending"]
    webhooks.deliveries_send()
    assert Delivery.objects.filter(status="delivered").count() == 3
    assert 'data-testid="no-dead-letters"' in admin_client_.get(reverse("segments:dead-letters")).content.decode()


@pytest.mark.django_db
def test_who_may_open_what(client, marketer_client, segment, sales_user, support_user):
    dest = destination_create(segment=segment, kind="webhook", name="W", url="https://example.com/h")
    assert marketer_client.get(reverse("segments:dead-letters")).status_code == 403
    assert marketer_client.post(reverse("segments:dead-letters-act"), {"action": "replay_all"}).status_code == 403
    assert "dead-letters-link" not in marketer_client.get(reverse("segments:index")).content.decode()
    for user in (sales_user, support_user):
        client.force_login(user, backend=MODEL_BACKEND)
        for url in (reverse("segments:webhook-add", args=[segment.pk]),
                    reverse("segments:action-add", args=[segment.pk]),
                    reverse("segments:destination-edit", args=[segment.pk, dest.pk]),
                    reverse("segments:destination-log", args=[segment.pk, dest.pk]),
                    reverse("segments:dead-letters")):
            assert client.get(url).status_code == 403, url
        for url in (reverse("segments:destination-remove", args=[segment.pk, dest.pk]),
                    reverse("segments:destination-rotate", args=[segment.pk, dest.pk])):
            assert client.post(url).status_code == 403, url
    assert Destination.objects.get().secret == dest.secret


@pytest.mark.django_db
def test_admins_see_the_dead_letters_link(admin_client_):
    body = admin_client_.get(reverse("segments:index")).content.decode()
    assert 'data-testid="dead-letters-link"' in body and 'data-testid="scoring-link"' in body


@pytest.mark.django_db
def test_the_segment_page_and_the_api_list_do_not_query_per_destination(marketer_client, segment,
                                                                        django_assert_max_num_queries):
    def add(n: int) -> None:
        for i in range(n):
            destination_create(segment=segment, kind="webhook", name=f"W{i}", url=f"https://example.com/{i}")
            destination_create(segment=segment, kind="tag_add", config={"tag": f"t{i}"})

    add(1)
    url = reverse("segments:detail", args=[segment.pk])
    api = f"/api/segments/{segment.pk}/destinations/"
    with CaptureQueriesContext(connection) as few_page:
        marketer_client.get(url)
    with CaptureQueriesContext(connection) as few_api:
        marketer_client.get(api)
    add(6)
    with django_assert_max_num_queries(len(few_page)):
        body = marketer_client.get(url).content.decode()
    assert body.count('data-testid="destination-row"') == 14
    with django_assert_max_num_queries(len(few_api)):
        assert marketer_client.get(api).json()["count"] == 14


@pytest.mark.django_db
def test_a_frozen_list_offers_no_destinations_and_refuses_one_on_the_form(marketer_client, segment):
    segment.mode = "static"
    segment.save(update_fields=["mode"])
    body = page(marketer_client, segment)
    assert "A frozen list" in body and 'data-testid="add-webhook"' not in body
    response = marketer_client.post(reverse("segments:action-add", args=[segment.pk]), {"kind": "tag_add", "tag": "x"})
    assert response.status_code == 400 and "nobody enters or leaves it" in response.content.decode()
    assert not Destination.objects.exists()
