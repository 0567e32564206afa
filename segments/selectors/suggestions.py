"""What the builder suggests, taken from the data actually seen (event names, trait keys, property names)
and from the CRM (lifecycle stages, owners, pipelines and stages, tags, custom fields, segments)."""

from __future__ import annotations

from cdp.selectors import segment_sources as cdp
from crm.selectors import segment_sources as crm
from segments.models import Segment
from segments.rules import operators as o


def suggest(kind: str, *, prefix: str = "", event: str = "") -> list[str] | None:
    if kind == "event":
        return cdp.event_names_seen(prefix=prefix)
    if kind in ("trait", "computed", "account"):
        return cdp.trait_keys_seen(source="profile" if kind == "trait" else kind, prefix=prefix)
    if kind == "property":
        return cdp.property_names_seen(event=event, prefix=prefix)
    if kind == "tag":
        return [t for t in crm.tags_seen() if t.lower().startswith(prefix.lower())]
    return None


def builder_catalog(*, exclude: int | None = None) -> dict:
    """Operators by type and the CRM values the builder offers (one small dict, embedded in the page)."""
    return {
        "operators": o.OPERATORS,
        "count_ops": o.COUNT_OPS,
        "lifecycle": crm.lifecycle_choices(),
        "owners": crm.owner_choices(),
        "pipelines": crm.pipeline_stage_choices(),
        "deal_statuses": crm.deal_status_choices(),
        "ticket_priorities": list(o.TICKET_PRIORITIES),
        "contact_custom": crm.custom_field_keys("contact"),
        "segments": [{"id": pk, "name": name} for pk, name in Segment.objects.exclude(pk=exclude).values_list(
            "id", "name")],
    }
