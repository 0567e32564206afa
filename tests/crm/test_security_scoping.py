"""Scoping fixes of issue 12: stage-change timeline, deal page contacts, task assignment, custom-field API,
import error texts."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import DataError, IntegrityError, connection, transaction
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from crm.models import Activity, ImportJob
from crm.services.activities import activity_log, activity_update
from crm.services.deals import deal_create
from crm.services.imports import _row_failure_text, import_job_create, import_job_run
from tests.crm.deal_factories import DealFactory, make_pipeline
from tests.crm.factories import ContactFactory
from tests.crm.import_helpers import csv_upload
from tests.factories import TeamFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def pipeline():
    return make_pipeline()


@pytest.fixture
def rival():
    return UserFactory(username="rival", role="Sales")


def test_contact_timeline_shows_only_stage_changes_of_deals_the_viewer_may_see(sales_client, sales_user, rival,
                                                                               pipeline):
    contact = ContactFactory(owner=sales_user, first_name="Shared")
    deal_create(user=sales_user, name="My deal", pipeline=pipeline, contacts=[contact])
    deal_create(user=rival, name="Rival secret deal", pipeline=pipeline, contacts=[contact])
    page = sales_client.get(reverse("contact-detail", args=[contact.pk])).content.decode()
    assert "My deal: Deal created" in page
    assert "Rival secret deal" not in page


def test_company_timeline_too(sales_client, sales_user, rival, pipeline):
    from tests.crm.factories import CompanyFactory

    company = CompanyFactory(owner=sales_user)
    deal_create(user=rival, name="Rival secret deal", pipeline=pipeline, company=company)
    page = sales_client.get(reverse("company-detail", args=[company.pk])).content.decode()
    assert "Rival secret deal" not in page


def test_deal_page_lists_only_contacts_the_viewer_may_see(sales_client, sales_user, rival, pipeline):
    mine = ContactFactory(owner=sales_user, first_name="Visible", last_name="Person")
    hidden = ContactFactory(owner=rival, first_name="Hidden", last_name="Person")
    deal = DealFactory(owner=sales_user, name="Joint deal")
    deal.contacts.set([mine, hidden])
    for name in ("deal-detail", "deal-fields"):
        page = sales_client.get(reverse(name, args=[deal.pk])).content.decode()
        assert "Visible Person" in page and "Hidden Person" not in page
        assert reverse("contact-detail", args=[hidden.pk]) not in page


# --- task assignment: one check --------------------------------------------------------------------------------


def _task(user, deal, **kwargs):
    return activity_log(user=user, kind="task", subject="Call", deal=deal, due_at=timezone.now() + timedelta(days=1),
                        **kwargs)


def test_a_rep_may_not_give_tasks_to_other_users(sales_user, rival, pipeline):
    deal = DealFactory(owner=sales_user)
    with pytest.raises(ValidationError) as exc:
        _task(sales_user, deal, assignee=rival)
    assert "assignee" in exc.value.message_dict
    task = _task(sales_user, deal)
    assert task.assignee == sales_user
    with pytest.raises(ValidationError):
        activity_update(user=sales_user, activity=task, changes={"assignee": rival})


def test_a_manager_may_give_tasks_to_team_members_and_admins_to_anyone(sales_user, rival, admin_user, pipeline):
    manager = UserFactory(username="boss", role="Sales")
    team = TeamFactory(manager=manager)
    team.members.add(sales_user)
    deal = DealFactory(owner=manager)
    assert _task(manager, deal, assignee=sales_user).assignee == sales_user
    with pytest.raises(ValidationError):
        _task(manager, deal, assignee=rival)
    assert _task(admin_user, deal, assignee=rival).assignee == rival


def test_task_assignment_through_the_api_and_the_form(sales_user, rival, pipeline):
    deal = DealFactory(owner=sales_user)
    api = APIClient()
    api.force_authenticate(sales_user)
    response = api.post("/api/crm/activities/", {"kind": "task", "subject": "Call", "deal": deal.pk,
                                                  "due_at": (timezone.now() + timedelta(days=1)).isoformat(),
                                                  "assignee": rival.pk}, format="json")
    assert response.status_code == 400 and "assignee" in str(response.json()["detail"])
    assert not Activity.objects.exists()

    from crm.views.deal_forms import ActivityForm

    choices = list(ActivityForm(user=sales_user).fields["assignee"].queryset)
    assert choices == [sales_user]


# --- custom fields API -----------------------------------------------------------------------------------------


def test_custom_field_api_needs_a_login(sales_user):
    assert APIClient().get("/api/crm/custom-fields/").status_code in (401, 403)
    api = APIClient()
    api.force_authenticate(sales_user)
    assert api.get("/api/crm/custom-fields/").status_code == 200
    assert api.post("/api/crm/custom-fields/", {"key": "x"}, format="json").status_code == 403


# --- import errors say nothing of the database's internals ------------------------------------------------------


def test_row_failure_texts_are_generic():
    with pytest.raises(IntegrityError) as integrity, transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("CREATE TEMP TABLE t_unique (v int UNIQUE); INSERT INTO t_unique VALUES (1), (1)")
    with pytest.raises(DataError) as data, transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT 'abcdef'::varchar(2)::char(1), 1/0")
    for exc in (integrity.value, data.value):
        text = _row_failure_text(exc)
        assert text.startswith("Could not be saved")
        assert "t_unique" not in text and "duplicate key" not in text and "division" not in text


def test_a_stopped_import_does_not_show_the_exception_text(sales_user, settings, tmp_path, caplog):
    settings.MEDIA_ROOT = tmp_path
    job = import_job_create(actor=sales_user, object_type="contact",
                            upload=csv_upload([["Email"], ["a@example.com"]]))
    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.QUEUED)
    path = job.file.path
    job.file.storage.delete(job.file.name)
    import_job_run(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == ImportJob.Status.FAILED
    assert f"import #{job.pk}" in job.failure and path not in job.failure and "Errno" not in job.failure
    assert path in caplog.text  # the detail is in the log
