"""Bulk imports: a CSV (profiles → identify, events → track) mapped by columns and ingested in chunks.

Every chunk is ONE ``events_ingest`` call; a row's messageId is ``<prefix>-<row number>`` so running an
import (or a backfill) again stores nothing twice. Files are streamed row by row: memory does not grow
with the file.
"""

from __future__ import annotations

import csv
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO, Any

from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.db import InterfaceError, OperationalError, transaction
from django.utils import timezone

from cdp.models import EventImport, Source
from cdp.services.import_parsing import (
    MappingError,
    csv_headers,
    csv_rows,
    csv_text_stream,
    mapping_suggest,
    mapping_validate,
    rows_to_messages,
)
from cdp.services.ingest import events_ingest
from config.csv_export import csv_text
from config.queueing import enqueue_on_commit

log = logging.getLogger(__name__)

CHUNK_ROWS = 1000
MAX_STORED_ERRORS = 1000


@dataclass
class ChunkResult:
    last_row: int
    rows: int
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)


def import_chunks(text: IO[str], *, source: Source, mapping: dict[str, str], kind: str, id_prefix: str,
                  chunk_rows: int = CHUNK_ROWS, skip: int = 0) -> Iterator[ChunkResult]:
    """Ingest the CSV in ``text`` chunk by chunk (rows after ``skip``), yielding each chunk's outcome after
    its events are committed. Row errors (unparseable rows, messages the validation refuses) are reported
    with their row numbers."""
    rows = csv_rows(text, skip=skip)
    while True:
        chunk = []
        for item in rows:
            chunk.append(item)
            if len(chunk) >= chunk_rows:
                break
        if not chunk:
            return
        messages, errors = rows_to_messages(chunk, mapping=mapping, kind=kind, id_prefix=id_prefix)
        outcome = ChunkResult(last_row=chunk[-1][0], rows=len(chunk), errors=errors)
        if messages:
            result = events_ingest(source=source, messages=[m for _, m in messages])
            outcome.accepted, outcome.duplicates = result.accepted, result.duplicates
            for rejection in result.rejected:
                outcome.errors.append({"row": messages[rejection.index][0], "error": rejection.error,
                                       "detail": rejection.detail})
        outcome.errors.sort(key=lambda e: e["row"])
        outcome.rejected = len(outcome.errors)
        yield outcome
        if len(chunk) < chunk_rows:
            return


def _count_rows(binary: IO[bytes]) -> int:
    text = csv_text_stream(binary)
    reader = csv.reader(text)
    next(reader, None)
    count = sum(1 for _ in reader)
    text.detach()
    return count


def event_import_create(*, source: Source, kind: str, upload: UploadedFile, user: Any) -> EventImport:
    """Store the upload, read its header row, count its rows and suggest a mapping. Raises MappingError for
    files that are not a CSV with a header row."""
    upload.seek(0)
    text = csv_text_stream(upload.file)
    headers = csv_headers(text)
    text.detach()
    upload.seek(0)
    total = _count_rows(upload.file)
    upload.seek(0)
    return EventImport.objects.create(
        source=source, kind=kind, file=upload, original_name=upload.name[:255], headers=headers,
        mapping=mapping_suggest(headers=headers, kind=kind), total_rows=total,
        created_by=user if getattr(user, "is_authenticated", False) else None,
    )


@transaction.atomic
def event_import_start(*, import_id: int, mapping: dict[str, str]) -> EventImport:
    """Confirm the column mapping and queue the import (after commit). Raises MappingError."""
    job = EventImport.objects.select_for_update().get(pk=import_id)
    if job.status != EventImport.Status.MAPPING:
        raise MappingError("this import has already started")
    job.mapping = mapping_validate(mapping=mapping, kind=job.kind, headers=job.headers)
    job.status = EventImport.Status.QUEUED
    job.save(update_fields=["mapping", "status"])
    enqueue_on_commit("cdp.event_import_run", job.pk)
    return job


IMPORT_CHUNKS_PER_STEP = 200


def event_import_step(*, import_id: int, max_chunks: int = IMPORT_CHUNKS_PER_STEP) -> bool:
    """Run an import for ``max_chunks`` chunks, then queue the rest (after commit) as a new task: short tasks,
    resumable from the watermark. Returns whether it finished. A database outage propagates untouched (the task
    retries); any other error marks the import failed, then propagates."""
    try:
        finished = event_import_run(import_id=import_id, max_chunks=max_chunks)
    except (OperationalError, InterfaceError):
        raise
    except Exception:
        # The exception's text (SQL, paths, other rows' values) goes to the log with the task's traceback; the
        # page says what happened and where the details are.
        event_import_fail(import_id=import_id, reason=(
            "The import stopped because of an unexpected error. The rows counted as done are saved; an "
            f"administrator can find the details in the server log (import #{import_id})."))
        raise
    if not finished:
        enqueue_on_commit("cdp.event_import_run", import_id)
    return finished


def event_import_run(*, import_id: int, max_chunks: int | None = None) -> bool:
    """Run a queued/running import from its watermark; True when it finished, False when it stopped after
    ``max_chunks`` chunks (the caller queues it again). Each chunk's events and the import's counters and
    watermark advance together under the import's row lock; a second runner that finds the watermark moved
    stops, so a task delivered twice does no harm."""
    job = EventImport.objects.select_related("source").get(pk=import_id)
    if job.status not in (EventImport.Status.QUEUED, EventImport.Status.RUNNING):
        return True
    if job.status == EventImport.Status.QUEUED:
        EventImport.objects.filter(pk=job.pk, status=EventImport.Status.QUEUED).update(
            status=EventImport.Status.RUNNING, started_at=timezone.now())
    try:
        binary = job.file.open("rb")
    except OSError:
        log.warning("Import %s: the uploaded file cannot be read", job.pk, exc_info=True)
        event_import_fail(import_id=job.pk, reason="The uploaded file cannot be read any more; upload it again.")
        return True
    watermark = job.processed_rows
    done_chunks = 0
    with binary, csv_text_stream(binary) as text:
        chunks = _locked_chunks(text, job=job, skip=watermark)
        for _ in chunks:
            done_chunks += 1
            if max_chunks is not None and done_chunks >= max_chunks:
                chunks.close()
                return _finish_if_complete(job.pk)
    return _finish(job.pk)


def _locked_chunks(text: IO[str], *, job: EventImport, skip: int) -> Iterator[int]:
    rows = csv_rows(text, skip=skip)
    expected = skip
    while True:
        chunk = []
        for item in rows:
            chunk.append(item)
            if len(chunk) >= CHUNK_ROWS:
                break
        if not chunk:
            return
        with transaction.atomic():
            locked = EventImport.objects.select_for_update().get(pk=job.pk)
            if locked.processed_rows != expected or locked.status != EventImport.Status.RUNNING:
                return  # another runner got here first, or the import was stopped
            messages, errors = rows_to_messages(chunk, mapping=locked.mapping, kind=locked.kind,
                                                id_prefix=f"import-{locked.pk}")
            accepted = duplicates = 0
            if messages:
                result = events_ingest(source=job.source, messages=[m for _, m in messages])
                accepted, duplicates = result.accepted, result.duplicates
                errors += [{"row": messages[r.index][0], "error": r.error, "detail": r.detail}
                           for r in result.rejected]
            errors.sort(key=lambda e: e["row"])
            locked.processed_rows = chunk[-1][0]
            locked.accepted += accepted
            locked.duplicates += duplicates
            locked.rejected += len(errors)
            room = MAX_STORED_ERRORS - len(locked.errors)
            if errors and room > 0:
                locked.errors = locked.errors + errors[:room]
            locked.save(update_fields=["processed_rows", "accepted", "duplicates", "rejected", "errors"])
            expected = locked.processed_rows
        yield expected
        if len(chunk) < CHUNK_ROWS:
            return


def _finish_if_complete(import_id: int) -> bool:
    job = EventImport.objects.get(pk=import_id)
    if job.processed_rows >= job.total_rows:
        return _finish(import_id)
    return False


@transaction.atomic
def _finish(import_id: int) -> bool:
    job = EventImport.objects.select_for_update().get(pk=import_id)
    if job.status != EventImport.Status.RUNNING:
        return True
    job.status = EventImport.Status.DONE
    job.processed_rows = max(job.processed_rows, job.total_rows)
    job.finished_at = timezone.now()
    fields = ["status", "processed_rows", "finished_at"]
    if job.errors:
        text = csv_text(["row", "error", "detail"], ([e["row"], e["error"], e["detail"]] for e in job.errors))
        job.errors_file.save(f"import-{job.pk}-errors.csv", ContentFile(text.encode()), save=False)
        fields.append("errors_file")
    job.save(update_fields=fields)
    return True


def event_import_fail(*, import_id: int, reason: str) -> None:
    EventImport.objects.filter(pk=import_id).exclude(status=EventImport.Status.DONE).update(
        status=EventImport.Status.FAILED, failure=reason[:2000], finished_at=timezone.now())
