"""The CRM's timeline providers and contact panels, registered from CrmConfig.ready(): field history and
lifecycle changes (history.py), activities, stage changes and deals (deals.py), merges and duplicates (merges.py)."""

from crm.timeline import deals, history, merges, tickets
from crm.timeline.history import history_timeline, lifecycle_timeline

__all__ = ["history_timeline", "lifecycle_timeline", "register"]


def register() -> None:
    history.register()
    deals.register()
    merges.register()
    tickets.register()
