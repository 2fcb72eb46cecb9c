"""ClickHouse data: quality metrics, business metrics, lineage, the catalog (editable fields) and the audit
log (superusers only). Filters, ordering and pagination run in ClickHouse (analytics.listing)."""

from __future__ import annotations

from datetime import UTC, datetime

from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from analytics import listing
from analytics.catalog import CatalogError, catalog_edit
from analytics.clickhouse import get_target
from api.pagination import PageWindow, paginated_schema
from api.permissions import ClickHousePermissions, SuperuserOnly

# ClickHouse's DateTime64 and Date32 hold the years 1900-2299: a bound outside them is a 400, not a failed query.
FIRST_YEAR, LAST_YEAR = 1900, 2299


def _in_clickhouse_range(value):
    if isinstance(value, datetime) and value.tzinfo is not None:
        try:
            value = value.astimezone(UTC)  # as it is bound (analytics.listing)
        except OverflowError:
            value = value.replace(year=1)
    if value is not None and not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise serializers.ValidationError(_("Dates must lie between the years %(first)d and %(last)d.")
                                          % {"first": FIRST_YEAR, "last": LAST_YEAR})


# Parsers of the filter values by their ClickHouse type: the request's text becomes a typed, bound value.
_FIELDS = {
    "String": lambda: serializers.CharField(required=False, allow_blank=True, max_length=1000),
    "UInt64": lambda: serializers.IntegerField(required=False, min_value=0, max_value=2**63 - 1),
    "Int64": lambda: serializers.IntegerField(required=False, min_value=-(2**63), max_value=2**63 - 1),
    "Bool": lambda: serializers.BooleanField(required=False, allow_null=True, default=None),
    "Date32": lambda: serializers.DateField(required=False, validators=[_in_clickhouse_range]),
}
_SCHEMA_TYPES = {"String": OpenApiTypes.STR, "UInt64": OpenApiTypes.INT, "Int64": OpenApiTypes.INT,
                 "Bool": OpenApiTypes.BOOL, "Date32": OpenApiTypes.DATE}


def _field(ch_type: str) -> serializers.Field:
    factory = _FIELDS.get(ch_type)
    return factory() if factory else serializers.DateTimeField(required=False, validators=[_in_clickhouse_range])


def _schema_type(ch_type: str):
    return _SCHEMA_TYPES.get(ch_type, OpenApiTypes.DATETIME)


def listing_parameters(spec: listing.Listing) -> list[OpenApiParameter]:
    ordering = ", ".join(spec.ordering)
    return [
        *(OpenApiParameter(name, _schema_type(f.type)) for name, f in spec.filters.items()),
        OpenApiParameter("ordering", OpenApiTypes.STR,
                         description=f"Comma-separated; '-' for descending. One or more of: {ordering}."),
        OpenApiParameter("page", OpenApiTypes.INT, description="Page number, from 1."),
        OpenApiParameter("page_size", OpenApiTypes.INT, description="Rows per page (at most 500)."),
    ]


def parse_filters(spec: listing.Listing, query_params) -> dict:
    fields = {name: _field(f.type) for name, f in spec.filters.items()}
    form = type("Filters", (serializers.Serializer,), fields)(
        data={name: query_params.get(name) for name in spec.filters if name in query_params})
    form.is_valid(raise_exception=True)
    values = {name: form.validated_data.get(name) for name in spec.filters}
    return {name: (None if value == "" else value) for name, value in values.items()}


def parse_ordering(spec: listing.Listing, raw: str | None) -> list[str] | None:
    if not raw:
        return None
    items = [item.strip() for item in raw.split(",") if item.strip()]
    unknown = [item for item in items if item.lstrip("-") not in spec.ordering]
    if unknown:
        raise ValidationError({"ordering": [_("Cannot order by %(fields)s; use %(allowed)s.")
                                            % {"fields": ", ".join(unknown), "allowed": ", ".join(spec.ordering)}]})
    return items


class ListingView(APIView):
    """GET: one page of a ClickHouse table, filtered and ordered by the query string."""

    listing: listing.Listing
    permission_classes = [ClickHousePermissions]
    read_permissions: list[str] = ["pipelines.view_pipelinerun"]
    write_permissions: list[str] = []
    item_schema: dict = {"type": "object", "additionalProperties": True}

    def get(self, request):
        spec = self.listing
        window = PageWindow(request)
        count, rows = listing.listing_page(
            target=get_target(), listing=spec, filters=parse_filters(spec, request.query_params),
            ordering=parse_ordering(spec, request.query_params.get("ordering")),
            limit=window.limit, offset=window.offset)
        return window.response(count, self.present(rows))

    def present(self, rows: list[dict]) -> list[dict]:
        return rows


def _listing_view(spec: listing.Listing, summary: str, **attrs):
    def get(self, request):  # a function of its own: extend_schema annotates the function it decorates
        return ListingView.get(self, request)

    get = extend_schema(parameters=listing_parameters(spec), responses={200: paginated_schema(ListingView.item_schema)},
                        summary=summary, operation_id=f"{spec.table}_list")(get)
    return type(f"{spec.table.title().replace('_', '')}View", (ListingView,), {"listing": spec, "get": get, **attrs})


QualityMetricsView = _listing_view(listing.QUALITY_METRICS, "Data-quality metrics")
BusinessMetricsView = _listing_view(listing.BUSINESS_METRICS, "Business metrics")
LineageView = _listing_view(listing.LINEAGE, "Column lineage")
# The catalog pages' permissions (dashboards.CatalogEntry), so the API and the pages agree on who may do what.
CATALOG_READ = ["dashboards.view_catalogentry"]
CATALOG_WRITE = ["dashboards.change_catalogentry"]
CatalogListView = _listing_view(listing.CATALOG, "Data catalog", read_permissions=CATALOG_READ)
AuditLogView = _listing_view(listing.AUDIT_LOG, "Audit log (superusers only)", permission_classes=[SuperuserOnly])


class CatalogEditSerializer(serializers.Serializer):
    description = serializers.CharField(required=False, allow_blank=True, max_length=10_000)
    business_meaning = serializers.CharField(required=False, allow_blank=True, max_length=10_000)
    owner = serializers.CharField(required=False, allow_blank=True, max_length=255)
    tags = serializers.ListField(child=serializers.CharField(max_length=255), required=False, max_length=100)
    sensitivity_level = serializers.CharField(required=False, max_length=50)
    sensitivity_state = serializers.ChoiceField(choices=["confirmed", "rejected"], required=False)


class CatalogEntryView(APIView):
    """GET one catalog entry; PATCH its editable fields (description, business meaning, owner, tags,
    sensitivity level, the sensitivity decision). The edit is audited."""

    permission_classes = [ClickHousePermissions]
    read_permissions = CATALOG_READ
    write_permissions = CATALOG_WRITE

    def _entry(self, entry_id: str) -> dict:
        entry = listing.catalog_entry_get(target=get_target(), entry_id=str(entry_id))
        if entry is None:
            raise NotFound(_("No catalog entry %(id)s.") % {"id": entry_id})
        return entry

    @extend_schema(responses={200: OpenApiTypes.OBJECT}, summary="A catalog entry", operation_id="catalog_retrieve")
    def get(self, request, entry_id):
        return Response(self._entry(entry_id))

    @extend_schema(request=CatalogEditSerializer, responses={200: OpenApiTypes.OBJECT},
                   summary="Edit a catalog entry", operation_id="catalog_partial_update")
    def patch(self, request, entry_id):
        entry = self._entry(entry_id)
        form = CatalogEditSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        if not form.validated_data:
            raise ValidationError({"non_field_errors": [_("Send at least one editable field.")]})
        try:
            catalog_edit(target=get_target(), schema_name=entry["schema_name"], table_name=entry["table_name"],
                         column_name=entry["column_name"], **form.validated_data)
        except CatalogError as exc:
            raise ValidationError({"non_field_errors": [str(exc)]}) from exc
        return Response(self._entry(entry_id))
