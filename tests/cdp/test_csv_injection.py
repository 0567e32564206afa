"""CDP import error reports (the stored file and the download) neutralise formula cells (issue 12)."""

from __future__ import annotations

import csv
import io

import pytest
from django.urls import reverse
from django.utils import timezone

from cdp.models import EventImport, Source
from cdp.services.imports import _finish
from cdp.services.sources import source_create

pytestmark = pytest.mark.django_db

ERRORS = [{"row": 7, "error": "invalid_email", "detail": '=HYPERLINK("http://evil.example","x")'},
          {"row": 8, "error": "@cmd", "detail": "-2+3"}]
EXPECTED = [["row", "error", "detail"], ["7", "invalid_email", "'=HYPERLINK(\"http://evil.example\",\"x\")"],
            ["8", "'@cmd", "'-2+3"]]


@pytest.fixture
def job(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    source = source_create(name="Imports", kind=Source.Kind.IMPORT)
    return EventImport.objects.create(source=source, kind="events", status=EventImport.Status.RUNNING,
                                      errors=ERRORS, started_at=timezone.now())


def test_stored_errors_file(job):
    assert _finish(job.pk)
    job.refresh_from_db()
    assert list(csv.reader(io.StringIO(job.errors_file.read().decode()))) == EXPECTED


def test_errors_download(client, marketing_user, job):
    client.force_login(marketing_user)
    response = client.get(reverse("cdp:import-errors", args=[job.pk]))
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    assert list(csv.reader(io.StringIO(text))) == EXPECTED
