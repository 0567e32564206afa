"""What a report hands to pages, exports and the API: named tables (pandas frames) with an optional chart."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd


@dataclass(frozen=True)
class ChartSpec:
    kind: str  # "bar" | "line"
    x: str
    y: tuple[str, ...]
    stacked: bool = False
    horizontal: bool = False
    x_label: str = ""
    y_label: str = ""


@dataclass
class Section:
    """One table of a report. ``frame`` holds its numbers (what exports and the API return); ``labels`` name its
    columns for people."""

    key: str
    title: str
    frame: pd.DataFrame
    labels: dict[str, str] = field(default_factory=dict)
    chart: ChartSpec | None = None
    note: str = ""

    def label(self, column: str) -> str:
        return self.labels.get(column, column.replace("_", " ").capitalize())

    def records(self) -> list[dict]:
        """JSON-ready rows: dates as ISO strings, missing values as None."""
        out = self.frame.copy()
        for column in out.columns:
            if pd.api.types.is_datetime64_any_dtype(out[column]):
                out[column] = out[column].dt.strftime("%Y-%m-%d")
        out = out.astype(object).where(out.notna(), None)
        return out.to_dict(orient="records")


def month_index(start, end) -> pd.DatetimeIndex:
    """Every month (first days) from ``start``'s month to ``end``'s month."""
    return pd.date_range(pd.Timestamp(start).to_period("M").to_timestamp(), pd.Timestamp(end), freq="MS")


def week_index(start, end) -> pd.DatetimeIndex:
    """Every week (Mondays) touching [start, end]."""
    first = pd.Timestamp(start) - pd.Timedelta(days=pd.Timestamp(start).weekday())
    return pd.date_range(first, pd.Timestamp(end), freq="W-MON")


def day_index(start, end) -> pd.DatetimeIndex:
    return pd.date_range(pd.Timestamp(start), pd.Timestamp(end), freq="D")


def money(series: pd.Series) -> pd.Series:
    """Decimal sums from Postgres as floats rounded to cents (amounts stay in the currency they are stored in)."""
    return pd.to_numeric(series, errors="coerce").astype(float).round(2)


def ratio(numerator: pd.Series, denominator: pd.Series, digits: int = 4) -> pd.Series:
    """numerator / denominator, missing (not 0 and not infinity) where the denominator is 0."""
    num = pd.to_numeric(numerator).astype(float)
    den = pd.to_numeric(denominator).astype(float)
    return (num / den.where(den != 0)).round(digits)
