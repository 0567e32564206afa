"""Raw event partitions (created ahead, dropped after CDP_RETENTION_DAYS) and pruning of the dedupe index
and of rejected messages."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from cdp.models import IngestBatch, RejectedMessage

log = logging.getLogger(__name__)

PARENT = "cdp_rawevent"
DEFAULT_PARTITION = "cdp_rawevent_default"
_NAME = re.compile(r"^cdp_rawevent_p(\d{8})$")


@dataclass(slots=True)
class PartitionReport:
    created: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def partition_name(day: date) -> str:
    return f"{PARENT}_p{day:%Y%m%d}"


def partitions_list() -> list[str]:
    """Names of the daily partitions of cdp_rawevent (not the default one), oldest first."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = %s ORDER BY c.relname",
            [PARENT],
        )
        return [name for (name,) in cursor.fetchall() if _NAME.match(name)]


def _day_start(day: date) -> str:
    return datetime(day.year, day.month, day.day, tzinfo=UTC).isoformat()


def partitions_maintain(*, today: date | None = None) -> PartitionReport:
    """Create daily partitions from yesterday to CDP_PARTITIONS_AHEAD_DAYS ahead, drop daily partitions that
    end before now - CDP_RETENTION_DAYS, and delete rows that old from the default partition.

    A day whose rows already sit in the default partition cannot get its own partition (Postgres refuses);
    it is skipped and its rows stay in the default partition until retention deletes them.
    """
    today = today or timezone.now().astimezone(UTC).date()
    report = PartitionReport()
    existing = set(partitions_list())
    for offset in range(-1, settings.CDP_PARTITIONS_AHEAD_DAYS + 1):
        day = today + timedelta(days=offset)
        name = partition_name(day)
        if name in existing:
            continue
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(
                    f'CREATE TABLE IF NOT EXISTS "{name}" PARTITION OF {PARENT} FOR VALUES FROM (%s) TO (%s)',
                    [_day_start(day), _day_start(day + timedelta(days=1))],
                )
            report.created.append(name)
        except DatabaseError as exc:
            log.warning("cdp: could not create partition %s: %s", name, exc)
            report.skipped.append(name)

    cutoff_day = today - timedelta(days=settings.CDP_RETENTION_DAYS)
    for name in partitions_list():
        day = datetime.strptime(_NAME.match(name).group(1), "%Y%m%d").date()
        if day + timedelta(days=1) <= cutoff_day:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(f'ALTER TABLE {PARENT} DETACH PARTITION "{name}"')
                cursor.execute(f'DROP TABLE "{name}"')
            report.dropped.append(name)
    cutoff = datetime(cutoff_day.year, cutoff_day.month, cutoff_day.day, tzinfo=UTC)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {DEFAULT_PARTITION} WHERE received_at < %s", [cutoff])
        # The profile links of the events gone with their partitions.
        cursor.execute("DELETE FROM cdp_eventprofile WHERE received_at < %s", [cutoff])
    # Batches whose events are gone: only processed ones (an unprocessed batch still has to be processed).
    IngestBatch.objects.filter(received_at__lt=cutoff, processed_at__isnull=False).delete()
    return report


def dedupe_prune(*, now: datetime | None = None) -> int:
    """Forget (source, messageId) pairs older than CDP_DEDUPE_WINDOW_DAYS; returns how many."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.CDP_DEDUPE_WINDOW_DAYS)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM cdp_messagededupe WHERE received_at < %s", [cutoff])
        return cursor.rowcount


def rejected_prune(*, now: datetime | None = None) -> int:
    """Delete rejected messages older than CDP_REJECTED_RETENTION_HOURS; returns how many."""
    cutoff = (now or timezone.now()) - timedelta(hours=settings.CDP_REJECTED_RETENTION_HOURS)
    deleted, _ = RejectedMessage.objects.filter(received_at__lt=cutoff).delete()
    return deleted
