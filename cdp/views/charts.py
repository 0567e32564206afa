"""Geometry of the server-rendered inline SVG volume chart (the template draws the rects)."""

from __future__ import annotations

from dataclasses import dataclass

from cdp.selectors.source_pages import HourVolume

WIDTH, HEIGHT, GAP = 240, 40, 2


@dataclass(frozen=True)
class Bar:
    x: int
    width: int
    accepted_y: float
    accepted_h: float
    rejected_y: float
    rejected_h: float
    title: str


@dataclass(frozen=True)
class VolumeChart:
    bars: list[Bar]
    width: int
    height: int
    accepted: int
    rejected: int
    peak: int
    label: str


def volume_chart(series: list[HourVolume]) -> VolumeChart:
    """Stacked bars per hour: accepted at the bottom, rejected on top, scaled to the busiest hour."""
    peak = max((v.accepted + v.rejected for v in series), default=0)
    slot = WIDTH // max(len(series), 1)
    bars = []
    for i, v in enumerate(series):
        scale = (HEIGHT - 1) / peak if peak else 0
        accepted_h = round(v.accepted * scale, 1)
        rejected_h = round(v.rejected * scale, 1)
        # A non-zero hour is always visible.
        if v.accepted and accepted_h < 1:
            accepted_h = 1
        if v.rejected and rejected_h < 1:
            rejected_h = 1
        bars.append(Bar(
            x=i * slot, width=max(slot - GAP, 1),
            accepted_y=round(HEIGHT - accepted_h, 1), accepted_h=accepted_h,
            rejected_y=round(HEIGHT - accepted_h - rejected_h, 1), rejected_h=rejected_h,
            title=f"{v.hour:%H:00} UTC: {v.accepted} accepted, {v.rejected} rejected",
        ))
    accepted = sum(v.accepted for v in series)
    rejected = sum(v.rejected for v in series)
    label = f"Last {len(series)} hours: {accepted} accepted, {rejected} rejected events"
    return VolumeChart(bars=bars, width=WIDTH, height=HEIGHT, accepted=accepted, rejected=rejected, peak=peak,
                       label=label)
