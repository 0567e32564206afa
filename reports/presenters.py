"""Sections as people see them: a chart from the product's one chart helper and display strings."""

from __future__ import annotations

import pandas as pd

from config.charts import Chart, bar_chart, line_chart
from reports.sections import Section

PERCENT_COLUMNS = frozenset({"win_rate", "to_next", "identified_share", "conversion", "from_previous",
                             "share"})


def _display(value, column: str) -> str:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return "–"
    if column in PERCENT_COLUMNS:
        return f"{float(value) * 100:.1f}%"
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m-%d")
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.1f}" if column.endswith(("days", "hours", "seconds")) else f"{value:,.2f}"
    return str(value)


def table(section: Section) -> dict:
    frame = section.frame
    return {
        "columns": [section.label(c) for c in frame.columns],
        "rows": [[_display(v, c) for c, v in zip(frame.columns, row, strict=True)]
                 for row in frame.itertuples(index=False, name=None)],
    }


def chart(section: Section) -> Chart | None:
    spec = section.chart
    if spec is None:
        return None
    labels = {c: section.label(c) for c in (spec.x, *spec.y)}
    data = section.frame[[spec.x, *spec.y]]
    if spec.kind == "line":
        return line_chart(data, x=spec.x, y=list(spec.y), title=section.title, x_label=spec.x_label,
                          y_label=spec.y_label, labels=labels)
    return bar_chart(data, x=spec.x, y=list(spec.y), title=section.title, x_label=spec.x_label,
                     y_label=spec.y_label, labels=labels, stacked=spec.stacked, horizontal=spec.horizontal)


def present(sections: list[Section]) -> list[dict]:
    return [{"section": s, "chart": chart(s), "table": table(s)} for s in sections]
