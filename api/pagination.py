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
# The largest page number asked for: far beyond any list, small enough for any database's OFFSET.
MAX_PAGE = 10**9


def query_int(request, name: str, default: int, *, minimum: int = 1, maximum: int | None = None) -> int:
    """A whole-number query parameter, or a 400 naming it: not a number (0.5, null, "1e3"), out of
    [minimum, maximum], or given more than once. What the schema declares (`page_parameters`) is enforced."""
    values = request.query_params.getlist(name)
    if not values or values == [""]:  # given empty: as if absent (an HTML form's empty field)
        return default
    raw = values[0]
    if len(values) > 1 or not raw.lstrip("-").isdecimal() or not raw.isascii():
        raise exceptions.ValidationError({name: [_("A whole number is required.")]})
    value = int(raw)
    if value < minimum or (maximum is not None and value > maximum):
        message = (_("A whole number from %(min)d to %(max)d is required.") % {"min": minimum, "max": maximum}
                   if maximum is not None else _("A whole number of at least %(min)d is required.") % {"min": minimum})
        raise exceptions.ValidationError({name: [message]})
    return value


def page_parameters() -> list[dict]:
    """The OpenAPI query parameters `page` and `page_size` of every list, with the bounds `query_int` enforces."""
    return [
        {"name": "page", "required": False, "in": "query", "description": "Page number, from 1.",
         "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE}},
        {"name": "page_size", "required": False, "in": "query",
         "description": f"Rows per page, 1 to {MAX_PAGE_SIZE} (default {settings.REST_FRAMEWORK['PAGE_SIZE']}).",
         "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE}},
    ]


def page_openapi_parameters() -> list:
    """`page_parameters` for extend_schema (lists that page with PageWindow)."""
    from drf_spectacular.utils import OpenApiParameter

    return [OpenApiParameter(p["name"], p["schema"], OpenApiParameter.QUERY, description=p["description"])
            for p in page_parameters()]


class PageNumberPagination(drf_pagination.PageNumberPagination):
    """DRF's page-number pagination with strict parameters: a page size that is no whole number from 1 to
    MAX_PAGE_SIZE is a 400 (DRF silently used the default), as is a page that is no whole number; a page past
    the end stays a 404."""

    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE
    last_page_strings = ()

    def get_page_size(self, request):
        return query_int(request, self.page_size_query_param, self.page_size, maximum=self.max_page_size)

    def get_page_number(self, request, paginator):
        return query_int(request, self.page_query_param, 1, maximum=MAX_PAGE)

    def get_schema_operation_parameters(self, view):
        return page_parameters()


class PageWindow:
    """One page of a list that another database counts and slices."""

    def __init__(self, request, *, default_size: int | None = None):
        self.request = request
        self.page_size = query_int(request, "page_size", default_size or settings.REST_FRAMEWORK["PAGE_SIZE"],
                                   maximum=MAX_PAGE_SIZE)
        self.page = query_int(request, "page", 1, maximum=MAX_PAGE)

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
