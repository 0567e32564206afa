"""The one CSV writer: formula-like cells are neutralised, and nothing else in the product writes CSV."""

from __future__ import annotations

import ast
import csv
import io
from pathlib import Path

import pytest

from config.csv_export import csv_lines, csv_stream_response, csv_text, safe_cell

ROOT = Path(__file__).resolve().parents[2]
PRODUCT_PACKAGES = ["config", "crm", "cdp", "segments", "reports"]


@pytest.mark.parametrize("value,expected", [
    ("=1+1", "'=1+1"), ("+49 30 123", "'+49 30 123"), ("-2", "'-2"), ("@SUM(A1)", "'@SUM(A1)"),
    ("\t=1", "'\t=1"), ("\r=1", "'\r=1"), ("Ann", "Ann"), ("a=b", "a=b"), ("", ""), (None, ""),
    (-5, -5), (3.5, 3.5),
])
def test_safe_cell(value, expected):
    assert safe_cell(value) == expected


def test_lines_round_trip_through_a_csv_reader_with_the_quote_kept():
    text = csv_text(["name", "n"], [['=HYPERLINK("http://evil","x")', -1], ["plain, with comma", 2]])
    assert list(csv.reader(io.StringIO(text))) == [
        ["name", "n"], ["'=HYPERLINK(\"http://evil\",\"x\")", "-1"], ["plain, with comma", "2"]]


def test_lines_are_lazy():
    def rows():
        yield ["a"]
        raise AssertionError("read past the first row")

    lines = csv_lines(["h"], rows())
    assert next(lines) == "h\r\n" and next(lines) == "a\r\n"


def test_stream_response_has_bom_and_a_safe_filename():
    response = csv_stream_response('x"; evil=.csv', ["h"], [["@x"]])
    assert response.streaming and response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="xevil.csv"'
    assert b"".join(response.streaming_content).decode("utf-8") == "\ufeffh\r\n'@x\r\n"


def _csv_writer_calls(path: Path) -> list[int]:
    tree = ast.parse(path.read_text())
    return [node.lineno for node in ast.walk(tree)
            if isinstance(node, ast.Attribute) and node.attr in ("writer", "DictWriter")
            and isinstance(node.value, ast.Name) and node.value.id == "csv"]


def test_no_product_module_writes_csv_except_the_one_writer():
    offenders = []
    for package in PRODUCT_PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if path == ROOT / "config" / "csv_export.py":
                continue
            offenders += [f"{path.relative_to(ROOT)}:{line}" for line in _csv_writer_calls(path)]
    assert offenders == []
    assert _csv_writer_calls(ROOT / "config" / "csv_export.py")  # the scan does see a real call
