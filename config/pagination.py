"""API pagination whose count stops at a cap, so a list endpoint over 100k rows never counts them all."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.utils.functional import cached_property
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response

COUNT_CAP = 1_000  # counting 10,000 matches of a filter reads 10,000 scattered rows at a million contacts


class CappedCountPaginator(Paginator):
    @cached_property
    def count(self) -> int:
        """Exact up to ``COUNT_CAP``; ``COUNT_CAP + 1`` means "more than the cap" (pages stay reachable)."""
        if hasattr(self.object_list, "query"):
            # Only ids in the counted subquery: no joined columns, no ordering.
            return self.object_list.order_by().values("pk")[: COUNT_CAP + 1].count()
        return len(self.object_list)


class CappedPageNumberPagination(PageNumberPagination):
    django_paginator_class = CappedCountPaginator
    page_size_query_param = "page_size"
    max_page_size = 500

    def get_paginated_response(self, data):
        count = self.page.paginator.count
        return Response({
            "count": min(count, COUNT_CAP),
            "count_is_exact": count <= COUNT_CAP,
            "next": self.get_next_link(),
            "previous": self.get_previous_link(),
            "results": data,
        })

    def get_paginated_response_schema(self, schema):
        response = super().get_paginated_response_schema(schema)
        response["properties"]["count_is_exact"] = {"type": "boolean"}
        return response
