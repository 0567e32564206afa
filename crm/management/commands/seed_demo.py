"""Create the demo users (one per role, plus an admin) and teams. Safe to run again."""

from django.conf import settings
from django.core.management.base import BaseCommand

from crm.demo import DEMO_USERS, demo_seed


class Command(BaseCommand):
    help = "Create demo users, teams and records. Credentials are printed only when DEBUG is on."

    def handle(self, *args, **options):
        demo_seed()
        self.stdout.write(self.style.SUCCESS("Demo data is ready."))
        if settings.DEBUG:
            self.stdout.write("Demo logins (username / password):")
            for spec in DEMO_USERS:
                self.stdout.write(f"  {spec['role_label']:<10} {spec['username']:<10} / {spec['password']}")
