"""Rebuild the hourly event roll-ups for the last N days and the web touches of every retained event (after an
import, a restore, or on first deploy)."""

from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils import timezone

from reports.services.rollups import event_rollups_refresh
from reports.services.touches import touches_refresh


class Command(BaseCommand):
    help = ("Rebuild the hourly event roll-ups behind the marketing reports for the last --days days, and the web "
            "touches behind attribution for the last --touch-days days (default: the event retention).")

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=31)
        parser.add_argument("--touch-days", type=int, default=None)

    def handle(self, *args, days: int, touch_days: int | None, **options):
        now = timezone.now()
        written = touched = 0
        # One day per transaction: bounded locks and memory on a large events table.
        for offset in range(days, -1, -1):
            since = now - timedelta(days=offset)
            written += event_rollups_refresh(since=since, until=since + timedelta(days=1))
        for offset in range(touch_days if touch_days is not None else settings.CDP_RETENTION_DAYS, -1, -1):
            since = now - timedelta(days=offset)
            touched += touches_refresh(since=since, until=since + timedelta(days=1))
        self.stdout.write(f"{written} event-hour rows and {touched} touches written.")
