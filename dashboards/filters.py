"""The dashboards' filters (pipeline, table, period), read from the URL's query string.

Invalid values are form errors the page shows; the queries then do not run (no guessing what was meant).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django import forms
from django.core.validators import RegexValidator
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from pipelines.models import Pipeline
from pipelines.targets import target_table_name

PERIODS = {"1": 1, "7": 7, "30": 30, "90": 90, "365": 365, "all": None}
DEFAULT_PERIOD = "30"
PERIOD_CHOICES = [
    ("1", _("Last 24 hours")),
    ("7", _("Last 7 days")),
    ("30", _("Last 30 days")),
    ("90", _("Last 90 days")),
    ("365", _("Last 365 days")),
]
# Business metrics are dated by their data, which may be far in the past: that page also offers (and starts
# with) all dates; its table is small (a row per metric, day and dimension) and its queries aggregate.
ALL_PERIOD_CHOICES = [*PERIOD_CHOICES, ("all", _("All dates"))]
TABLE_NAME = RegexValidator(r"^[A-Za-z_][A-Za-z0-9_]{0,254}$",
                            _("A table name has letters, digits and underscores, and does not start with a digit."))


class DashboardFilterForm(forms.Form):
    pipeline = forms.ModelChoiceField(
        label=_("Pipeline"), queryset=Pipeline.objects.order_by("name"), required=False, empty_label=_("All"),
        error_messages={"invalid_choice": _("There is no such pipeline; choose one from the list.")})
    table = forms.CharField(label=_("Table"), required=False, max_length=255, validators=[TABLE_NAME])
    period = forms.ChoiceField(
        label=_("Period"), choices=PERIOD_CHOICES, required=False, initial=DEFAULT_PERIOD,
        error_messages={"invalid_choice": _("Unknown period %(value)s; choose one from the list.")})

    def __init__(self, data=None, *, with_table: bool = True, all_dates: bool = False, **kwargs):
        super().__init__(data, **kwargs)
        if not with_table:
            del self.fields["table"]
        if all_dates:
            self.fields["period"].choices = ALL_PERIOD_CHOICES
            self.fields["period"].initial = "all"


@dataclass(frozen=True)
class Filters:
    pipeline: Pipeline | None
    table: str
    days: int | None  # None: all dates
    until: datetime

    @property
    def since(self) -> datetime | None:
        return None if self.days is None else self.until - timedelta(days=self.days)

    @property
    def tables(self) -> list[str] | None:
        """The target tables selected: None for all; the pipeline's target table and/or the table asked for
        (both given and different: none)."""
        if self.pipeline is None:
            return [self.table] if self.table else None
        name = target_table_name(self.pipeline)
        return [name] if not self.table or self.table == name else []


def filters_from_request(request, *, with_table: bool = True,
                         all_dates: bool = False) -> tuple[DashboardFilterForm, Filters | None]:
    """The bound filter form and, when it is valid, the filters (defaults for what is not given)."""
    form = DashboardFilterForm(request.GET or None, with_table=with_table, all_dates=all_dates)
    if request.GET and not form.is_valid():
        return form, None
    data = form.cleaned_data if request.GET else {}
    period = data.get("period") or ("all" if all_dates else DEFAULT_PERIOD)
    return form, Filters(pipeline=data.get("pipeline"), table=data.get("table") or "", days=PERIODS[period],
                         until=timezone.now())
