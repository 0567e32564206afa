"""Public read access to crm's tables for segments: table and column names taken from the models' ``_meta`` (so
segments compiles SQL without knowing crm's internals) and the values the segment builder suggests."""

from __future__ import annotations

from dataclasses import dataclass

from django.apps import apps
from django.contrib.auth import get_user_model

from crm.models import Company, Contact, CustomFieldDefinition, Deal, Pipeline, Stage

TICKET_OPEN_EXCLUDED = ("solved", "closed")
TICKET_PRIORITIES = ("low", "normal", "high", "urgent")


def _col(model, field: str) -> str:
    return model._meta.get_field(field).column


@dataclass(frozen=True)
class TicketTable:
    table: str
    requester: str
    status: str
    priority: str


@dataclass(frozen=True)
class CrmTables:
    contact: str
    contact_id: str
    contact_lifecycle: str
    contact_owner: str
    contact_tags: str
    contact_custom: str
    contact_company: str
    company: str
    company_id: str
    company_fields: dict[str, str]
    company_tags: str
    company_custom: str
    deal: str
    deal_id: str
    deal_pipeline: str
    deal_stage: str
    deal_status: str
    deal_amount: str
    deal_close_date: str
    deal_contacts: str
    deal_contacts_deal: str
    deal_contacts_contact: str
    ticket: TicketTable | None


COMPANY_TEXT_FIELDS = ("name", "domain", "industry", "size", "city", "region", "country")


def ticket_table() -> TicketTable | None:
    """The ticket table if tickets exist in this version of the CRM (``crm.Ticket``), else None."""
    try:
        ticket = apps.get_model("crm", "Ticket")
    except LookupError:
        return None
    return TicketTable(table=ticket._meta.db_table, requester=_col(ticket, "requester"),
                       status=_col(ticket, "status"), priority=_col(ticket, "priority"))


def crm_tables() -> CrmTables:
    """Names of the tables and columns segment rules read: contacts, their company, their deals (through the
    deal-contacts link) and their tickets (as requester)."""
    through = Deal.contacts.through
    return CrmTables(
        contact=Contact._meta.db_table, contact_id=_col(Contact, "id"),
        contact_lifecycle=_col(Contact, "lifecycle_stage"), contact_owner=_col(Contact, "owner"),
        contact_tags=_col(Contact, "tags"), contact_custom=_col(Contact, "custom"),
        contact_company=_col(Contact, "company"),
        company=Company._meta.db_table, company_id=_col(Company, "id"),
        company_fields={f: _col(Company, f) for f in COMPANY_TEXT_FIELDS},
        company_tags=_col(Company, "tags"), company_custom=_col(Company, "custom"),
        deal=Deal._meta.db_table, deal_id=_col(Deal, "id"), deal_pipeline=_col(Deal, "pipeline"),
        deal_stage=_col(Deal, "stage"), deal_status=_col(Deal, "status"), deal_amount=_col(Deal, "amount"),
        deal_close_date=_col(Deal, "expected_close_date"),
        deal_contacts=through._meta.db_table, deal_contacts_deal=_col(through, "deal"),
        deal_contacts_contact=_col(through, "contact"),
        ticket=ticket_table(),
    )


def lifecycle_choices() -> list[tuple[str, str]]:
    return list(Contact.Lifecycle.choices)


def deal_status_choices() -> list[tuple[str, str]]:
    return list(Deal.Status.choices)


def pipeline_stage_choices() -> list[dict]:
    """Pipelines with their stages in order: [{id, name, stages: [{id, name}]}]."""
    stages: dict[int, list[dict]] = {}
    for s in Stage.objects.order_by("pipeline_id", "order").values("id", "name", "pipeline_id"):
        stages.setdefault(s["pipeline_id"], []).append({"id": s["id"], "name": s["name"]})
    return [{"id": p.pk, "name": p.name, "stages": stages.get(p.pk, [])} for p in Pipeline.objects.all()]


def owner_choices() -> list[tuple[int, str]]:
    users = get_user_model().objects.filter(is_active=True).order_by("username")
    return [(u.pk, u.get_full_name() or u.username) for u in users]


def tags_seen(*, limit: int = 100) -> list[str]:
    """Tags used on contacts, most used first."""
    from django.db.models import Count, F, Func  # noqa: PLC0415

    rows = (Contact.objects.annotate(tag=Func(F("tags"), function="unnest")).values("tag")
            .annotate(n=Count("id")).order_by("-n", "tag")[:limit])
    return [r["tag"] for r in rows]


def custom_field_keys(object_type: str) -> list[dict]:
    """Admin-defined custom fields of ``object_type`` (contact/company/deal): key, label, type, choices."""
    return list(CustomFieldDefinition.objects.filter(object_type=object_type)
                .values("key", "label", "field_type", "choices"))


def names_for(*, stage_ids=(), pipeline_ids=(), user_ids=()) -> dict[str, dict[int, str]]:
    """Display names of stages, pipelines and users by id (for a rule in words)."""
    return {
        "stage": dict(Stage.objects.filter(pk__in=list(stage_ids)).values_list("id", "name")),
        "pipeline": dict(Pipeline.objects.filter(pk__in=list(pipeline_ids)).values_list("id", "name")),
        "user": {u.pk: (u.get_full_name() or u.username)
                 for u in get_user_model().objects.filter(pk__in=list(user_ids))},
    }
