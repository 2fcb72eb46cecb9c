"""The "new pipeline from this file" form: the pipeline's name, its target table, the NULL markers, and per
column its type and rules, each proposed from the file's profile (pipelines/profiling.py)."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from pipelines.config_schema import DATA_TYPES, DATE_TYPES, NUMERIC_TYPES, date_bound
from pipelines.from_upload import ColumnChoice, pipeline_name_errors, target_table_errors
from pipelines.profiling import ALLOWED_VALUES_MAX, ColumnProfile, FileProfile

TYPE_LABELS = {
    "string": gettext_lazy("text"), "integer": gettext_lazy("whole number"), "float": gettext_lazy("number"),
    "decimal": gettext_lazy("decimal (exact)"), "date": gettext_lazy("date"),
    "datetime": gettext_lazy("date and time"), "boolean": gettext_lazy("yes / no"),
}
TYPE_CHOICES = [(name, TYPE_LABELS[name]) for name in ("string", "integer", "float", "decimal", "date", "datetime",
                                                       "boolean") if name in DATA_TYPES]
ALLOWED_VALUES_LIMIT = 1000


class NewPipelineForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Pipeline name"), max_length=255)
    target_table = forms.CharField(
        label=gettext_lazy("Target table (ClickHouse)"), max_length=63,
        help_text=gettext_lazy("Lower-case letters, digits and underscores."))
    null_values = forms.CharField(
        label=gettext_lazy("Read as NULL"), required=False, max_length=1000,
        help_text=gettext_lazy("Values that mean \"no value\", separated by commas. An empty field is NULL anyway."))

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        problems = pipeline_name_errors(name)
        if problems:
            raise ValidationError(problems)
        return name

    def clean_target_table(self) -> str:
        table = self.cleaned_data["target_table"].strip()
        problems = target_table_errors(table)
        if problems:
            raise ValidationError(problems)
        return table

    def clean_null_values(self) -> list[str]:
        return [value.strip() for value in self.cleaned_data["null_values"].split(",") if value.strip()]


class ColumnForm(forms.Form):
    """One column. `column` (its profile) is set by ColumnFormSet; the data carries only the choices."""

    type_name = forms.ChoiceField(label=gettext_lazy("Type"), choices=TYPE_CHOICES)
    required = forms.BooleanField(label=gettext_lazy("Required"), required=False)
    unique = forms.BooleanField(label=gettext_lazy("Unique"), required=False)
    minimum = forms.CharField(label=gettext_lazy("Minimum"), required=False, max_length=40)
    maximum = forms.CharField(label=gettext_lazy("Maximum"), required=False, max_length=40)
    allowed_values = forms.CharField(
        label=gettext_lazy("Allowed values"), required=False, widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy("One value per line; empty: any value."))

    column: ColumnProfile

    def label_for(self, column: ColumnProfile) -> None:
        """Name every field after its column, for people and screen readers (there is a row per column)."""
        self.column = column
        for key, field in self.fields.items():
            field.widget.attrs["aria-label"] = _("%(what)s of %(column)s") % {"what": field.label,
                                                                             "column": column.file_name}
            field.widget.attrs.setdefault("class", f"column-{key}")

    def _bound(self, key: str, type_name: str):
        text = (self.cleaned_data.get(key) or "").strip()
        if not text:
            return None
        if type_name in NUMERIC_TYPES:
            try:
                number = float(text.replace(",", "."))
            except ValueError:
                self.add_error(key, _("Type a number, e.g. 0 or 12.5."))
                return None
            return int(number) if type_name == "integer" and number.is_integer() else number
        if type_name in DATE_TYPES:
            if date_bound(text, type_name) is None:
                self.add_error(key, _("Type a date as YYYY-MM-DD.") if type_name == "date"
                               else _("Type a date and time as YYYY-MM-DD HH:MM:SS."))
                return None
            return text
        self.add_error(key, _("A range applies to numbers and dates; this column is %(type)s.")
                       % {"type": TYPE_LABELS[type_name]})
        return None

    def clean(self):
        cleaned = super().clean()
        type_name = cleaned.get("type_name")
        if not type_name:
            return cleaned
        cleaned["min_value"] = self._bound("minimum", type_name)
        cleaned["max_value"] = self._bound("maximum", type_name)
        low, high = cleaned["min_value"], cleaned["max_value"]
        if low is not None and high is not None and _ordered(low, type_name) > _ordered(high, type_name):
            self.add_error("maximum", _("The maximum is below the minimum."))
        values = [line.strip() for line in (cleaned.get("allowed_values") or "").splitlines() if line.strip()]
        if values and type_name not in ("string", "integer"):
            self.add_error("allowed_values", _("Allowed values apply to text and whole numbers; this column is "
                                               "%(type)s.") % {"type": TYPE_LABELS[type_name]})
        elif type_name == "integer" and not all(_is_integer(v) for v in values):
            self.add_error("allowed_values", _("Every allowed value of a whole-number column is a whole number."))
        elif len(values) > ALLOWED_VALUES_LIMIT:
            self.add_error("allowed_values", _("At most %(n)d allowed values.") % {"n": ALLOWED_VALUES_LIMIT})
        else:
            cleaned["values"] = [int(v) for v in values] if type_name == "integer" else list(dict.fromkeys(values))
        return cleaned

    def choice(self) -> ColumnChoice:
        data = self.cleaned_data
        return ColumnChoice(name=self.column.name, type_name=data["type_name"], required=data["required"],
                            unique=data["unique"], minimum=data["min_value"], maximum=data["max_value"],
                            allowed_values=tuple(data.get("values") or ()))


def _is_integer(text: str) -> bool:
    return text.lstrip("+-").isdigit()


def _ordered(value, type_name: str):
    return date_bound(value, type_name) if type_name in DATE_TYPES else value


class BaseColumnFormSet(forms.BaseFormSet):
    def clean(self):
        if any(self.errors):
            return
        if self.total_form_count() != len(self.profile.columns):
            raise ValidationError(_("The form does not match the file's columns; open the file's page again."))


ColumnFormSet = forms.formset_factory(ColumnForm, formset=BaseColumnFormSet, extra=0)


def column_initial(column: ColumnProfile) -> dict:
    def shown(value):
        return "" if value is None else str(value)

    return {"type_name": column.type_name, "required": column.propose_required, "unique": column.propose_unique,
            "minimum": shown(column.proposed_min), "maximum": shown(column.proposed_max),
            "allowed_values": "\n".join(str(v) for v in column.proposed_allowed_values)}


def column_formset(profile: FileProfile, data=None) -> BaseColumnFormSet:
    """The columns' forms, proposals as initial values (ignored once `data` is posted)."""
    count = len(profile.columns)
    formset = ColumnFormSet(data, prefix="columns", initial=[column_initial(c) for c in profile.columns])
    formset.profile = profile
    formset.min_num = formset.max_num = count
    for form, column in zip(formset.forms, profile.columns, strict=False):
        form.label_for(column)
    return formset


__all__ = ["ALLOWED_VALUES_MAX", "ColumnForm", "NewPipelineForm", "column_formset"]
