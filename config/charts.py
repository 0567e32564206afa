"""The one chart helper of the product: plotly figures rendered in the browser from the app's own copy of
plotly.js, each with its numbers in a table beside it.

Callers shape their data with pandas (or pass plain rows), then::

    chart = line_chart(frame, x="day", y=["created", "solved"], title="Tickets per day")
    {% include "charts/chart.html" with chart=chart %}

The figure travels as JSON inside ``<script type="application/json">`` (escaped like ``json_script``), so
labels taken from outside data never become markup or script.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

import pandas as pd
from django.utils.safestring import SafeString, mark_safe

_ids = itertools.count(1)
# As django.utils.html.json_script: JSON inside <script> must not contain <, > or & literally.
_JSON_SCRIPT_ESCAPES = {ord(">"): "\\u003E", ord("<"): "\\u003C", ord("&"): "\\u0026"}

# Colours that keep WCAG AA contrast against the white card background.
PALETTE = ["#1f5fbf", "#b3461b", "#2b7a3d", "#7a3fa6", "#8a6d00", "#00707a", "#a8325e", "#4d5a6a"]


@dataclass(frozen=True)
class Chart:
    """What the template needs: the figure as escaped JSON, and the same numbers as a table."""

    id: str
    title: str
    figure_json: SafeString
    columns: list[str]
    rows: list[list[str]] = field(default_factory=list)
    height: int = 280

    @property
    def empty(self) -> bool:
        return not self.rows


def _frame(data: pd.DataFrame | Iterable[dict]) -> pd.DataFrame:
    return data if isinstance(data, pd.DataFrame) else pd.DataFrame(list(data))


def _cell(value) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return "–"
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M") if (value.hour or value.minute) else value.strftime("%Y-%m-%d")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return f"{value:,.2f}".rstrip("0").rstrip(".") if value % 1 else f"{value:,.0f}"
    if isinstance(value, int | Decimal):
        return f"{value:,}"
    return str(value)


def _json_default(value):
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime | date | pd.Timestamp):
        return value.isoformat()
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _escaped_json(figure: dict) -> SafeString:
    # The figure is plotly.js's own JSON shape ({"data": [traces], "layout": {...}}), written directly: building
    # plotly.graph_objects validates every property and cost ~100 ms per chart.
    text = json.dumps(figure, default=_json_default, separators=(",", ":"), allow_nan=False)
    return mark_safe(text.translate(_JSON_SCRIPT_ESCAPES))  # noqa: S308 - <, > and & are escaped above


def _chart(frame: pd.DataFrame, traces: list, *, x: str, ys: Sequence[str], title: str, x_label: str,
           y_label: str, barmode: str | None, height: int, labels: dict[str, str] | None) -> Chart:
    labels = labels or {}
    layout = {
        "height": height, "margin": {"l": 56, "r": 16, "t": 16, "b": 48},
        "paper_bgcolor": "#ffffff", "plot_bgcolor": "#ffffff", "font": {"color": "#222222", "size": 12},
        "legend": {"orientation": "h", "y": -0.2}, "showlegend": len(ys) > 1,
        "xaxis": {"title": {"text": x_label}, "gridcolor": "#e6e6e6"},
        "yaxis": {"title": {"text": y_label}, "gridcolor": "#e6e6e6", "rangemode": "tozero"},
    }
    if barmode:
        layout["barmode"] = barmode
    figure = {"data": traces, "layout": layout}
    columns = [labels.get(x, x_label or x)] + [labels.get(y, y) for y in ys]
    rows = [[_cell(v) for v in row] for row in frame[[x, *ys]].itertuples(index=False, name=None)]
    return Chart(id=f"chart-{next(_ids)}", title=title, figure_json=_escaped_json(figure), columns=columns,
                 rows=rows, height=height)


def _values(series: pd.Series) -> list:
    if pd.api.types.is_datetime64_any_dtype(series):
        return [v.isoformat() for v in series]
    # Missing numbers are gaps (null) for plotly.js; JSON has no NaN.
    return [None if v is None or (isinstance(v, float) and v != v) else float(v) if isinstance(v, Decimal) else v
            for v in series.tolist()]


def line_chart(data: pd.DataFrame | Iterable[dict], *, x: str, y: str | Sequence[str], title: str,
               x_label: str = "", y_label: str = "", labels: dict[str, str] | None = None,
               height: int = 280) -> Chart:
    """Lines over ``x`` (usually a date column), one per column in ``y``."""
    frame = _frame(data)
    ys = [y] if isinstance(y, str) else list(y)
    traces = [
        {"type": "scatter", "x": _values(frame[x]) if len(frame) else [],
         "y": _values(frame[col]) if len(frame) else [], "name": (labels or {}).get(col, col),
         "mode": "lines+markers", "line": {"color": PALETTE[i % 8]}}
        for i, col in enumerate(ys)
    ]
    return _chart(frame, traces, x=x, ys=ys, title=title, x_label=x_label, y_label=y_label, barmode=None,
                  height=height, labels=labels)


def bar_chart(data: pd.DataFrame | Iterable[dict], *, x: str, y: str | Sequence[str], title: str,
              x_label: str = "", y_label: str = "", labels: dict[str, str] | None = None, stacked: bool = False,
              horizontal: bool = False, height: int = 280) -> Chart:
    """Bars per ``x`` value, one series per column in ``y`` (grouped, or stacked)."""
    frame = _frame(data)
    ys = [y] if isinstance(y, str) else list(y)
    traces = []
    for i, col in enumerate(ys):
        cats = _values(frame[x]) if len(frame) else []
        vals = _values(frame[col]) if len(frame) else []
        traces.append({"type": "bar", "x": vals if horizontal else cats, "y": cats if horizontal else vals,
                       "orientation": "h" if horizontal else "v", "name": (labels or {}).get(col, col),
                       "marker": {"color": PALETTE[i % 8]}})
    chart = _chart(frame, traces, x=x, ys=ys, title=title, x_label=x_label, y_label=y_label,
                   barmode="stack" if stacked else "group", height=height, labels=labels)
    return chart
