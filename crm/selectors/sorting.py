"""Sort orders of CRM lists, one table per object for the pages and the API: each sortable field and the
expressions it sorts by. Every order ends with ``id`` (stable pages), shaped like the lists' indexes."""

from __future__ import annotations

from collections.abc import Sequence

from django.db.models import F
from django.db.models.expressions import OrderBy


def order_from_fields(fields: dict[str, tuple], terms: Sequence[str]) -> list[OrderBy]:
    """``ordering`` terms (``field`` or ``-field``, keys of ``fields``) as an order that ends with ``id`` in the
    first term's direction: total (stable pages), and shaped like the list pages' sorts, whose indexes end so."""
    order: list[OrderBy] = []
    seen = set()
    for term in terms:
        for expression in fields[term.lstrip("-")]:
            if expression not in seen:
                seen.add(expression)
                order.append(OrderBy(expression, descending=term.startswith("-")))
    order.append(OrderBy(F("id"), descending=bool(terms) and terms[0].startswith("-")))
    return order


def page_sorts(fields: dict[str, tuple], names: dict[str, str]) -> dict[str, tuple]:
    """A list page's sort parameter (``name``, ``-name`` ...) → its order, for the page names of API fields."""
    return {
        f"{sign}{name}": tuple(order_from_fields(fields, [f"{sign}{field}"]))
        for name, field in names.items()
        for sign in ("", "-")
    }
