"""Support metrics page: a date range, charts with their numbers, per agent and per queue, CSV export."""

from __future__ import annotations

from datetime import timedelta

from django import forms
from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.utils import timezone

from config.charts import bar_chart, line_chart
from config.csv_export import csv_stream_response
from crm.selectors.tickets_metrics import ticket_metrics
from crm.views.support.common import agent_required

MAX_DAYS = 366


class RangeForm(forms.Form):
    start = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self):
        data = super().clean()
        if data.get("start") and data.get("end"):
            if data["start"] > data["end"]:
                raise forms.ValidationError("The start must be before the end.")
            if (data["end"] - data["start"]).days > MAX_DAYS:
                raise forms.ValidationError(f"Choose at most {MAX_DAYS} days.")
        return data


def _table(frame) -> tuple[list[str], list[list]]:
    columns = ["name", *frame.columns]
    rows = [[name, *(None if v != v else v for v in values)] for name, values in zip(
        frame.index, frame.itertuples(index=False), strict=True)]
    return columns, rows


@login_required
@agent_required
def metrics_view(request):
    today = timezone.localdate()
    form = RangeForm(request.GET or {"start": today - timedelta(days=29), "end": today})
    if not form.is_valid():
        return render(request, "crm/support/metrics.html", {"form": form}, status=400)
    start, end = form.cleaned_data["start"], form.cleaned_data["end"]
    metrics = ticket_metrics(user=request.user, start=start, end=end)
    export = request.GET.get("export")
    if export == "daily":
        return csv_stream_response(f"tickets-daily-{start}-{end}.csv", list(metrics.daily.columns),
                                   metrics.daily.itertuples(index=False))
    if export in ("agents", "queues"):
        columns, rows = _table(metrics.per_agent if export == "agents" else metrics.per_queue)
        return csv_stream_response(f"tickets-{export}-{start}-{end}.csv", columns, rows)
    agent_columns, agent_rows = _table(metrics.per_agent)
    queue_columns, queue_rows = _table(metrics.per_queue)
    return render(request, "crm/support/metrics.html", {
        "form": form, "metrics": metrics, "summary": metrics.summary,
        "flow_chart": bar_chart(metrics.daily, x="day", y=["created", "solved"], title="Created vs solved per day",
                                labels={"created": "Created", "solved": "Solved"}),
        "backlog_chart": line_chart(metrics.daily, x="day", y="backlog", title="Open tickets (backlog) per day",
                                    labels={"backlog": "Open"}),
        "agent_columns": agent_columns, "agent_rows": agent_rows,
        "queue_columns": queue_columns, "queue_rows": queue_rows,
        "query": f"start={start}&end={end}",
    })
