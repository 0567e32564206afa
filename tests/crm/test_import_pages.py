"""Import pages: upload → map → preview → start (returns at once) → progress fragment → errors CSV."""

from __future__ import annotations

import pytest
from django.urls import reverse

from crm.models import Contact, ImportJob
from tests.crm.import_helpers import csv_upload
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def _upload(client, rows, object_type="contact"):
    return client.post(reverse("import-list"), {"object_type": object_type, "file": csv_upload(rows),
                                                "phone_region": "DE"})


def test_full_flow_for_a_rep(sales_client, sales_user, django_capture_on_commit_callbacks):
    response = _upload(sales_client, [["Mail", "Full name", "Mobile", "Notes"],
                                      ["ann@example.com", "Ann Lee", "030 1234567", "x"],
                                      ["broken", "", "", "y"]])
    job = ImportJob.objects.get()
    assert response.status_code == 302 and response.url == reverse("import-map", args=[job.pk])

    page = sales_client.get(reverse("import-map", args=[job.pk]))
    html = page.content.decode()
    assert page.status_code == 200
    assert 'value="email" selected' in html and "ann@example.com" in html  # suggested mapping and sample

    response = sales_client.post(reverse("import-map", args=[job.pk]),
                                 {"col_0": "email", "col_1": "full_name", "col_2": "phone", "col_3": ""})
    assert response.url == reverse("import-preview", args=[job.pk])
    job.refresh_from_db()
    assert job.mapping == {"0": "email", "1": "full_name", "2": "phone"}

    preview = sales_client.get(reverse("import-preview", args=[job.pk])).content.decode()
    assert "imp-action-create" in preview and "imp-action-error" in preview
    assert "“broken” is not a valid email address." in preview
    assert Contact.objects.count() == 0

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = sales_client.post(reverse("import-start", args=[job.pk]))
    # The request only queues the job (the task runs after commit, in a worker).
    assert response.url == reverse("import-detail", args=[job.pk])
    assert len(callbacks) == 1
    job.refresh_from_db()
    assert job.status == ImportJob.Status.QUEUED and Contact.objects.count() == 0
    detail = sales_client.get(reverse("import-detail", args=[job.pk])).content.decode()
    assert 'hx-trigger="every 1s"' in detail and "Queued" in detail

    callbacks[0]()  # what the worker does
    fragment = sales_client.get(reverse("import-progress", args=[job.pk])).content.decode()
    assert 'data-status="done"' in fragment and "every 1s" not in fragment
    contact = Contact.objects.get()
    assert (contact.first_name, contact.last_name, contact.phone) == ("Ann", "Lee", "+49301234567")

    errors = sales_client.get(reverse("import-errors", args=[job.pk]))
    body = b"".join(errors.streaming_content).decode("utf-8-sig")
    assert body.splitlines() == ["row,errors,Mail,Full name,Mobile,Notes",
                                 "2,“broken” is not a valid email address.; The row has no name and no email.,"
                                 "broken,,,y"]


def test_mapping_errors_are_shown(sales_client):
    _upload(sales_client, [["A", "B"], ["1", "2"]])
    job = ImportJob.objects.get()
    response = sales_client.post(reverse("import-map", args=[job.pk]), {"col_0": "title", "col_1": "title"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "Job title is already mapped to column “A”." in html
    response = sales_client.post(reverse("import-map", args=[job.pk]), {"col_0": "title", "col_1": ""})
    assert "Map at least one column to Email or First name or Full name or Last name." in response.content.decode()


def test_upload_errors_are_form_errors(sales_client):
    response = _upload(sales_client, [["Email"]])
    assert response.status_code == 200
    assert "no data rows" in response.content.decode()
    assert not ImportJob.objects.exists()


def test_others_imports_are_not_found_and_readers_cannot_import(client, sales_client, marketing_user):
    _upload(sales_client, [["Email"], ["a@example.com"]])
    job = ImportJob.objects.get()
    client.force_login(UserFactory(role="Sales"))
    for name in ("import-detail", "import-map", "import-preview", "import-progress", "import-errors"):
        assert client.get(reverse(name, args=[job.pk])).status_code == 404
    assert client.post(reverse("import-start", args=[job.pk])).status_code == 404
    client.force_login(marketing_user)
    assert client.get(reverse("import-list")).status_code == 403


def test_admin_sees_every_import_but_cannot_start_someone_elses(client, sales_client, admin_user):
    _upload(sales_client, [["Email"], ["a@example.com"]])
    job = ImportJob.objects.get()
    client.force_login(admin_user)
    assert client.get(reverse("import-detail", args=[job.pk])).status_code == 200
    assert client.post(reverse("import-start", args=[job.pk])).status_code == 403
    assert "sam" in client.get(reverse("import-list")).content.decode()


def test_import_list_query_count(sales_client, sales_user, django_assert_max_num_queries):
    for i in range(5):
        _upload(sales_client, [["Email"], [f"a{i}@example.com"]])
    with django_assert_max_num_queries(8):
        response = sales_client.get(reverse("import-list"))
    assert response.content.decode().count("contacts.csv") == 5
