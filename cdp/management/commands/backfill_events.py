"""Backfill a large CSV into a source: ``manage.py backfill_events FILE --source NAME --kind events``.

Streams the file (constant memory), ingests chunks through the one ingestion path and prints progress.
messageIds are ``<prefix>-<row>`` (prefix derived from the file name, source and kind unless --id-prefix),
so running the same backfill again, or resuming it with --skip, stores nothing twice.
"""

from __future__ import annotations

import hashlib
import os
import time

from django.core.management.base import BaseCommand, CommandError

from cdp.models import Source
from cdp.services.import_parsing import (
    KINDS,
    MappingError,
    csv_headers,
    csv_text_stream,
    mapping_parse_pairs,
    mapping_suggest,
    mapping_validate,
)
from cdp.services.imports import CHUNK_ROWS, import_chunks


class Command(BaseCommand):
    help = "Import a CSV of profiles (identify) or events (track) into a source, streaming, with progress."

    def add_arguments(self, parser):
        parser.add_argument("file", help="CSV file with a header row (UTF-8)")
        parser.add_argument("--source", required=True, help="name of the source the events belong to")
        parser.add_argument("--kind", required=True, choices=KINDS)
        parser.add_argument("--map", action="append", default=[], metavar="COLUMN=FIELD",
                            help="column mapping, e.g. --map id=userId --map plan=traits.plan (repeatable); "
                                 "columns not named are guessed from their headers")
        parser.add_argument("--chunk-size", type=int, default=CHUNK_ROWS)
        parser.add_argument("--skip", type=int, default=0, help="resume after this many data rows")
        parser.add_argument("--id-prefix", default="", help="messageId prefix (default: derived from the file)")
        parser.add_argument("--progress-every", type=int, default=50_000, help="print progress every N rows")

    def handle(self, *args, **options):
        path = options["file"]
        if not os.path.isfile(path):
            raise CommandError(f"no such file: {path}")
        source = Source.objects.filter(name=options["source"]).first()
        if source is None:
            raise CommandError(f"no source named {options['source']!r}")
        if not source.enabled:
            raise CommandError(f"source {source.name!r} is disabled")
        kind = options["kind"]
        if options["chunk_size"] < 1 or options["chunk_size"] > 2500:
            raise CommandError("--chunk-size must be between 1 and 2500")
        prefix = options["id_prefix"] or "backfill-" + hashlib.sha1(
            f"{os.path.basename(path)}|{source.pk}|{kind}".encode()).hexdigest()[:12]

        try:
            with open(path, "rb") as binary, csv_text_stream(binary) as text:
                headers = csv_headers(text)
            mapping = mapping_suggest(headers=headers, kind=kind)
            explicit = mapping_parse_pairs(options["map"])
            unknown = set(explicit) - set(headers)
            if unknown:
                raise MappingError(f"not in the header row: {', '.join(sorted(unknown))}")
            mapping.update(explicit)
            mapping = mapping_validate(mapping=mapping, kind=kind, headers=headers)
        except MappingError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write("Mapping: " + ", ".join(f"{c} → {t}" for c, t in mapping.items()))

        with open(path, "rb") as binary, csv_text_stream(binary) as text:
            totals = {"rows": 0, "accepted": 0, "duplicates": 0, "rejected": 0}
            started = time.monotonic()
            next_report = options["progress_every"]
            last_row = options["skip"]
            for chunk in import_chunks(text, source=source, mapping=mapping, kind=kind, id_prefix=prefix,
                                       chunk_rows=options["chunk_size"], skip=options["skip"]):
                totals["rows"] += chunk.rows
                totals["accepted"] += chunk.accepted
                totals["duplicates"] += chunk.duplicates
                totals["rejected"] += chunk.rejected
                last_row = chunk.last_row
                for error in chunk.errors[:5]:
                    self.stderr.write(f"row {error['row']}: {error['error']}: {error['detail']}")
                if totals["rows"] >= next_report:
                    self._progress(totals, last_row, started)
                    next_report += options["progress_every"]
        self._progress(totals, last_row, started)
        self.stdout.write(self.style.SUCCESS(
            f"Done: {totals['rows']} rows, {totals['accepted']} accepted, {totals['duplicates']} already there, "
            f"{totals['rejected']} rejected (messageId prefix {prefix})."))

    def _progress(self, totals, last_row, started):
        elapsed = max(time.monotonic() - started, 1e-6)
        self.stdout.write(
            f"row {last_row}: {totals['rows']} rows, {totals['accepted']} accepted, "
            f"{totals['duplicates']} duplicates, {totals['rejected']} rejected, {totals['rows'] / elapsed:,.0f} rows/s")
