"""How a contact list is read past its search or filters, so that it is counted and paged cheaply at a
million contacts: ``contacts_probe`` reads the matches of a search or filter (up to a limit) with their sort
keys; a narrow one becomes ``ContactMatches`` (counted by the probe, its first pages sorted by the probe with a
bounded top-N sort, a later page by the probe again), a long list ``ContactsInOrder`` (the sort index walked, a
later page's ids read from the index first, the count known from the probe when it passed the cap)."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from django.db import connection
from django.db.models import BooleanField, F, Func, Q, QuerySet, TextField, Value
from django.db.models.expressions import OrderBy

from config.pagination import COUNT_CAP
from crm.models import Contact


class _IdIsAny(Func):
    """``<id> = ANY(<array>)``: one array parameter instead of an IN list of as many parameters. The array goes
    over as one text literal (``{1,2,3}``), written once: as a list, Django would prepare and psycopg would dump
    every element for each query the list is part of (a company word's 5,700 ids: tens of milliseconds)."""

    arg_joiner = " = ANY("
    template = "%(expressions)s::bigint[])"
    output_field = BooleanField()


def is_any(column: str, ids: list[int]) -> Q:
    literal = "{" + ",".join(str(int(pk)) for pk in ids) + "}"
    return Q(_IdIsAny(F(column), Value(literal, output_field=TextField())))


def sort_keys(order: Sequence) -> dict[str, object]:
    """The expressions of ``order`` as annotations ``_sort0``, ``_sort1`` ... (for a probe to select)."""
    return {f"_sort{position}": item.expression if isinstance(item, OrderBy) else F(str(item).lstrip("-"))
            for position, item in enumerate(order)}


def _order_terms(order: Sequence) -> list[str]:
    """``ORDER BY`` terms over a probe's sort key columns (``sort_keys``)."""
    terms = []
    for position, item in enumerate(order):
        descending = item.descending if isinstance(item, OrderBy) else str(item).startswith("-")
        nulls = ""
        if isinstance(item, OrderBy) and (item.nulls_first or item.nulls_last):
            nulls = " NULLS FIRST" if item.nulls_first else " NULLS LAST"
        terms.append(f"_sort{position} {'DESC' if descending else 'ASC'}{nulls}")
    return terms


def _rows_in_order(rows: QuerySet[Contact], ids: list[int]) -> list[Contact]:
    """The contacts ``ids`` of ``rows`` (one query by primary key), in the order of ``ids``; those no longer in
    ``rows`` (deleted, hidden meanwhile) left out."""
    if not ids:
        return []
    found = {contact.pk: contact for contact in rows.filter(is_any("id", ids))}
    return [found[pk] for pk in ids if pk in found]


# The first rows the probe sorts and returns at once: the first page of the list (50, and one more to tell
# whether another page follows), the API's default page, and a few pages beyond, for one bounded sort.
FIRST_WINDOW = 200


class ContactMatches(Sequence):
    """Every match of a narrow search or filter: ``len`` is their number, a slice is one page in ``order``.
    ``rows`` is the list's queryset (scoping, filters, joins, prefetches): a page's rows come from it by primary
    key, so a contact deleted or hidden meanwhile drops out of the page.

    A full sort of 10,000 matches compares each about 13 times through the collation (tens of milliseconds);
    a page needs only the top of them, and the probe that counts them returns the first ``FIRST_WINDOW``. A
    page past them runs the probe again with its own bounded sort."""

    def __init__(self, rows: QuerySet[Contact], *, count: int, first_ids: list[int], sorted_sql: str,
                 params: tuple):
        self.rows = rows
        self._count = count
        self._first_ids = first_ids
        self._sorted_sql = sorted_sql  # the probe, distinct and sorted, without LIMIT/OFFSET
        self._params = params

    def __len__(self) -> int:
        return self._count

    def count(self) -> int:
        return self._count

    def __getitem__(self, key):
        if isinstance(key, int):
            index = key + self._count if key < 0 else key
            if not 0 <= index < self._count:
                raise IndexError("ContactMatches index out of range")
            rows = self[index:index + 1]
            if not rows:
                raise IndexError("That contact is no longer in the list.")
            return rows[0]
        start, stop, step = key.indices(self._count)
        if step != 1:
            return list(self)[key]
        return self._fetch(self._ids(start, stop)) if stop > start else []

    def _ids(self, start: int, stop: int | None) -> list[int]:
        if stop is not None and (stop <= len(self._first_ids) or len(self._first_ids) >= self._count):
            return self._first_ids[start:stop]
        limit = "ALL" if stop is None else "%s"
        with connection.cursor() as cursor:
            cursor.execute(f"{self._sorted_sql} LIMIT {limit} OFFSET %s",
                           [*self._params, *([] if stop is None else [stop - start]), start])
            return [row[0] for row in cursor.fetchall()]

    def _fetch(self, ids: list[int]) -> list[Contact]:
        return _rows_in_order(self.rows, ids)

    def iterator(self, chunk_size: int = 2000) -> Iterator[Contact]:
        ids = self._ids(0, None) if self._count > len(self._first_ids) else self._first_ids
        for start in range(0, len(ids), chunk_size):
            yield from self._fetch(ids[start:start + chunk_size])

    def __iter__(self) -> Iterator[Contact]:
        return self.iterator()


# Pages that start this far into a long list read their ids first (``ContactsInOrder``); earlier ones read their
# rows at once (one query less, and the rows before them are few).
DEFER_PAST = 200


class ContactsInOrder(Sequence):
    """A long list in the order of ``rows`` (a queryset that walks its sort index): a later page reads its ids first,
    along the index alone where the index holds every column the query needs (``crm_contact_lname_cover`` holds the
    names and the visibility columns: a rep's page 50 skips 2,450 rows without reading them from the table), and
    then the page's rows by primary key.

    ``at_least``: distinct matches a probe has already found. Past the count cap of the lists and the API (they
    show "1,000+") it is the count, with no query of its own; otherwise the count is capped just past it."""

    def __init__(self, rows: QuerySet[Contact], *, at_least: int = 0):
        self.rows = rows
        self.at_least = at_least

    def __len__(self) -> int:
        return self.count()

    def count(self) -> int:
        if self.at_least > COUNT_CAP:
            return self.at_least
        return self.rows.order_by()[: COUNT_CAP + 1].count()

    def __getitem__(self, key):
        if isinstance(key, int) or (key.start or 0) < DEFER_PAST:
            return self.rows[key]
        return _rows_in_order(self.rows.order_by(), list(self.rows.values_list("id", flat=True)[key]))

    def iterator(self, chunk_size: int = 2000) -> Iterator[Contact]:
        return self.rows.iterator(chunk_size=chunk_size)

    def __iter__(self) -> Iterator[Contact]:
        return iter(self.rows)


def estimated_rows(qs: QuerySet) -> int:
    """The planner's estimate of the rows ``qs`` returns (EXPLAIN without running it: under a millisecond)."""
    sql, params = qs.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        plan = cursor.fetchone()[0]
    if isinstance(plan, str):
        plan = json.loads(plan)
    return int(plan[0]["Plan"]["Plan Rows"])


@dataclass(frozen=True)
class Probe:
    """What a probe read: ``complete`` when it read every match (it stopped before its limit); ``count``
    distinct contacts; of a complete probe, ``matches`` (given an order) or ``ids`` (without)."""

    complete: bool
    count: int
    matches: ContactMatches | None = None
    ids: list[int] | None = None


def contacts_probe(probe: QuerySet, *, limit: int, order: Sequence | None, rows: QuerySet[Contact]) -> Probe:
    """Run ``probe`` (a values_list of ``id`` and the keys of ``sort_keys(order)``: one query, or a UNION ALL of
    the parts of a search, where a contact matching two parts comes twice) up to ``limit`` rows, in one query
    that also counts them and, given ``order``, sorts the first ``FIRST_WINDOW``."""
    sql, params = probe[:limit].query.sql_with_params()
    # ``seen``: the rows the probe read (did it stop at ``limit``?), before the parts' duplicates are dropped.
    sql = f"SELECT *, count(*) OVER () AS seen FROM ({sql}) AS read"
    if probe.query.combinator:
        sql = f"SELECT DISTINCT * FROM ({sql}) AS parts"
    terms = ", ".join(_order_terms(order)) if order is not None else "id"
    # Counted before the sort (a window over the unsorted probe), so that the sort is bounded by the LIMIT.
    window = f"LIMIT {FIRST_WINDOW}" if order is not None else ""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id, n, seen FROM (SELECT *, count(*) OVER () AS n FROM ({sql}) AS probe) "
                       f"AS counted ORDER BY {terms} {window}", params)
        found = cursor.fetchall()
    count, seen = (found[0][1], found[0][2]) if found else (0, 0)
    if seen >= limit:
        return Probe(complete=False, count=count)
    if order is None:
        return Probe(complete=True, count=count, ids=[row[0] for row in found])
    matches = ContactMatches(rows, count=count, first_ids=[row[0] for row in found],
                             sorted_sql=f"SELECT id FROM ({sql}) AS probe ORDER BY {terms}", params=tuple(params))
    return Probe(complete=True, count=count, matches=matches)
