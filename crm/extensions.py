"""Extension points that other apps (cdp, segments) fill at startup, so crm never imports them.

- Timeline providers add entries to the one timeline of a contact, company or deal.
- Contact side panels add boxes (segments, score, web activity) to the contact page.
- Ticket side panels add boxes (the requester's recent web events and traits) to the ticket page.
- Demo seeders add their demo data after the CRM's own (``seed_demo`` / first ``make run``).

Register from the other app's ``AppConfig.ready()``::

    from crm.extensions import register_timeline_provider
    register_timeline_provider(web_events_for_timeline)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    kind: str  # "activity", "stage_change", "history", "web_event", "email", "ticket", ...
    title: str
    body: str = ""
    url: str = ""
    actor: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


# provider(subject, *, user, limit) -> list[TimelineEntry]; subject is a Contact, Company or Deal.
TimelineProvider = Callable[..., list[TimelineEntry]]
# panel(contact, *, user) -> dict(title=..., template=..., context=...) or None to show nothing.
ContactPanel = Callable[..., dict[str, Any] | None]

# panel(ticket, *, user) -> dict(title=..., template=..., context=...) or None to show nothing.
TicketPanel = Callable[..., dict[str, Any] | None]

# seeder() -> None; runs after the CRM's demo records exist, must be idempotent.
DemoSeeder = Callable[[], None]

_timeline_providers: list[TimelineProvider] = []
_contact_panels: list[ContactPanel] = []
_ticket_panels: list[TicketPanel] = []
_demo_seeders: list[DemoSeeder] = []


def register_timeline_provider(provider: TimelineProvider) -> None:
    if provider not in _timeline_providers:
        _timeline_providers.append(provider)


def register_contact_panel(panel: ContactPanel) -> None:
    if panel not in _contact_panels:
        _contact_panels.append(panel)


def register_ticket_panel(panel: TicketPanel) -> None:
    if panel not in _ticket_panels:
        _ticket_panels.append(panel)


def ticket_panels() -> list[TicketPanel]:
    return list(_ticket_panels)


def register_demo_seeder(seeder: DemoSeeder) -> None:
    if seeder not in _demo_seeders:
        _demo_seeders.append(seeder)


def demo_seeders() -> list[DemoSeeder]:
    return list(_demo_seeders)


def timeline_providers() -> list[TimelineProvider]:
    return list(_timeline_providers)


def contact_panels() -> list[ContactPanel]:
    return list(_contact_panels)


def timeline_for(subject, *, user, limit: int = 50, kinds: set[str] | None = None) -> list[TimelineEntry]:
    """Merge every provider's entries for ``subject``, newest first, optionally only of ``kinds``."""
    entries: list[TimelineEntry] = []
    for provider in _timeline_providers:
        entries.extend(provider(subject, user=user, limit=limit))
    if kinds:
        entries = [e for e in entries if e.kind in kinds]
    entries.sort(key=lambda e: e.at, reverse=True)
    return entries[:limit]


# --- Lead scores: one registered source (segments) gives the score reps see on contacts, deals and My work ----

@dataclass(frozen=True)
class ContactScore:
    """A contact's score under the default score model, with the "why": (condition label, points) pairs."""

    value: Any  # Decimal
    model: str
    why: tuple[tuple[str, Any], ...] = ()

    @property
    def why_text(self) -> str:
        return "; ".join(f"{label}: {'+' if points > 0 else ''}{points}" for label, points in self.why)


@dataclass(frozen=True)
class ContactScoreSource:
    """``annotation()`` -> an expression (a Subquery over the contact's ``pk``) giving its score, for sorting
    and filtering contact querysets, or None when there is no score model; ``scores(contact_ids)`` ->
    {contact id: ContactScore} for the contacts that have a score (one query)."""

    annotation: Callable[[], Any]
    scores: Callable[[list[int]], dict[int, ContactScore]]


_score_sources: list[ContactScoreSource] = []


def register_contact_score_source(source: ContactScoreSource) -> None:
    if source not in _score_sources:
        _score_sources.append(source)


def contact_score_annotation():
    """The registered score expression (None without a score source or model)."""
    return _score_sources[0].annotation() if _score_sources else None


def contact_scores(contact_ids: list[int]) -> dict[int, ContactScore]:
    if not _score_sources or not contact_ids:
        return {}
    return _score_sources[0].scores(sorted(set(contact_ids)))


def attach_contact_scores(contacts) -> None:
    """Set ``lead_score`` (ContactScore or None) on each contact (one query)."""
    contacts = [c for c in contacts if c is not None]
    scores = contact_scores([c.pk for c in contacts])
    for c in contacts:
        c.lead_score = scores.get(c.pk)


def attach_deal_scores(deals) -> None:
    """Set ``lead_score`` on each deal: the highest score among its contacts (two queries)."""
    from crm.models import Deal  # noqa: PLC0415

    deals = list(deals)
    if not deals or not _score_sources:
        for d in deals:
            d.lead_score = None
        return
    links = list(Deal.contacts.through.objects.filter(deal_id__in=[d.pk for d in deals])
                 .values_list("deal_id", "contact_id"))
    scores = contact_scores([c for _, c in links])
    best: dict[int, ContactScore] = {}
    for deal_id, contact_id in links:
        s = scores.get(contact_id)
        if s is not None and (deal_id not in best or s.value > best[deal_id].value):
            best[deal_id] = s
    for d in deals:
        d.lead_score = best.get(d.pk)
