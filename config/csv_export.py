"""The one CSV writer of the product: every export and error report is written through it.

Spreadsheet apps run a cell that starts with ``=``, ``+``, ``-`` or ``@`` as a formula (and a leading tab or
carriage return is read past to one), so a contact named ``=HYPERLINK(...)`` typed by anyone becomes live code
on the machine of whoever opens the export. Each such text cell is prefixed with a single quote, as OWASP
recommends ("CSV Injection"); numbers, dates and empty cells are written as they are. Nothing else in the
code base calls ``csv.writer`` (a test holds that).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from typing import Any

from django.http import StreamingHttpResponse

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """``value`` as it may go into a CSV cell: ``None`` is empty, formula-like text is quoted."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


class SafeWriter:
    """``csv.writer`` with every cell passed through :func:`safe_cell`; returns what the target's write returns."""

    def __init__(self, target, **kwargs):
        self._writer = csv.writer(target, **kwargs)

    def writerow(self, row: Iterable[Any]):
        return self._writer.writerow([safe_cell(value) for value in row])

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)


class _Echo:
    """A file-like target whose ``write`` hands the line back, so rows can be yielded one by one."""

    def write(self, value: str) -> str:
        return value


def csv_lines(header: list[str], rows: Iterable[Iterable[Any]]) -> Iterator[str]:
    """The header then each row as one CSV line, produced lazily (nothing is held in memory)."""
    writer = SafeWriter(_Echo())
    yield writer.writerow(header)
    for row in rows:
        yield writer.writerow(row)


def csv_text(header: list[str], rows: Iterable[Iterable[Any]]) -> str:
    """The whole CSV as one string (for small files stored rather than streamed)."""
    return "".join(csv_lines(header, rows))


def csv_stream_response(filename: str, header: list[str], rows: Iterable[Iterable[Any]]) -> StreamingHttpResponse:
    """Stream ``rows`` as a CSV download (UTF-8 with a BOM so spreadsheet apps read it as UTF-8)."""

    def generate() -> Iterator[str]:
        yield "\ufeff"
        yield from csv_lines(header, rows)

    response = StreamingHttpResponse(generate(), content_type="text/csv; charset=utf-8")
    safe_name = "".join(ch for ch in filename if ch.isalnum() or ch in "-_.") or "export.csv"
    response["Content-Disposition"] = f'attachment; filename="{safe_name}"'
    return response
