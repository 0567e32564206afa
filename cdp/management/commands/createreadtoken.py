"""python manage.py createreadtoken NAME — prints a new profile API read token as its last line."""

from django.core.management.base import BaseCommand

from cdp.services.read_tokens import read_token_create


class Command(BaseCommand):
    help = "Create a read token for the profile API (/v1/profiles/...). The token is printed once, last."

    def add_arguments(self, parser):
        parser.add_argument("name")

    def handle(self, *args, name, **options):
        token, raw = read_token_create(name=name)
        self.stdout.write(f"Created read token {token.name!r} (id {token.pk}); send it as a Bearer token.")
        self.stdout.write(raw)
