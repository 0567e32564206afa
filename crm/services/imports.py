"""CSV import of contacts and companies: upload → map columns → preview → run as a chunked Celery job.

The page never waits on the import: ``import_job_start`` queues ``crm.import_run`` after commit, and the
task calls ``import_job_run``, which works through the file in chunks of ``CHUNK_SIZE`` rows, each chunk in
its own transaction (set-based: see ``crm.services.import_rows``), and advances ``processed_rows``, the
job's resume point. Running the task twice is safe: every chunk locks the job row and checks that its start
is still the resume point.
"""

from __future__ import annotations

import csv
import io
import logging
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import DatabaseError, DataError, IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from config.queueing import enqueue_on_commit
from crm.models import ImportJob, ImportRowError
from crm.selectors.assignment import can_create_records
from crm.services.duplicates import duplicates_scan_request
from crm.services.import_rows import RowPlan, import_fields, rows_planner

logger = logging.getLogger(__name__)

CHUNK_SIZE = 1000
MAX_FILE_BYTES = 100 * 1024 * 1024
MAX_ROWS = 1_000_000
PREVIEW_ROWS = 20


@dataclass
class ImportChunkResult:
    created: int = 0
    updated: int = 0
    failed: int = 0


def _normal(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "", text.lower())


def _reader(handle: io.TextIOBase) -> Iterator[list[str]]:
    sample = handle.read(16384)
    handle.seek(0)
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel
    return csv.reader(handle, dialect)


def _open(job: ImportJob) -> io.TextIOWrapper:
    job.file.open("rb")
    return io.TextIOWrapper(job.file.file, encoding="utf-8-sig", newline="")


def import_rows_iter(*, job: ImportJob, start: int = 0) -> Iterator[tuple[int, list[str]]]:
    """The data rows of the job's file as ``(1-based row number, cells)``, from data row ``start`` on.
    Blank lines are skipped (they are not counted as rows)."""
    with _open(job) as handle:
        reader = _reader(handle)
        next(reader, None)
        number = 0
        for cells in reader:
            if not any(c.strip() for c in cells):
                continue
            number += 1
            if number > start:
                yield number, cells


def suggested_mapping(*, object_type: str, headers: list[str]) -> dict[str, str]:
    """A first guess of ``{column index: field}`` from header names (field key or label, any case)."""
    fields = import_fields(object_type)
    by_name: dict[str, str] = {}
    for name, label in fields.items():
        by_name.setdefault(_normal(name.removeprefix("custom:")), name)
        by_name.setdefault(_normal(label.split(" (")[0]), name)
    aliases = {"emailaddress": "email", "mail": "email", "firstname": "first_name", "lastname": "last_name",
               "surname": "last_name", "name": "full_name" if object_type == "contact" else "name",
               "company": "company_name" if object_type == "contact" else "name", "website": "domain"
               if object_type == "company" else "company_domain", "mobile": "phone", "phonenumber": "phone",
               "jobtitle": "title", "stage": "lifecycle_stage", "state": "region", "zip": "postal_code"}
    mapping: dict[str, str] = {}
    used: set[str] = set()
    for i, header in enumerate(headers):
        key = _normal(header)
        name = by_name.get(key) or aliases.get(key)
        if name and name in fields and name not in used:
            mapping[str(i)] = name
            used.add(name)
    return mapping


@transaction.atomic
def import_job_create(*, actor: AbstractBaseUser, object_type: str, upload: UploadedFile,
                      phone_region: str = "") -> ImportJob:
    """Store an uploaded CSV as a new job (status uploaded) with its headers, row count and a suggested mapping.

    Raises ``PermissionDenied`` if ``actor`` may not create records and ``ValidationError`` (keyed ``file``)
    for a file that is not a readable UTF-8 CSV with a header row and at least one data row.
    """
    if not can_create_records(actor):
        raise PermissionDenied("You may not import records.")
    if object_type not in ImportJob.ObjectType.values:
        raise ValidationError({"object_type": ["Choose contacts or companies."]})
    phone_region = (phone_region or "").strip().upper()
    if phone_region and not re.fullmatch(r"[A-Z]{2}", phone_region):
        raise ValidationError({"phone_region": ["Use a two-letter country code such as DE."]})
    if upload.size and upload.size > MAX_FILE_BYTES:
        raise ValidationError({"file": [f"The file is larger than {MAX_FILE_BYTES // (1024 * 1024)} MB."]})
    job = ImportJob(object_type=object_type, created_by=actor, original_name=(upload.name or "")[:255],
                    phone_region=phone_region)
    job.file.save(f"import-{timezone.now():%Y%m%d%H%M%S}.csv", upload, save=False)
    try:
        with _open(job) as handle:
            reader = _reader(handle)
            headers = [h.strip() for h in next(reader, [])]
            total = sum(1 for cells in reader if any(c.strip() for c in cells))
    except (UnicodeDecodeError, csv.Error) as exc:
        job.file.delete(save=False)
        raise ValidationError({"file": [f"The file is not a UTF-8 CSV file ({exc.__class__.__name__})."]}) from None
    if not any(headers):
        job.file.delete(save=False)
        raise ValidationError({"file": ["The file is empty; the first row must name the columns."]})
    if total == 0:
        job.file.delete(save=False)
        raise ValidationError({"file": ["The file has a header row but no data rows."]})
    if total > MAX_ROWS:
        job.file.delete(save=False)
        raise ValidationError({"file": [f"The file has more than {MAX_ROWS:,} rows; split it."]})
    job.headers = [h or f"Column {i + 1}" for i, h in enumerate(headers)]
    job.total_rows = total
    job.mapping = suggested_mapping(object_type=object_type, headers=job.headers)
    job.save()
    return job


def _check_owner(job: ImportJob, actor: AbstractBaseUser) -> None:
    if job.created_by_id != actor.pk:
        raise PermissionDenied("Only the person who uploaded the file may change this import.")


@transaction.atomic
def import_job_set_mapping(*, job: ImportJob, actor: AbstractBaseUser, mapping: dict[str, str]) -> ImportJob:
    """Save ``{column index: field}`` (empty field = ignore the column) for a job not yet started.

    Raises ``ValidationError`` (keyed by column index, or ``__all__``) for unknown fields, a field mapped
    twice, or a mapping without the fields needed to create records.
    """
    _check_owner(job, actor)
    job = ImportJob.objects.select_for_update().get(pk=job.pk)
    if job.status != ImportJob.Status.UPLOADED:
        raise ValidationError({"__all__": ["This import has already started."]})
    fields = import_fields(job.object_type)
    clean: dict[str, str] = {}
    errors: dict[str, list[str]] = {}
    seen: dict[str, str] = {}
    for index, name in mapping.items():
        if not name:
            continue
        if not str(index).isdigit() or int(index) >= len(job.headers):
            errors[str(index)] = ["There is no such column."]
        elif name not in fields:
            errors[str(index)] = [f"“{name}” is not a field you can import."]
        elif name in seen:
            errors[str(index)] = [f"{fields[name]} is already mapped to column “{job.headers[int(seen[name])]}”."]
        else:
            seen[name] = str(index)
            clean[str(index)] = name
    needed = ({"email", "first_name", "last_name", "full_name"} if job.object_type == "contact"
              else {"name", "domain"})
    if not errors and not needed & set(clean.values()):
        errors["__all__"] = ["Map at least one column to " + " or ".join(fields[n].split(" (")[0] for n in sorted(
            needed)) + "."]
    if errors:
        raise ValidationError(errors)
    job.mapping = clean
    job.save(update_fields=["mapping"])
    return job


def import_preview(*, job: ImportJob, actor: AbstractBaseUser, limit: int = PREVIEW_ROWS) -> list[RowPlan]:
    """What the import would do with the first ``limit`` rows (create/update/error with messages). Writes nothing."""
    _check_owner(job, actor)
    rows = []
    for item in import_rows_iter(job=job):
        rows.append(item)
        if len(rows) >= limit:
            break
    planner = rows_planner(job.object_type)(actor=actor, mapping=job.mapping, phone_region=job.phone_region)
    return planner.plan(rows)


@transaction.atomic
def import_job_start(*, job: ImportJob, actor: AbstractBaseUser) -> ImportJob:
    """Queue the import (after commit). Raises ``ValidationError`` if already started or nothing is mapped."""
    _check_owner(job, actor)
    job = ImportJob.objects.select_for_update().get(pk=job.pk)
    if job.status != ImportJob.Status.UPLOADED:
        raise ValidationError({"__all__": ["This import has already started."]})
    if not job.mapping:
        raise ValidationError({"__all__": ["Map at least one column first."]})
    job.status = ImportJob.Status.QUEUED
    job.save(update_fields=["status"])
    enqueue_on_commit("crm.import_run", job.pk)
    return job


def _run_chunk(job: ImportJob, rows: list[tuple[int, list[str]]], owner_cache: dict) -> ImportChunkResult | None:
    """Plan and write one chunk in one transaction; None if another run already did this chunk."""
    start = rows[0][0] - 1
    with transaction.atomic():
        locked = ImportJob.objects.select_for_update().get(pk=job.pk)
        if locked.processed_rows != start or locked.status != ImportJob.Status.RUNNING:
            return None
        try:
            with transaction.atomic():
                plans = _plan_and_write(job, rows, owner_cache)
        except DatabaseError:
            # A conflict the planning could not foresee (e.g. a concurrent writer took a domain): retry row by
            # row so that only the offending rows fail.
            logger.warning("Import %s: chunk at row %s failed as a whole; retrying row by row", job.pk, start + 1,
                           exc_info=True)
            plans = []
            for row in rows:
                try:
                    with transaction.atomic():
                        plans.extend(_plan_and_write(job, [row], owner_cache))
                except DatabaseError as exc:
                    # The database's own text names tables, constraints and other rows' values: it goes to the
                    # log, the person importing gets what they can act on.
                    logger.warning("Import %s: row %s could not be saved", job.pk, row[0], exc_info=True)
                    plans.append(RowPlan(row_number=row[0], cells=row[1], errors=[_row_failure_text(exc)]))
        result = ImportChunkResult(
            created=sum(p.action == "create" for p in plans), updated=sum(p.action == "update" for p in plans),
            failed=sum(p.action == "error" for p in plans))
        ImportRowError.objects.bulk_create(
            [ImportRowError(job=job, row_number=p.row_number, errors=p.errors, data=p.cells)
             for p in plans if p.action == "error"], ignore_conflicts=True)
        ImportJob.objects.filter(pk=job.pk).update(
            processed_rows=F("processed_rows") + len(rows), created_count=F("created_count") + result.created,
            updated_count=F("updated_count") + result.updated, failed_count=F("failed_count") + result.failed)
    return result


def _row_failure_text(exc: DatabaseError) -> str:
    if isinstance(exc, IntegrityError):
        return ("Could not be saved: it clashes with a record saved at the same time (the same email or domain, "
                "say). Import the file again to retry this row.")
    if isinstance(exc, DataError):
        return "Could not be saved: a value does not fit its field (too long or out of range)."
    return "Could not be saved because of a database error; an administrator can find the details in the log."


def _plan_and_write(job: ImportJob, rows, owner_cache) -> list[RowPlan]:
    planner = rows_planner(job.object_type)(actor=job.created_by, mapping=job.mapping,
                                            phone_region=job.phone_region, owner_cache=owner_cache)
    plans = planner.plan(rows, lock=True)
    planner.write()
    return plans


IMPORT_STOPPED_TEXT = ("The import stopped because of an unexpected error. The rows counted as done are saved; an "
                       "administrator can find the details in the server log (import #%(job)s).")


def import_job_run(*, job_id: int, time_budget: float = 120.0) -> bool:
    """Import the job's remaining rows chunk by chunk for up to ``time_budget`` seconds.

    Returns True when rows remain (the caller queues another run), False when the job is finished, failed or
    not runnable. A failure that is not about a row (unreadable file, a bug) marks the job failed.
    """
    job = ImportJob.objects.select_related("created_by").filter(pk=job_id).first()
    if job is None or job.status not in (ImportJob.Status.QUEUED, ImportJob.Status.RUNNING):
        return False
    if job.status == ImportJob.Status.QUEUED:
        ImportJob.objects.filter(pk=job.pk, status=ImportJob.Status.QUEUED).update(
            status=ImportJob.Status.RUNNING, started_at=timezone.now())
        job.status = ImportJob.Status.RUNNING
    deadline = time.monotonic() + time_budget
    owner_cache: dict = {}
    try:
        chunk: list[tuple[int, list[str]]] = []
        for row in import_rows_iter(job=job, start=job.processed_rows):
            chunk.append(row)
            if len(chunk) >= CHUNK_SIZE:
                if _run_chunk(job, chunk, owner_cache) is None:
                    return False
                chunk = []
                if time.monotonic() > deadline:
                    return True
        if chunk and _run_chunk(job, chunk, owner_cache) is None:
            return False
    except Exception:
        logger.exception("Import %s failed", job.pk)
        ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.FAILED, finished_at=timezone.now(),
                                                   failure=IMPORT_STOPPED_TEXT % {"job": job.pk})
        return False
    # Rows counted at upload but not found now (the file changed): close the gap so progress reads 100%.
    finished = ImportJob.objects.filter(pk=job.pk, status=ImportJob.Status.RUNNING).update(
        status=ImportJob.Status.DONE, finished_at=timezone.now(), total_rows=F("processed_rows"))
    if finished and job.object_type == ImportJob.ObjectType.CONTACT:
        duplicates_scan_request(force=True)  # an import is the likeliest source of new duplicates
    return False


def import_errors_rows(*, job: ImportJob) -> tuple[list[str], Iterator[list]]:
    """Header and rows of the job's per-row errors CSV: row number, errors, then the row as uploaded."""
    header = ["row", "errors", *job.headers]

    def rows():
        for error in job.row_errors.order_by("row_number").iterator(chunk_size=2000):
            yield [error.row_number, "; ".join(error.errors), *error.data]

    return header, rows()
