"""Forecast page: weighted pipeline per expected close month, per owner and pipeline; won vs target."""

from __future__ import annotations

import pandas as pd
from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from config.charts import bar_chart
from crm.selectors.deals import DEFAULT_CURRENCY, deal_owners, forecast, pipelines_list
from crm.views.sales_common import parse_int


def _chart(data):
    """Weighted pipeline, won and target per month through the product's one chart helper (its numbers in the
    table that comes with it)."""
    frame = pd.DataFrame({
        "month": [m.month.strftime("%b %Y") for m in data.months],
        "weighted": [float(m.weighted) for m in data.months], "won": [float(m.won) for m in data.months],
        "target": [None if m.target is None else float(m.target) for m in data.months],
    })
    return bar_chart(frame, x="month", y=["weighted", "won", "target"],
                     title=f"Weighted pipeline and won versus target per month ({data.currency})",
                     x_label="Month", y_label=data.currency,
                     labels={"month": "Month", "weighted": "Weighted pipeline", "won": "Won", "target": "Target"})


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
