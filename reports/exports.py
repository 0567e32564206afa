"""CSV and Excel downloads of report sections (pandas; openpyxl writes the workbook).

Every text cell goes through ``neutralise``: a value that a spreadsheet would run as a formula (it starts with
=, +, -, @, a tab or a carriage return) is prefixed with an apostrophe. Names and labels in reports come from
user input (deal owners, event names, campaign parameters), so a report must never carry a live formula.
"""

from __future__ import annotations

import io
import re

import pandas as pd

from config.csv_export import FORMULA_TRIGGERS as _FORMULA_START  # the product's one rule for formula cells
from reports.sections import Section


def neutralise(value):
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _safe(frame: pd.DataFrame, section: Section) -> pd.DataFrame:
    out = frame.copy()
    for column in out.columns:
        if pd.api.types.is_datetime64_any_dtype(out[column]):
            out[column] = out[column].dt.date
        elif not pd.api.types.is_numeric_dtype(out[column]):
            out[column] = out[column].map(neutralise)
    return out.rename(columns={c: neutralise(section.label(c)) for c in out.columns})


def section_csv(section: Section) -> str:
    """The section as CSV text (header: the column labels people see)."""
    return _safe(section.frame, section).to_csv(index=False)


def sheet_name(title: str, used: set[str]) -> str:
    base = re.sub(r"[\[\]:*?/\\]", " ", title)[:28].strip() or "Sheet"
    name, n = base, 2
    while name in used:
        name, n = f"{base} {n}", n + 1
    used.add(name)
    return name


def sections_xlsx(sections: list[Section]) -> bytes:
    """A workbook with one sheet per section."""
    buffer = io.BytesIO()
    used: set[str] = set()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        for section in sections:
            _safe(section.frame, section).to_excel(writer, sheet_name=sheet_name(section.title, used), index=False)
    return buffer.getvalue()
