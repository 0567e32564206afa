"""python manage.py createreadtoken NAME [--scope S ...] [--expires-in-days N] — prints a new profile API read
token as its last line."""

from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from cdp.models import ReadTokenScope
from cdp.services.read_tokens import read_token_create


class Command(BaseCommand):
    help = ("Create a read token for the profile API (/v1/profiles/...). Scopes default to identifiers only. "
            "The token is printed once, last.")

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument("--scope", action="append", dest="scopes", choices=[c.value for c in ReadTokenScope],
                            help="identifiers, traits or events; repeat for several (default: identifiers)")
        parser.add_argument("--expires-in-days", type=int, default=None, help="default: never expires")
        parser.add_argument("--requests-per-minute", type=int, default=None,
                            help="default: CDP_READ_TOKEN_REQUESTS_PER_MINUTE")

    def handle(self, *args, name, scopes, expires_in_days, requests_per_minute, **options):
        if expires_in_days is not None and expires_in_days < 1:
            raise CommandError("--expires-in-days must be at least 1")
        expires_at = timezone.now() + timedelta(days=expires_in_days) if expires_in_days else None
        try:
            token, raw = read_token_create(name=name, scopes=scopes, expires_at=expires_at,
                                           requests_per_minute=requests_per_minute)
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        expiry = f"expires {token.expires_at:%Y-%m-%d %H:%M} UTC" if token.expires_at else "never expires"
        self.stdout.write(f"Created read token {token.name!r} (id {token.pk}; scopes: {', '.join(token.scopes)}; "
                          f"{expiry}); send it as a Bearer token.")
        self.stdout.write(raw)
