"""Dashboards, lineage and catalog pages: thin views over the query services of this app.

Every page needs a login (the admin's login page) and a model permission: reading the dashboards and the
lineage needs ``pipelines.view_pipelinerun``, the catalog ``dashboards.view_catalogentry``, editing it
``dashboards.change_catalogentry``. A bad filter is a form error on the page (status 400); ClickHouse being
unavailable is a message on the page (status 503); neither is a 500.
"""

from __future__ import annotations

from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from analytics.catalog import CatalogError, catalog_edit
from analytics.clickhouse import ClickHouseError, get_target
from analytics.queries.health import query_log_slowest
from dashboards import business, health, quality, runs
from dashboards.catalog_search import catalog_entry, catalog_search
from dashboards.charts import bucket_note, chart
from dashboards.filters import filters_from_request
from dashboards.forms import CatalogEditForm, CatalogSearchForm, LineageFilterForm
from dashboards.lineage import column_label, lineage_edges, lineage_graph, lineage_labels, lineage_run_id
from dashboards.metrics_text import metric_label, metric_value
from dashboards.shown_times import times_shown
from dashboards.timings import timings_slowest, timings_summary
from pipelines.models import Alert, AlertStatus, PipelineRun

VIEW_RUNS = "pipelines.view_pipelinerun"
# The null-rate chart's bars (highest first); the table under it lists every column.
NULL_CHART_COLUMNS = 40
GRANULARITY_LABELS = {"day": gettext_lazy("By day"), "week": gettext_lazy("By week"),
                      "month": gettext_lazy("By month")}
VIEW_CATALOG = "dashboards.view_catalogentry"
CHANGE_CATALOG = "dashboards.change_catalogentry"


def page(permission: str):
    """Login (redirect to the admin's login page), then the permission (403 without it)."""
    def decorator(view):
        guarded = permission_required(permission, raise_exception=True)(view)
        return wraps(view)(login_required(guarded, login_url=reverse_lazy("admin:login")))
    return decorator


def _render(request, template: str, context: dict, *, status: int = 200):
    return render(request, f"dashboards/{template}", context, status=status)


def _unavailable(request, template: str, context: dict, exc: ClickHouseError):
    context["error"] = _("ClickHouse could not answer: %(error)s") % {"error": exc}
    return _render(request, template, context, status=503)


@require_GET
@page(VIEW_RUNS)
def quality_dashboard(request):
    form, filters = filters_from_request(request)
    context = {"form": form, "section": "quality"}
    if filters is None:
        return _render(request, "quality.html", context, status=400)
    try:
        days, (nulls, null_total), failed = quality.page_reads(filters)
        context.update(totals=quality.quality_totals(days), failed=failed, nulls=nulls)
    except ClickHouseError as exc:
        return _unavailable(request, "quality.html", context, exc)
    alerts = Alert.objects.filter(status=AlertStatus.OPEN).select_related("pipeline").order_by("-opened_at")
    if filters.pipeline is not None:
        alerts = alerts.filter(pipeline=filters.pipeline)
    context.update(
        filters=filters, days=days, alerts=list(alerts[:50]),
        pass_rate_chart=chart("line", [d["day"] for d in days], [(_("Pass rate"), [d["pass_rate"] for d in days])],
                              percent=True) if days else None,
        null_chart=chart("bar", [f"{n['table_name']}.{n['column_name']}" for n in nulls[:NULL_CHART_COLUMNS]],
                         [(_("Null rate"), [n["null_rate"] for n in nulls[:NULL_CHART_COLUMNS]])], percent=True,
                         horizontal=True, total=null_total) if nulls else None,
    )
    for row in context["failed"]:
        row["label"] = metric_label(row["metric_name"])
        row["value_text"] = metric_value(row["metric_name"], row["metric_value"])
    times_shown(context["failed"], "created_at", "created_at_text")
    times_shown(nulls, "measured_at", "measured_at_text")
    return _render(request, "quality.html", context)


@require_GET
@page(VIEW_RUNS)
def business_dashboard(request):
    form, filters = filters_from_request(request, with_table=False, all_dates=True)
    context = {"form": form, "section": "business"}
    if filters is None:
        return _render(request, "business.html", context, status=400)
    try:
        return _business_page(request, context, filters)
    except ClickHouseError as exc:
        return _unavailable(request, "business.html", context, exc)


def _business_page(request, context, filters):
    summary = business.summary(filters)
    definitions = business.metric_definitions(filters)
    for row in summary:
        row["label"] = business.metric_label(definitions.get((row["metric_category"], row["metric_name"])),
                                             row["metric_name"])
    context.update(filters=filters, summary=summary)
    keys = [(r["metric_category"], r["metric_name"]) for r in summary]
    asked = (request.GET.get("category", ""), request.GET.get("metric", ""))
    if asked != ("", "") and asked not in keys:
        context["metric_error"] = _("There is no metric %(name)s in %(category)s for these filters.") % {
            "name": asked[1], "category": asked[0]}
        return _render(request, "business.html", context, status=400)
    selected = asked if asked in keys else (keys[0] if keys else None)
    if selected:
        definition = definitions.get(selected) or {}
        name = business.metric_label(definition, selected[1])
        extent = business.series_extent(filters, *selected)
        granularity = business.granularity_for(extent, request.GET.get("granularity", ""))
        total = extent.get(granularity, 0)
        offset = _offset(request, total)
        points = business.series(filters, *selected, granularity=granularity, offset=offset,
                                 aggregation=definition.get("aggregation", ""))
        hidden = business.hidden_dimensions(request.user, filters, *selected)
        parts = business.breakdown(filters, *selected, hidden=hidden)
        unit = points[0]["unit"] if points else ""
        label = f"{name} ({unit})" if unit else name
        context.update(
            selected=selected, selected_label=name, series=points, breakdown=parts, granularity=granularity,
            series_chart=chart("line", [p["day"] for p in points], [(label, [p["value"] for p in points])],
                               total=total, first=offset + 1) if points else None,
            series_bucket_note=bucket_note(granularity),
            granularity_links=[
                {"value": g, "label": GRANULARITY_LABELS[g], "points": extent.get(g, 0), "current": g == granularity,
                 "url": "?" + urlencode({**_filter_query(request), "category": selected[0], "metric": selected[1],
                                         "granularity": g})} for g in business.GRANULARITIES],
            series_pages=_pages(request, selected, granularity, offset, total),
            breakdown_chart=chart("bar", [p["dimension"] for p in parts], [(label, [p["value"] for p in parts])],
                                  horizontal=True, total=business.breakdown_count(filters, *selected, hidden=hidden)
                                  if len(parts) >= business.MAX_DIMENSIONS else None) if parts else None)
    context["metric_links"] = [
        {"category": c, "name": n, "url": "?" + urlencode({**_filter_query(request), "category": c, "metric": n})}
        for c, n in keys]
    return _render(request, "business.html", context)


def _offset(request, total: int) -> int:
    """The first point of the page of a series asked for (`offset`), within the series."""
    value = request.GET.get("offset", "")
    offset = int(value) if value.isdigit() else 0
    return min(offset, max(0, total - 1)) // business.MAX_DAYS * business.MAX_DAYS


def _pages(request, selected, granularity: str, offset: int, total: int) -> dict:
    """Links to the earlier and later points of a series longer than one chart."""
    def link(to: int) -> str:
        return "?" + urlencode({**_filter_query(request), "category": selected[0], "metric": selected[1],
                                "granularity": granularity, "offset": to})
    return {"previous": link(max(0, offset - business.MAX_DAYS)) if offset > 0 else "",
            "next": link(offset + business.MAX_DAYS) if offset + business.MAX_DAYS < total else ""}


def _filter_query(request) -> dict:
    return {k: v for k, v in request.GET.items() if k in ("pipeline", "table", "period") and v}


@require_GET
@page(VIEW_RUNS)
def runs_dashboard(request):
    form, filters = filters_from_request(request, with_table=False)
    context = {"form": form, "section": "runs"}
    if filters is None:
        return _render(request, "runs.html", context, status=400)
    days = runs.records_by_day(filters)
    context.update(
        filters=filters, totals=runs.run_totals(filters), durations=runs.duration_percentiles(filters), days=days,
        latest=runs.latest_runs(filters), failures=runs.failures(filters),
        records_chart=chart("bar", [d["day"] for d in days],
                            [(_("Records processed"), [d["processed"] or 0 for d in days]),
                             (_("Records failed"), [d["failed"] or 0 for d in days])]) if days else None,
        success_chart=chart("line", [d["day"] for d in days],
                            [(_("Successful runs"), [d["succeeded"] for d in days]),
                             (_("Runs"), [d["runs"] for d in days])]) if days else None,
    )
    return _render(request, "runs.html", context)


@require_GET
@page(VIEW_RUNS)
def health_dashboard(request):
    context = {"section": "health",
               "databases": [
                   {"name": _("Metadata (%(vendor)s)") % {"vendor": "PostgreSQL"},
                    "bytes": health.relational_size("default")},
                   {"name": _("Staging (%(vendor)s)") % {"vendor": "PostgreSQL"},
                    "bytes": health.relational_size("staging")}],
               "staging_tables": health.staging_tables()}
    try:
        target = get_target()
        context["databases"].append({"name": _("Target (ClickHouse: %(where)s)") % {"where": target.describe()},
                                     "bytes": health.clickhouse_size()})
        context["clickhouse_tables"] = health.clickhouse_tables()
        context["query_log"] = query_log_slowest()
    except ClickHouseError as exc:
        context["error"] = _("ClickHouse could not answer: %(error)s") % {"error": exc}
    tables = context.get("clickhouse_tables") or []
    context.update(
        timings=timings_summary(), slowest=timings_slowest(),
        disk_chart=chart("bar", [d["name"] for d in context["databases"]],
                         [(_("Bytes on disk"), [d["bytes"] or 0 for d in context["databases"]])], horizontal=True),
        tables_chart=chart("bar", [t["table"] for t in tables[:15]],
                           [(_("Bytes on disk"), [t["bytes"] for t in tables[:15]])], horizontal=True,
                           total=len(tables))
        if tables else None)
    return _render(request, "health.html", context, status=503 if "error" in context else 200)


@require_GET
@page(VIEW_RUNS)
def lineage_page(request):
    form = LineageFilterForm(request.GET or None)
    context = {"form": form, "section": "lineage"}
    if request.GET and not form.is_valid():
        return _render(request, "lineage.html", context, status=400)
    data = form.cleaned_data if request.GET else {}
    try:
        run_id = lineage_run_id(run_id=data.get("run"), pipeline=data.get("pipeline"))
        edges = lineage_edges(run_id) if run_id is not None else []
    except ClickHouseError as exc:
        return _unavailable(request, "lineage.html", context, exc)
    headers = (PipelineRun.objects.filter(pk=run_id).values_list("execution_context", flat=True).first() or {}
               ).get("source_headers") if run_id is not None else None
    for edge in edges:
        edge["source_header"] = column_label(edge["source_column"], headers).partition("\n")[2]
        edge["target_header"] = column_label(edge["target_column"], headers).partition("\n")[2]
    context.update(run_id=run_id, edges=edges, graph=lineage_graph(edges, headers=headers) if edges else None,
                   entry_url=reverse("dashboards:catalog-entry"), labels=lineage_labels())
    return _render(request, "lineage.html", context)


@require_GET
@page(VIEW_CATALOG)
def catalog_page(request):
    form = CatalogSearchForm(request.GET or None)
    context = {"form": form, "section": "catalog", "can_edit": request.user.has_perm(CHANGE_CATALOG)}
    if request.GET and not form.is_valid():
        return _render(request, "catalog.html", context, status=400)
    data = form.cleaned_data if request.GET else {}
    try:
        context["entries"] = catalog_search(**{k: data.get(k) or "" for k in ("name", "tag", "owner", "sensitivity",
                                                                             "state")})
    except ClickHouseError as exc:
        return _unavailable(request, "catalog.html", context, exc)
    if context["can_edit"]:
        context["edit_forms"] = [
            CatalogEditForm(initial={**e, "tags": ", ".join(e["tags"]), "schema_name": e["schema_name"]},
                            prefix=f"e{i}") for i, e in enumerate(context["entries"])]
        context["rows"] = list(zip(context["entries"], context["edit_forms"], strict=True))
    else:
        context["rows"] = [(e, None) for e in context["entries"]]
    return _render(request, "catalog.html", context)


@require_POST
@page(CHANGE_CATALOG)
def catalog_edit_view(request):
    prefix = request.POST.get("prefix", "")
    form = CatalogEditForm(request.POST, prefix=prefix or None)
    back = reverse("dashboards:catalog") + ("?" + request.POST["next_query"] if request.POST.get("next_query") else "")
    if not form.is_valid():
        errors = "; ".join(f"{form.fields[f].label or f}: {' '.join(e)}" if f in form.fields else " ".join(e)
                           for f, e in form.errors.items())
        messages.error(request, _("The catalog entry was not saved: %(errors)s") % {"errors": errors})
        return redirect(back)
    data = form.cleaned_data
    try:
        catalog_edit(target=get_target(), schema_name=data["schema_name"], table_name=data["table_name"],
                     column_name=data["column_name"], **form.changes())
    except (CatalogError, ClickHouseError) as exc:
        messages.error(request, _("The catalog entry was not saved: %(errors)s") % {"errors": exc})
        return redirect(back)
    messages.success(request, _("Saved the catalog entry of %(table)s.%(column)s.") % {
        "table": data["table_name"], "column": data["column_name"]})
    return redirect(back)


@require_GET
@page(VIEW_CATALOG)
def catalog_entry_json(request):
    """The catalog entry of a lineage node: a column (table and column) or a table's columns (table only)."""
    table = request.GET.get("table", "")
    if not table:
        return JsonResponse({"error": _("Give the table (and the column) of the entry.")}, status=400)
    try:
        entry = catalog_entry(table_name=table, column_name=request.GET.get("column", ""))
    except ClickHouseError as exc:
        return JsonResponse({"error": str(exc)}, status=503)
    if entry is None:
        # 200, not 404: a source node without an entry is an expected answer, not a failed request
        return JsonResponse({"entry": None, "error": _("%(name)s has no catalog entry (sources outside the "
                                                       "staging and target databases have none).") % {"name": table}})
    return JsonResponse({"entry": entry, "catalog_url": reverse("dashboards:catalog") + "?" +
                         urlencode({"name": table})})
