"""Demo segments over the demo profiles and CRM records (run by ``seed_demo`` after the CRM's and the CDP's
demo data; idempotent: segments that exist by name are left alone)."""

from __future__ import annotations

from crm.selectors.segment_sources import pipeline_stage_choices
from segments.models import Segment
from segments.services.segments import segment_create


def _stage_id(pipeline: str, stage: str) -> str | None:
    for p in pipeline_stage_choices():
        if p["name"] == pipeline:
            for s in p["stages"]:
                if s["name"] == stage:
                    return str(s["id"])
    return None


def demo_segments() -> list[dict]:
    negotiation = _stage_id("Sales", "Negotiation")
    pricing_twice = {"type": "event", "event_type": "page", "where": [
        {"property": "path", "op": "starts_with", "value": "/pricing"}],
        "count": {"op": "at_least", "value": 2}, "window": {"kind": "last_days", "days": 30}}
    specs = [
        {"name": "Pricing visitors with an open deal", "mode": "realtime",
         "description": "Looked at pricing twice this month and have a deal still open: worth a call.",
         "definition": {"type": "all", "conditions": [
             pricing_twice, {"type": "deal", "has": True, "where": [{"field": "status", "op": "equals",
                                                                     "value": "open"}]}]}},
        {"name": "Customers without an open urgent ticket", "mode": "realtime",
         "description": "Happy customers to ask for a review.",
         "definition": {"type": "all", "conditions": [
             {"type": "contact", "field": "lifecycle_stage", "op": "equals", "value": "customer"},
             {"type": "tickets", "status": "open", "priority": ["urgent", "high"],
              "count": {"op": "exactly", "value": 0}}]}},
        {"name": "New sign-ups (30 days)", "mode": "realtime",
         "definition": {"type": "all", "conditions": [
             {"type": "event", "event": "Signed Up", "window": {"kind": "last_days", "days": 30}}]}},
        {"name": "Blog readers without a deal", "mode": "scheduled", "interval_minutes": 60,
         "description": "Read the blog, never talked to sales.",
         "definition": {"type": "all", "conditions": [
             {"type": "event", "event_type": "page", "where": [{"property": "path", "op": "starts_with",
                                                                "value": "/blog"}],
              "window": {"kind": "last_days", "days": 60}},
             {"type": "deal", "has": False}]}},
    ]
    if negotiation:
        specs.append({
            "name": "Pricing visitors in negotiation", "mode": "realtime",
            "description": "Visited pricing twice in 30 days while their deal is in Negotiation.",
            "definition": {"type": "all", "conditions": [pricing_twice, {"type": "deal", "has": True, "where": [
                {"field": "stage", "op": "equals", "value": negotiation}]}]}})
    return specs


def demo_segments_seed() -> int:
    """Create the demo segments that do not exist yet; returns how many were created."""
    created = 0
    for spec in demo_segments():
        if not Segment.objects.filter(name=spec["name"]).exists():
            segment_create(**spec)
            created += 1
    return created
