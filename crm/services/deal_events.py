"""The outbox messages of deal changes (Segment-spec track events of the ``crm`` source)."""

from __future__ import annotations

from typing import Any

from crm.models import Deal, Stage
from crm.services.companies import company_account_sender
from crm.services.outbox import outbox_record


def deal_event_record(*, deal: Deal, event: str, from_stage: Stage | None = None,
                      to_stage: Stage | None = None, extra: dict[str, Any] | None = None) -> None:
    """Record ``event`` for ``deal`` in the outbox. Call inside the transaction that changed the deal.

    The identity is the deal's first contact (``crm-contact-<id>``, plus ``context.externalIds`` with
    ``crm_contact_id``) when it has one, else its company's account (an account's own message: no person), else
    the deal itself (``crm-deal-<id>``).
    """
    contact_id = deal.contacts.order_by("id").values_list("id", flat=True).first()
    properties: dict[str, Any] = {
        "deal_id": deal.pk,
        "name": deal.name,
        "amount": float(deal.amount),
        "currency": deal.currency,
        "pipeline": deal.pipeline.name,
        "pipeline_id": deal.pipeline_id,
        "stage": deal.stage.name,
        "status": deal.status,
        "probability": deal.probability,
        "expected_close_date": deal.expected_close_date.isoformat() if deal.expected_close_date else None,
        "owner_id": deal.owner_id,
        "company_id": deal.company_id,
    }
    if from_stage is not None or to_stage is not None:
        properties["from_stage"] = from_stage.name if from_stage else None
        properties["to_stage"] = to_stage.name if to_stage else None
    if deal.status == Deal.Status.LOST:
        properties["lost_reason"] = deal.lost_reason
    properties.update(extra or {})
    message: dict[str, Any] = {
        "type": "track",
        "event": event,
        "anonymousId": f"crm-contact-{contact_id}" if contact_id else f"crm-deal-{deal.pk}",
        "properties": properties,
        "context": {"library": {"name": "crm"}},
    }
    if not contact_id and deal.company_id:
        message.update(company_account_sender(deal.company_id))
    if contact_id:
        message["context"]["externalIds"] = [
            {"id": str(contact_id), "type": "crm_contact_id", "collection": "users", "encoding": "none"},
        ]
    outbox_record(object_type="deal", object_id=deal.pk, message=message)
