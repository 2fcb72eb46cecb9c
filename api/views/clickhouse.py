"""ClickHouse data: quality metrics, business metrics, lineage, the catalog (editable fields) and the audit
log (superusers only). Filters, ordering and pagination run in ClickHouse (analytics.listing)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

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
from analytics.masking import DimensionMasker
from api.pagination import PageWindow, page_openapi_parameters, paginated_schema
from api.permissions import ClickHousePermissions, SuperuserOnly
from staging.masking import run_target_table

# ClickHouse's DateTime64 and Date32 hold the years 1900-2299. A bound outside them asks for rows before 1900
# or after 2299, which cannot exist: it is moved to the edge of the range (an empty page), not refused.
FIRST_YEAR, LAST_YEAR = 1900, 2299
FIRST_DAY, LAST_DAY = date(FIRST_YEAR, 1, 1), date(LAST_YEAR, 12, 31)
FIRST_INSTANT = datetime(FIRST_YEAR, 1, 1, tzinfo=UTC)
LAST_INSTANT = datetime(LAST_YEAR, 12, 31, 23, 59, 59, 999000, tzinfo=UTC)


class ClampedDateField(serializers.DateField):
    def to_internal_value(self, value):
        return min(max(super().to_internal_value(value), FIRST_DAY), LAST_DAY)


class ClampedDateTimeField(serializers.DateTimeField):
    def to_internal_value(self, value):
        value = super().to_internal_value(value)
        try:
            value = value.astimezone(UTC)  # as it is bound (analytics.listing)
        except OverflowError:  # an offset pushes it past year 1 or 9999
            return FIRST_INSTANT if value.year < FIRST_YEAR else LAST_INSTANT
        return min(max(value, FIRST_INSTANT), LAST_INSTANT)


class WholeNumberField(serializers.IntegerField):
    """Digits only (DRF's IntegerField also took "1.0")."""

    def to_internal_value(self, data):
        if not (isinstance(data, str) and data.lstrip("-").isdecimal() and data.isascii()):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictBooleanField(serializers.Field):
    """`true` or `false`, as the schema's boolean is written in a query string (DRF's also took yes, on, 1...)."""

    default_error_messages = {"invalid": _("Use true or false.")}

    def to_internal_value(self, data):
        if data not in ("true", "false"):
            self.fail("invalid")
        return data == "true"


# Parsers of the filter values by their ClickHouse type: the request's text becomes a typed, bound value.
_FIELDS = {
    "String": lambda: serializers.CharField(required=False, max_length=1000, trim_whitespace=False),
    "UInt64": lambda: WholeNumberField(required=False, min_value=0, max_value=2**63 - 1),
    "Int64": lambda: WholeNumberField(required=False, min_value=-(2**63), max_value=2**63 - 1),
    "Bool": lambda: StrictBooleanField(required=False),
    "Date32": lambda: ClampedDateField(required=False),
}
_SCHEMAS = {"String": {"type": "string", "maxLength": 1000},
            "UInt64": {"type": "integer", "minimum": 0, "maximum": 2**63 - 1},
            "Int64": {"type": "integer", "minimum": -(2**63), "maximum": 2**63 - 1},
            "Bool": {"type": "boolean"}, "Date32": {"type": "string", "format": "date"}}


def _field(ch_type: str) -> serializers.Field:
    factory = _FIELDS.get(ch_type)
    return factory() if factory else ClampedDateTimeField(required=False)


def _schema(ch_type: str) -> dict:
    return _SCHEMAS.get(ch_type, {"type": "string", "format": "date-time"})


def ordering_pattern(fields) -> str:
    """The regular expression `parse_ordering` accepts: one or more fields, each optionally with '-'."""
    one = "-?(" + "|".join(fields) + ")"
    return f"^{one}(,{one})*$"


def listing_parameters(spec: listing.Listing) -> list[OpenApiParameter]:
    ordering = ", ".join(spec.ordering)
    return [
        *(OpenApiParameter(name, _schema(f.type)) for name, f in spec.filters.items()),
        OpenApiParameter("ordering", {"type": "string", "pattern": ordering_pattern(spec.ordering)},
                         description=f"Comma-separated, no spaces; '-' for descending. One or more of: {ordering}."),
        *page_openapi_parameters(),
    ]


def parse_filters(spec: listing.Listing, query_params) -> dict:
    """The filter values, typed; a filter given empty is not applied, one given twice is refused."""
    repeated = [name for name in spec.filters if len(query_params.getlist(name)) > 1]
    if repeated:
        raise ValidationError({name: [_("Give this parameter once.")] for name in repeated})
    fields = {name: _field(f.type) for name, f in spec.filters.items()}
    form = type("Filters", (serializers.Serializer,), fields)(
        data={name: query_params.get(name) for name in spec.filters if query_params.get(name)})
    form.is_valid(raise_exception=True)
    return {name: form.validated_data.get(name) for name in spec.filters}


def parse_ordering(spec: listing.Listing, query_params) -> list[str] | None:
    values = query_params.getlist("ordering")
    if not values or values == [""]:
        return None
    if len(values) > 1 or not re.fullmatch(ordering_pattern(spec.ordering), values[0]):
        raise ValidationError({"ordering": [_("Order by one or more of %(allowed)s, separated by commas, each "
                                              "optionally with '-' for descending.")
                                            % {"allowed": ", ".join(spec.ordering)}]})
    return values[0].split(",")


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
            ordering=parse_ordering(spec, request.query_params),
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


def _present_business_metrics(self, rows: list[dict]) -> list[dict]:
    # Dimension values are values of the run's target table: masked as its sensitive columns are.
    return DimensionMasker(self.request.user, target_table_of=run_target_table).records(rows)


BusinessMetricsView = _listing_view(listing.BUSINESS_METRICS, "Business metrics", present=_present_business_metrics)
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
