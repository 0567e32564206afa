"""Forecast page: weighted pipeline per expected close month, per owner and pipeline; won vs target."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from crm.selectors.deals import DEFAULT_CURRENCY, deal_owners, forecast, pipelines_list
from crm.views.sales_common import parse_int

CHART_WIDTH, CHART_HEIGHT, CHART_PAD = 720, 260, 40


def _chart(data) -> dict:
    """Bar geometry for the inline SVG: per month a weighted bar and a won bar, and a target tick."""
    top = data.max_value
    inner_h = CHART_HEIGHT - 2 * CHART_PAD
    slot = (CHART_WIDTH - 2 * CHART_PAD) / max(len(data.months), 1)
    bar = slot * 0.32
    bars = []
    for i, m in enumerate(data.months):
        x = CHART_PAD + i * slot + slot * 0.14
        weighted_h = float(m.weighted / top) * inner_h
        won_h = float(m.won / top) * inner_h
        target_y = None if m.target is None else CHART_HEIGHT - CHART_PAD - float(m.target / top) * inner_h
        bars.append({
            "month": m, "label": m.month.strftime("%b %Y"), "x": round(x, 1), "won_x": round(x + bar + 2, 1),
            "w": round(bar, 1), "weighted_h": round(weighted_h, 1), "won_h": round(won_h, 1),
            "weighted_y": round(CHART_HEIGHT - CHART_PAD - weighted_h, 1),
            "won_y": round(CHART_HEIGHT - CHART_PAD - won_h, 1),
            "target_y": None if target_y is None else round(target_y, 1),
            "target_x1": round(x - 3, 1), "target_x2": round(x + 2 * bar + 5, 1), "label_x": round(x + bar, 1),
        })
    return {"width": CHART_WIDTH, "height": CHART_HEIGHT, "base_y": CHART_HEIGHT - CHART_PAD, "pad": CHART_PAD,
            "bars": bars, "top": top, "top_y": CHART_PAD}


@login_required
def forecast_view(request):
    currency = (request.GET.get("currency") or DEFAULT_CURRENCY).upper()[:3]
    months = min(max(parse_int(request.GET.get("months")) or 6, 1), 24)
    pipeline_id, owner_id = parse_int(request.GET.get("pipeline")), parse_int(request.GET.get("owner"))
    data = forecast(user=request.user, months=months, currency=currency, pipeline_id=pipeline_id, owner_id=owner_id)
    owners = deal_owners()
    return render(request, "crm/forecast/forecast.html", {
        "data": data, "chart": _chart(data), "pipelines": pipelines_list(), "owners": owners,
        "pipeline_id": pipeline_id, "owner_id": owner_id, "months_n": months,
    })
