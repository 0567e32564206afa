"""Imports with a real Celery worker process (JSON-serialised task arguments, real Redis, committed data)."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from cdp.models import EventImport, RawEvent, Source
from cdp.services.imports import event_import_create, event_import_start
from cdp.services.sources import source_create
from tests.workers import wait_until

pytestmark = pytest.mark.worker


@pytest.fixture
def shared_media(tmp_path, monkeypatch, settings):
    """One MEDIA_ROOT for this process and the worker it starts (the upload is read by the worker)."""
    monkeypatch.setenv("MEDIA_ROOT", str(tmp_path))
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def test_import_runs_on_a_real_worker(shared_media, celery_worker_process):
    source = source_create(name="Worker import", kind=Source.Kind.IMPORT)
    rows = "".join(f"u{n},Page Viewed,{n}\n" for n in range(1, 2501))
    upload = SimpleUploadedFile("views.csv", ("user_id,event,n\n" + rows).encode(), content_type="text/csv")
    job = event_import_create(source=source, kind="events", upload=upload, user=None)
    event_import_start(import_id=job.pk, mapping=job.mapping)

    def finished():
        job.refresh_from_db()
        return job.finished

    assert wait_until(finished, timeout=60), f"import stuck at {job.status} {job.processed_rows}"
    assert (job.status, job.processed_rows, job.accepted, job.rejected) == ("done", 2500, 2500, 0)
    assert RawEvent.objects.filter(source=source).count() == 2500
    assert source.batches.count() == 3  # chunks of 1000 rows
    assert EventImport.objects.get(pk=job.pk).percent == 100
