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


def demo_score_models() -> list[dict]:
    """A default "Engagement" model (behaviour, decaying with a 14-day half-life, capped at 100) and a "Fit"
    model (CRM and account facts)."""
    return [
        {"name": "Engagement", "is_default": True, "half_life_days": 14, "cap": 100,
         "description": "Recent behaviour: points fade with a 14-day half-life.",
         "conditions": [
             {"label": "Viewed pricing (3×)", "points": 30, "condition": {
                 "type": "event", "event_type": "page", "where": [{"property": "path", "op": "starts_with",
                                                                   "value": "/pricing"}],
                 "count": {"op": "at_least", "value": 3}, "window": {"kind": "last_days", "days": 90}}},
             {"label": "Signed up", "points": 20, "condition": {"type": "event", "event": "Signed Up"}},
             {"label": "Read the blog", "points": 5, "condition": {
                 "type": "event", "event_type": "page", "where": [{"property": "path", "op": "starts_with",
                                                                   "value": "/blog"}]}},
             {"label": "Open deal", "points": 25, "condition": {"type": "deal", "has": True, "where": [
                 {"field": "status", "op": "equals", "value": "open"}]}},
             {"label": "Churned", "points": -40, "condition": {"type": "contact", "field": "lifecycle_stage",
                                                               "op": "equals", "value": "churned"}}]},
        {"name": "Fit", "description": "Who they are: lifecycle stage and company.",
         "conditions": [
             {"label": "Marketing qualified", "points": 20, "condition": {
                 "type": "contact", "field": "lifecycle_stage", "op": "in",
                 "value": ["marketing_qualified", "sales_qualified", "opportunity"]}},
             {"label": "Has a company", "points": 15, "condition": {"type": "company", "where": []}},
             {"label": "Customer", "points": 30, "condition": {"type": "contact", "field": "lifecycle_stage",
                                                               "op": "equals", "value": "customer"}}]},
    ]


def demo_segments_seed() -> int:
    """Create the demo score models and segments that do not exist yet; returns how many segments were
    created."""
    from segments.models import ScoreModel  # noqa: PLC0415
    from segments.services.scoring import score_model_create  # noqa: PLC0415

    for spec in demo_score_models():
        if not ScoreModel.objects.filter(name=spec["name"]).exists():
            score_model_create(**spec)
    created = 0
    for spec in demo_segments():
        if not Segment.objects.filter(name=spec["name"]).exists():
            segment_create(**spec)
            created += 1
    return created
