"""Helpers for the import tests: CSV uploads and running a job to the end."""

from __future__ import annotations

import csv
import io

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import TestCase

from crm.models import ImportJob
from crm.services.imports import import_job_create, import_job_set_mapping, import_job_start


def csv_upload(rows: list[list[str]], name: str = "contacts.csv", *, delimiter: str = ",") -> SimpleUploadedFile:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter).writerows(rows)
    return SimpleUploadedFile(name, buffer.getvalue().encode("utf-8"), content_type="text/csv")


def run_import(actor, rows: list[list[str]], *, object_type: str = "contact", mapping: dict | None = None,
               phone_region: str = "") -> ImportJob:
    """Upload, map (the suggested mapping unless given) and start; Celery is eager in tests and the on-commit
    queueing runs at the end of the block, so the job has finished on return."""
    job = import_job_create(actor=actor, object_type=object_type, upload=csv_upload(rows), phone_region=phone_region)
    if mapping is not None:
        job = import_job_set_mapping(job=job, actor=actor, mapping=mapping)
    with TestCase.captureOnCommitCallbacks(execute=True):
        import_job_start(job=job, actor=actor)
    job.refresh_from_db()
    return job
