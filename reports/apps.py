from django.apps import AppConfig


class ReportsConfig(AppConfig):
    """Reports and dashboards. Reads crm, cdp and segments through their selectors; nothing imports reports."""

    name = "reports"
    verbose_name = "Reports"
