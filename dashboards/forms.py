"""Forms of the lineage and catalog pages (the dashboards' filters are in dashboards.filters)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from analytics.labels import SENSITIVITY_LABELS
from dashboards.catalog_search import SENSITIVITY_LEVELS
from pipelines.models import Pipeline

LEVEL_CHOICES = [(level, SENSITIVITY_LABELS.get(level, level)) for level in SENSITIVITY_LEVELS]
STATE_CHOICES = [("none", _("none")), ("suggested", _("suggested")), ("confirmed", _("confirmed")),
                 ("rejected", _("rejected"))]


class LineageFilterForm(forms.Form):
    pipeline = forms.ModelChoiceField(
        label=_("Pipeline"), queryset=Pipeline.objects.order_by("name"), required=False, empty_label=_("All"),
        error_messages={"invalid_choice": _("There is no such pipeline; choose one from the list.")})
    run = forms.IntegerField(label=_("Run"), required=False, min_value=1,
                             error_messages={"invalid": _("A run is given by its number, e.g. 42.")})


class CatalogSearchForm(forms.Form):
    name = forms.CharField(label=_("Table or column"), required=False, max_length=255)
    tag = forms.CharField(label=_("Tag"), required=False, max_length=100)
    owner = forms.CharField(label=_("Owner"), required=False, max_length=255)
    sensitivity = forms.ChoiceField(label=_("Sensitivity"), required=False,
                                    choices=[("", _("Any"))] + LEVEL_CHOICES)
    state = forms.ChoiceField(label=_("Personal data"), required=False, choices=[("", _("Any"))] + STATE_CHOICES)


class CatalogEditForm(forms.Form):
    schema_name = forms.CharField(required=False, max_length=255, widget=forms.HiddenInput)
    table_name = forms.CharField(max_length=255, widget=forms.HiddenInput)
    column_name = forms.CharField(max_length=255, widget=forms.HiddenInput)
    description = forms.CharField(label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    business_meaning = forms.CharField(label=_("Business meaning"), required=False,
                                       widget=forms.Textarea(attrs={"rows": 2}))
    owner = forms.CharField(label=_("Owner"), required=False, max_length=255)
    tags = forms.CharField(label=_("Tags"), required=False, max_length=1000,
                           help_text=_("Separated by commas."))
    sensitivity_level = forms.ChoiceField(label=_("Sensitivity"), choices=LEVEL_CHOICES)
    decision = forms.ChoiceField(
        label=_("Personal data"), required=False,
        choices=[("", _("No decision")), ("confirmed", _("Confirm: the column holds personal data")),
                 ("rejected", _("Reject: it does not"))])

    def clean_tags(self) -> list[str]:
        tags = [t.strip() for t in self.cleaned_data["tags"].split(",")]
        return list(dict.fromkeys(t for t in tags if t))

    def changes(self) -> dict:
        """The fields for `catalog_edit`."""
        data = self.cleaned_data
        fields = {key: data[key] for key in ("description", "business_meaning", "owner", "tags",
                                             "sensitivity_level")}
        if data.get("decision"):
            fields["sensitivity_state"] = data["decision"]
        return fields
