"""Pagination: `?page=N&page_size=M` everywhere, the same envelope for ORM lists, staging rows and ClickHouse.

    {"count": 1234, "next": "...?page=3", "previous": "...?page=1", "results": [...]}

ORM lists use `PageNumberPagination`. Lists that are counted and sliced elsewhere (ClickHouse, staging
tables) use `PageWindow`: it reads and checks the page from the request, gives the LIMIT/OFFSET to push down,
and builds the same envelope from the count the database returned.
"""

from __future__ import annotations

import math

from django.conf import settings
from django.utils.translation import gettext as _
from rest_framework import exceptions
from rest_framework import pagination as drf_pagination
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param

MAX_PAGE_SIZE = 500


class PageNumberPagination(drf_pagination.PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE


def _positive_int(request, name: str, default: int, maximum: int | None = None) -> int:
    raw = request.query_params.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        raise exceptions.ValidationError({name: [_("A positive whole number is required.")]})
    return min(value, maximum) if maximum else value


class PageWindow:
    """One page of a list that another database counts and slices."""

    def __init__(self, request, *, default_size: int | None = None):
        self.request = request
        self.page_size = _positive_int(request, "page_size", default_size or settings.REST_FRAMEWORK["PAGE_SIZE"],
                                       MAX_PAGE_SIZE)
        self.page = _positive_int(request, "page", 1)

    @property
    def limit(self) -> int:
        return self.page_size

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.page_size

    def response(self, count: int, results: list, **extra) -> Response:
        pages = max(1, math.ceil(count / self.page_size))
        if self.page > pages:
            raise exceptions.NotFound(_("Invalid page."))
        url = self.request.build_absolute_uri()
        following = replace_query_param(url, "page", self.page + 1) if self.page < pages else None
        if self.page <= 1:
            previous = None
        elif self.page == 2:
            previous = remove_query_param(url, "page")
        else:
            previous = replace_query_param(url, "page", self.page - 1)
        return Response({"count": count, "next": following, "previous": previous, **extra, "results": results})


def paginated_schema(item_schema: dict, **extra_properties) -> dict:
    """The OpenAPI schema of a PageWindow response around `item_schema` (for extend_schema)."""
    return {
        "type": "object",
        "required": ["count", "results"],
        "properties": {
            "count": {"type": "integer"},
            "next": {"type": "string", "format": "uri", "nullable": True},
            "previous": {"type": "string", "format": "uri", "nullable": True},
            **extra_properties,
            "results": {"type": "array", "items": item_schema},
        },
    }
