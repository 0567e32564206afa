"""`python manage.py createsource NAME --kind server`: create a source; the new write key is the last line."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from cdp.models import Source
from cdp.services.sources import source_create


class Command(BaseCommand):
    help = "Create a CDP source and print its write key (last line of the output)."

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument("--kind", choices=Source.Kind.values, default=Source.Kind.SERVER)
        parser.add_argument("--origin", action="append", default=[], dest="origins", help="allowed browser origin")
        parser.add_argument("--rate-limit", type=int, default=None, help="events per second (default: no limit)")

    def handle(self, *args, name, kind, origins, rate_limit, **options):
        try:
            source = source_create(name=name, kind=kind, allowed_origins=origins, rate_limit_per_second=rate_limit)
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        self.stdout.write(f"Created source {source.name} ({source.kind}), id {source.pk}. Write key:")
        self.stdout.write(source.write_key)
