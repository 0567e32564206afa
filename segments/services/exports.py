"""Member exports kept as files (on demand or on a schedule, deleted after their retention) and freezing a
segment into a static list. The on-demand download is streamed by the view (config.csv_export)."""

from __future__ import annotations

import datetime as dt
import logging
import tempfile

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.core.files import File
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from config.csv_export import SafeWriter
from segments.models import ExportFile, ExportSchedule, Membership, Segment, SizeSnapshot
from segments.selectors.destinations import MEMBER_CSV_HEADER, member_csv_rows

logger = logging.getLogger(__name__)


def export_file_write(*, segment: Segment, schedule: ExportSchedule | None = None,
                      by: AbstractBaseUser | None = None, now: dt.datetime | None = None) -> ExportFile:
    """Write the current members of ``segment`` to a CSV file in Django storage (through a temporary file, so a
    large segment never sits in memory). The file expires after the schedule's ``keep_days`` (if any)."""
    now = now or timezone.now()
    rows = 0
    with tempfile.TemporaryFile(mode="w+b") as tmp:
        import io  # noqa: PLC0415

        text = io.TextIOWrapper(tmp, encoding="utf-8", newline="")
        text.write("\ufeff")
        writer = SafeWriter(text)
        writer.writerow(MEMBER_CSV_HEADER)
        for row in member_csv_rows(segment):
            writer.writerow(row)
            rows += 1
        text.flush()
        size = tmp.tell()
        tmp.seek(0)
        export = ExportFile(segment=segment, schedule=schedule, rows=rows, size_bytes=size, created_at=now,
                            created_by=by,
                            expires_at=now + dt.timedelta(days=schedule.keep_days) if schedule else None)
        export.file.save(f"segment-{segment.pk}-{now:%Y%m%d-%H%M%S}.csv", File(tmp), save=False)
        text.detach()
    export.save()
    return export


def export_schedule_check(*, every_hours: int, keep_days: int) -> None:
    """Raise ValidationError (keyed by field) unless the interval and the retention are in range."""
    errors = {}
    if not 1 <= every_hours <= 24 * 31:
        errors["every_hours"] = "Export every 1 to 744 hours."
    if not 1 <= keep_days <= 3650:
        errors["keep_days"] = "Keep files 1 to 3650 days."
    if errors:
        raise ValidationError(errors)


def export_schedule_set(*, segment: Segment, every_hours: int, keep_days: int, enabled: bool = True,
                        by: AbstractBaseUser | None = None) -> ExportSchedule:
    """Export ``segment`` every ``every_hours`` hours, keeping each file ``keep_days`` days (one schedule per
    segment; the first export is due now)."""
    export_schedule_check(every_hours=every_hours, keep_days=keep_days)
    schedule = ExportSchedule.objects.filter(segment=segment).order_by("id").first()
    if schedule is None:
        return ExportSchedule.objects.create(segment=segment, every_hours=every_hours, keep_days=keep_days,
                                             enabled=enabled, next_run_at=timezone.now(), created_by=by)
    schedule.every_hours, schedule.keep_days, schedule.enabled = every_hours, keep_days, enabled
    schedule.next_run_at = schedule.next_run_at or timezone.now()
    schedule.save(update_fields=["every_hours", "keep_days", "enabled", "next_run_at"])
    return schedule


def exports_due(*, now: dt.datetime | None = None) -> int:
    """Write the scheduled exports that are due (each schedule claimed with SKIP LOCKED); returns how many. A
    schedule whose export fails is logged and tried again in an hour; the others still run."""
    now = now or timezone.now()
    written = 0
    while True:
        with transaction.atomic():
            schedule = (ExportSchedule.objects.select_for_update(skip_locked=True).select_related("segment")
                        .filter(Q(next_run_at__lte=now) | Q(next_run_at__isnull=True), enabled=True)
                        .order_by(F("next_run_at").asc(nulls_first=True)).first())
            if schedule is None:
                return written
            try:
                with transaction.atomic():
                    export_file_write(segment=schedule.segment, schedule=schedule, now=now)
            except Exception:
                logger.exception("Scheduled export %s of segment %s failed", schedule.pk, schedule.segment_id)
                schedule.next_run_at = now + min(dt.timedelta(hours=1), dt.timedelta(hours=schedule.every_hours))
            else:
                schedule.next_run_at = now + dt.timedelta(hours=schedule.every_hours)
                written += 1
            schedule.save(update_fields=["next_run_at"])


def export_files_delete(*, files: list[ExportFile]) -> int:
    """Delete kept export files: the stored file (they hold personal data), then the row; returns how many."""
    for export in files:
        if export.file.name:
            export.file.storage.delete(export.file.name)  # no error when it is gone already
    return ExportFile.objects.filter(pk__in=[f.pk for f in files]).delete()[1].get(ExportFile._meta.label, 0)


def exports_expire(*, now: dt.datetime | None = None) -> int:
    """Delete export files past their retention (the stored file, then the row); returns how many."""
    now = now or timezone.now()
    return export_files_delete(files=list(ExportFile.objects.filter(expires_at__lte=now)))


@transaction.atomic
def segment_freeze(*, segment: Segment, name: str = "", by: AbstractBaseUser | None = None,
                   now: dt.datetime | None = None) -> Segment:
    """A static list holding the current members of ``segment`` (copied in one INSERT ... SELECT). It is never
    refreshed, so it keeps these members; other segments can use it like any segment."""
    from segments.services.refresh import _lock  # noqa: PLC0415

    now = now or timezone.now()
    _lock(segment.pk)  # a consistent copy: no refresh of the source runs meanwhile
    name = (name or "").strip() or f"{segment.name} (frozen {now:%Y-%m-%d %H:%M})"
    if Segment.objects.filter(name=name).exists():
        raise ValidationError({"name": f"A segment named “{name}” exists already."})
    frozen = Segment.objects.create(
        name=name[:120], description=f"Members of “{segment.name}” on {now:%Y-%m-%d %H:%M} UTC.",
        definition={}, mode=Segment.Mode.STATIC, status=Segment.Status.READY, created_by=by, last_refreshed_at=now)
    table = Membership._meta.db_table
    with connection.cursor() as cur:
        cur.execute(f"""INSERT INTO {table} (segment_id, profile_id, entered_at)
                        SELECT %s, profile_id, %s FROM {table} WHERE segment_id = %s AND exited_at IS NULL""",
                    [frozen.pk, now, segment.pk])
        size = cur.rowcount
    Segment.objects.filter(pk=frozen.pk).update(size=size)
    SizeSnapshot.objects.create(segment=frozen, at=now, size=size, entered=size, exited=0, duration_ms=0, full=True)
    frozen.size = size
    return frozen
