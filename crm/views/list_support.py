"""Shared pieces of the contact and company list pages: query parsing, pagination, inline edit."""

from __future__ import annotations

from urllib.parse import urlencode

from django.core.paginator import EmptyPage, Page, PageNotAnInteger, Paginator
from django.db.models import QuerySet
from django.http import QueryDict
from django.shortcuts import render
from django.utils.functional import cached_property

from crm.forms.contacts import split_list
from crm.forms.custom_fields import PREFIX

PAGE_SIZE = 50


def custom_filters_from(data: QueryDict) -> dict[str, str]:
    return {key[len(PREFIX):]: value for key, value in data.items() if key.startswith(PREFIX) and value != ""}


class CappedPaginator(Paginator):
    """Counts at most ``COUNT_CAP`` + 1 rows: an exact count of a long list costs more than showing it (at a
    million contacts, counting 10,000 matches of a filter reads 10,000 scattered rows; nobody pages that far).

    ``display_count`` reads "1,000+" past the cap; pages past the cap still work (Next keeps going).
    """

    COUNT_CAP = 1_000

    @cached_property
    def count(self) -> int:
        if not isinstance(self.object_list, QuerySet):  # the matches of a narrow search, already found
            return len(self.object_list)
        return self.object_list.order_by()[: self.COUNT_CAP + 1].count()

    @property
    def is_capped(self) -> bool:
        return self.count > self.COUNT_CAP

    @property
    def display_count(self) -> str:
        return f"{self.COUNT_CAP:,}+" if self.is_capped else f"{self.count:,}"

    def validate_number(self, number):
        if not self.is_capped:
            return super().validate_number(number)
        try:
            number = int(number)
        except (TypeError, ValueError):
            raise PageNotAnInteger("That page number is not an integer") from None
        if number < 1:
            raise EmptyPage("That page number is less than 1")
        return number

    def page(self, number):
        """Past the cap the total is unknown: fetch one row more than a page to know whether another follows."""
        if not self.is_capped:
            return super().page(number)
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        rows = list(self.object_list[bottom: bottom + self.per_page + 1])
        return _OpenEndedPage(rows[: self.per_page], number, self, has_more=len(rows) > self.per_page)


class _OpenEndedPage(Page):
    def __init__(self, object_list, number, paginator, *, has_more: bool):
        super().__init__(object_list, number, paginator)
        self._has_more = has_more

    def has_next(self) -> bool:
        return self._has_more


def page_of(queryset, request, *, per_page: int = PAGE_SIZE):
    """One page of ``queryset`` (page number from ?page=, clamped). Two queries: capped count and rows."""
    paginator = CappedPaginator(queryset, per_page)
    return paginator.get_page(request.GET.get("page"))


def query_without(data: QueryDict, *keys: str) -> str:
    """The current query string without ``keys`` (for links that set them)."""
    return urlencode([(k, v) for k, values in data.lists() if k not in keys for v in values if v != ""])


def sort_links(data: QueryDict, columns: list[str], current: str) -> dict[str, dict[str, str]]:
    """For each sortable column: the query string that sorts by it (toggling direction) and its arrow."""
    base = query_without(data, "sort", "page")
    links = {}
    for column in columns:
        target = f"-{column}" if current == column else column
        arrow = "▲" if current == column else "▼" if current == f"-{column}" else ""
        links[column] = {"query": f"{base}&sort={target}" if base else f"sort={target}", "arrow": arrow}
    return links


# --- inline edit (contact and company detail pages) ------------------------------------------------

def inline_changes(*, field: str, value: str, definition) -> dict:
    """The ``changes`` for a record's update service from one inline-edited field (custom, tags or plain)."""
    if definition is not None:
        return {"custom": {definition.key: value}}
    if field == "tags":
        return {"tags": split_list(value)}
    return {field: value}


def validation_text(exc) -> str:
    """All messages of a ValidationError as one line, for an inline form."""
    return " ".join(message for messages in exc.message_dict.values() for message in messages)


def inline_saved_response(request, template: str, context: dict):
    """The field row after a save (or a cancel); a save also tells the page to reload its timeline."""
    context["can_edit"] = True
    response = render(request, template, context)
    if request.method == "POST":
        response["HX-Trigger"] = "timeline-changed"
    return response
