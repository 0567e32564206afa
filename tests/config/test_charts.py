"""The one chart helper: figure JSON that cannot break out of its script tag, numbers in a table, and the app's
own copy of plotly.js served without a CDN."""

from __future__ import annotations

import json
from datetime import date

import pandas as pd
import pytest
from django.contrib.staticfiles import finders
from django.template.loader import render_to_string

from config.charts import bar_chart, line_chart


def _figure(html: str, chart_id: str) -> dict:
    start = html.index(f'<script type="application/json" id="{chart_id}-data">')
    body = html[start:].split(">", 1)[1].split("</script>", 1)[0]
    return json.loads(body)


def test_line_chart_renders_figure_and_table_with_escaped_outside_labels():
    frame = pd.DataFrame({"day": pd.to_datetime(["2026-01-01", "2026-01-02"]), "created": [3, 5],
                          "solved": [1, 4]})
    chart = line_chart(frame, x="day", y=["created", "solved"], title="Tickets </script><b>x</b>",
                       labels={"created": "Created <img src=x onerror=alert(1)>", "solved": "Solved"},
                       x_label="Day", y_label="Tickets")
    html = render_to_string("charts/chart.html", {"chart": chart})

    assert "<img src=x" not in html and "</script><b>" not in html
    assert "Tickets &lt;/script&gt;&lt;b&gt;x&lt;/b&gt;" in html
    figure = _figure(html, chart.id)
    assert [t["name"] for t in figure["data"]] == ["Created <img src=x onerror=alert(1)>", "Solved"]
    assert figure["data"][0]["y"] == [3, 5]
    assert figure["layout"]["xaxis"]["title"]["text"] == "Day"
    assert chart.columns == ["Day", "Created <img src=x onerror=alert(1)>", "Solved"]
    assert chart.rows == [["2026-01-01", "3", "1"], ["2026-01-02", "5", "4"]]


def test_bar_chart_from_rows_stacked_and_empty_state():
    chart = bar_chart([{"stage": "Won", "amount": 1500.5}, {"stage": "Lost", "amount": 20}], x="stage",
                      y="amount", title="Amount by stage", stacked=True)
    assert chart.rows == [["Won", "1,500.5"], ["Lost", "20"]]
    empty = bar_chart(pd.DataFrame({"stage": [], "amount": []}), x="stage", y="amount", title="Nothing")
    html = render_to_string("charts/chart.html", {"chart": empty})
    assert empty.empty and "No data for this period." in html and "data-chart" not in html
    assert line_chart([{"d": date(2026, 1, 1), "n": 1}], x="d", y="n", title="t").rows == [["2026-01-01", "1"]]


@pytest.mark.django_db
def test_plotly_is_served_by_the_app_and_only_the_named_asset(client):
    assert finders.find("vendor/plotly.min.js")
    assert finders.find("vendor/datasets/iris.csv.gz") is None
    response = client.get("/static/vendor/plotly.min.js")
    assert response.status_code == 200
    assert b"plotly" in b"".join(response.streaming_content)[:2000].lower()
