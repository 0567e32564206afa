"""A CSV import run by a real Celery worker process through Redis, in several chunks."""

from __future__ import annotations

import pytest

from crm.models import Contact, ImportJob
from crm.services.imports import import_job_create, import_job_start
from tests.crm.import_helpers import csv_upload
from tests.workers import wait_until

pytestmark = pytest.mark.worker


@pytest.fixture
def shared_media(settings, tmp_path, monkeypatch):
    """The uploaded file must be readable by the worker process: same MEDIA_ROOT through the environment."""
    monkeypatch.setenv("MEDIA_ROOT", str(tmp_path))
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def test_worker_imports_2500_rows_in_chunks(shared_media, celery_worker_process, sales_user):
    rows = [["Email", "First name", "Phone"]] + [[f"w{i}@example.com", f"W{i}", f"+4930{1000000 + i}"]
                                                 for i in range(2500)]
    rows.append(["not an email", "", ""])
    job = import_job_create(actor=sales_user, object_type="contact", upload=csv_upload(rows))
    import_job_start(job=job, actor=sales_user)  # no transaction around it: queued to the broker at once
    assert wait_until(lambda: ImportJob.objects.get(pk=job.pk).status == ImportJob.Status.DONE, timeout=120), \
        celery_worker_process.log_path.read_text()[-3000:]
    job.refresh_from_db()
    assert (job.processed_rows, job.created_count, job.failed_count) == (2501, 2500, 1)
    assert Contact.objects.filter(owner=sales_user).count() == 2500
    assert Contact.objects.get(email="w2499@example.com").phone == "+49301002499"
