from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError
from django.urls import reverse
from django.utils import timezone

from crm.extensions import timeline_for
from crm.models import Activity
from crm.selectors.activities import activities_visible_to, my_tasks
from crm.services.activities import activity_log, task_complete
from tests.crm.deal_factories import DealFactory, TaskFactory, make_pipeline
from tests.crm.factories import CompanyFactory, ContactFactory
from tests.factories import TeamFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def deal(sales_user):
    make_pipeline()
    return DealFactory(owner=sales_user)


def test_log_call_with_outcome_and_duration_shows_on_timelines(sales_user, deal):
    contact = ContactFactory(owner=sales_user)
    call = activity_log(user=sales_user, kind="call", subject="Intro call", contact=contact, deal=deal,
                        call_outcome="connected", call_duration_minutes=12)
    assert (call.owner, call.created_by, call.call_duration_minutes) == (sales_user, sales_user, 12)
    for subject in (contact, deal):
        titles = [e.title for e in timeline_for(subject, user=sales_user) if e.kind == "activity"]
        assert titles == ["Call: Intro call (Connected, 12 min)"]


def test_activity_needs_a_link_and_kind_specific_fields(sales_user, deal):
    with pytest.raises(ValidationError):
        activity_log(user=sales_user, kind="note", subject="Floating")
    with pytest.raises(ValidationError) as err:
        activity_log(user=sales_user, kind="task", subject="No due", deal=deal)
    assert "due_at" in err.value.message_dict
    now = timezone.now()
    with pytest.raises(ValidationError) as err:
        activity_log(user=sales_user, kind="meeting", subject="Backwards", deal=deal, meeting_start=now,
                     meeting_end=now - timedelta(hours=1))
    assert "meeting_end" in err.value.message_dict
    with pytest.raises(ValidationError):
        activity_log(user=sales_user, kind="note", subject="Note", deal=deal, call_outcome="connected")
    with pytest.raises(IntegrityError):
        Activity.objects.create(kind="note", subject="Unlinked")


def test_cannot_log_on_records_one_may_not_edit(sales_user, marketing_user, deal):
    other_company = CompanyFactory(owner=UserFactory(role="Sales"))
    with pytest.raises(PermissionDenied):
        activity_log(user=sales_user, kind="note", subject="Hi", company=other_company)
    with pytest.raises(PermissionDenied):
        activity_log(user=marketing_user, kind="note", subject="Hi", deal=deal)


def test_task_defaults_to_me_and_completes(sales_user, deal):
    task = activity_log(user=sales_user, kind="task", subject="Send offer", deal=deal,
                        due_at=timezone.now() + timedelta(hours=2))
    assert task.assignee == sales_user and not task.done
    task = task_complete(user=sales_user, activity=task)
    assert task.done and task.done_at is not None
    task = task_complete(user=sales_user, activity=task, done=False)
    assert not task.done and task.done_at is None


def test_assignee_may_complete_but_stranger_may_not(sales_user, deal):
    helper = UserFactory(role="Sales")
    TeamFactory(manager=sales_user).members.add(helper)  # whom sales_user may give tasks to
    task = activity_log(user=sales_user, kind="task", subject="Help", deal=deal, assignee=helper,
                        due_at=timezone.now())
    assert task in activities_visible_to(helper)
    assert task_complete(user=helper, activity=task).done
    with pytest.raises(PermissionDenied):
        task_complete(user=UserFactory(role="Sales"), activity=task)
    note = activity_log(user=sales_user, kind="note", subject="n", deal=deal)
    with pytest.raises(ValidationError):
        task_complete(user=sales_user, activity=note)


def test_my_tasks_splits_overdue_and_today(sales_user, deal):
    now = timezone.now().replace(hour=12, minute=0)
    TaskFactory(assignee=sales_user, deal=deal, subject="Yesterday", due_at=now - timedelta(days=1))
    TaskFactory(assignee=sales_user, deal=deal, subject="This evening", due_at=now + timedelta(hours=6))
    TaskFactory(assignee=sales_user, deal=deal, subject="Tomorrow", due_at=now + timedelta(days=1, hours=1))
    TaskFactory(assignee=sales_user, deal=deal, subject="Done", due_at=now - timedelta(hours=1), done=True,
                done_at=now)
    TaskFactory(assignee=UserFactory(), deal=deal, subject="Someone else's", due_at=now)
    tasks = my_tasks(user=sales_user, now=now)
    assert [t.subject for t in tasks["overdue"]] == ["Yesterday"]
    assert [t.subject for t in tasks["today"]] == ["This evening"]


def test_log_form_page_flow(client, sales_user, deal):
    client.force_login(sales_user)
    form = client.get(reverse("activity-log"), {"deal": deal.pk}, headers={"HX-Request": "true"})
    assert f'name="deal" value="{deal.pk}"' in form.content.decode()
    response = client.post(reverse("activity-log"), {
        "deal": deal.pk, "kind": "call", "subject": "Follow-up", "call_outcome": "voicemail",
        "call_duration_minutes": "3", "due_at": "2030-01-01T10:00",
    }, headers={"HX-Request": "true"})
    assert response.status_code == 200 and response["HX-Trigger"] == "activityLogged"
    assert 'data-testid="activity-logged"' in response.content.decode()
    call = Activity.objects.get(subject="Follow-up")
    assert (call.kind, call.call_outcome, call.call_duration_minutes, call.due_at) == ("call", "voicemail", 3, None)
    bad = client.post(reverse("activity-log"), {"deal": deal.pk, "kind": "task", "subject": "No due"},
                      headers={"HX-Request": "true"})
    assert bad.status_code == 200 and "A task needs a due date" in bad.content.decode()
    plain = client.post(reverse("activity-log"), {"deal": deal.pk, "kind": "note", "subject": "Plain",
                                                  "next": f"/crm/deals/{deal.pk}/"})
    assert plain.status_code == 302 and plain["Location"] == f"/crm/deals/{deal.pk}/"


def test_log_form_rejects_invisible_and_read_only_targets(client, sales_user, marketing_user, deal):
    hidden = DealFactory(owner=UserFactory(role="Sales"))
    client.force_login(sales_user)
    assert client.post(reverse("activity-log"), {"deal": hidden.pk, "kind": "note", "subject": "x"}).status_code == 404
    client.force_login(marketing_user)
    assert client.post(reverse("activity-log"), {"deal": deal.pk, "kind": "note", "subject": "x"}).status_code == 403
    assert not Activity.objects.exists()


def test_complete_task_view(client, sales_user, deal):
    task = TaskFactory(assignee=sales_user, deal=deal, owner=sales_user)
    client.force_login(sales_user)
    response = client.post(reverse("task-complete", args=[task.pk]), {"done": "1"}, headers={"HX-Request": "true"})
    assert response.status_code == 200 and "☑" in response.content.decode()
    task.refresh_from_db()
    assert task.done
    client.force_login(UserFactory(role="Sales"))
    assert client.post(reverse("task-complete", args=[task.pk])).status_code == 404
