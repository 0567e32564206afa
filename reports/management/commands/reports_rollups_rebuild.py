"""Rebuild the hourly event roll-ups for the last N days (after an import, a restore, or on first deploy)."""

from datetime import timedelta

from django.core.management.base import BaseCommand
from django.utils import timezone

from reports.services.rollups import event_rollups_refresh


class Command(BaseCommand):
    help = "Rebuild the hourly event roll-ups behind the marketing reports for the last --days days."

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=31)

    def handle(self, *args, days: int, **options):
        now = timezone.now()
        written = 0
        # One day per transaction: bounded locks and memory on a large events table.
        for offset in range(days, -1, -1):
            since = now - timedelta(days=offset)
            written += event_rollups_refresh(since=since, until=since + timedelta(days=1))
        self.stdout.write(f"{written} event-hour rows written.")
