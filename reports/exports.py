"""CSV and Excel downloads of report sections (pandas; openpyxl writes the workbook).

CSV goes through the product's one CSV writer (config.csv_export); the workbook's text cells through the same
``safe_cell``: a value a spreadsheet would run as a formula is prefixed with an apostrophe. Names and labels in
reports come from user input (deal owners, event names, campaign parameters), so a report never carries a live
formula.
"""

from __future__ import annotations

import io
import re

import pandas as pd

from config.csv_export import csv_text, safe_cell
from reports.sections import Section


def neutralise(value):
    """``safe_cell`` for a workbook cell (a missing value stays missing)."""
    return value if value is None else safe_cell(value)


def _safe(frame: pd.DataFrame, section: Section) -> pd.DataFrame:
    out = frame.copy()
    for column in out.columns:
        if pd.api.types.is_datetime64_any_dtype(out[column]):
            out[column] = out[column].dt.date
        elif not pd.api.types.is_numeric_dtype(out[column]):
            out[column] = out[column].map(neutralise)
    return out.rename(columns={c: neutralise(section.label(c)) for c in out.columns})


def section_csv(section: Section) -> str:
    """The section as CSV text (header: the column labels people see; missing values empty)."""
    frame = _safe(section.frame, section)
    frame = frame.astype(object).where(frame.notna(), None)
    return csv_text(list(frame.columns), frame.itertuples(index=False, name=None))


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
