"""Admin form fields of a pipeline without raw JSON: tags as a comma-separated line, the configuration in a
schema-driven editor (JSON Editor, vendored under static/vendor/json-editor) over the JSON textarea.

Without JavaScript the textarea stays and is what is posted; with it, the editor replaces it on screen and
writes the JSON back into it on every change, so the server reads the same field either way and its checks
(pipelines.validators) decide, their messages shown on the field.
"""

from __future__ import annotations

import json

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

MAX_TAG_LENGTH = 50


class TagsField(forms.CharField):
    """A JSON list of tags, typed as "sales, monthly": order kept, blanks and repeats dropped."""

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("help_text", _("Separate tags with commas, e.g. sales, monthly."))
        kwargs.setdefault("widget", forms.TextInput(attrs={"class": "vTextField tags-input",
                                                           "autocomplete": "off"}))
        super().__init__(**kwargs)

    def prepare_value(self, value):
        if isinstance(value, str):
            try:
                value = json.loads(value)  # a bound form re-rendered: the JSON the model field gave
            except ValueError:
                return value
        if isinstance(value, list):
            return ", ".join(str(tag) for tag in value)
        return "" if value is None else value

    def to_python(self, value):
        text = (super().to_python(value) or "").strip()
        parts = text.split(",")
        if text.startswith("["):  # a JSON list, as the field took before (and the API takes)
            try:
                parts = json.loads(text)
            except ValueError:
                raise ValidationError(_("Separate tags with commas, e.g. sales, monthly."), code="invalid") from None
            if not isinstance(parts, list) or not all(isinstance(tag, str) for tag in parts):
                raise ValidationError(_("Separate tags with commas, e.g. sales, monthly."), code="invalid")
        tags: list[str] = []
        for tag in (part.strip() for part in parts):
            if tag and tag not in tags:
                tags.append(tag)
        return tags

    def validate(self, value):
        super().validate(value)
        too_long = [tag for tag in value if len(tag) > MAX_TAG_LENGTH]
        if too_long:
            raise ValidationError(_("A tag has at most %(max)d characters: %(tag)s"),
                                  params={"max": MAX_TAG_LENGTH, "tag": too_long[0]}, code="tag_too_long")

    def has_changed(self, initial, data):
        return (initial or []) != self.to_python(data)


class JSONSchemaEditor(forms.Textarea):
    """The JSON textarea, plus a JSON Editor driven by `schema` when scripts run (static/site/config_editor.js)."""

    template_name = "pipelines/widgets/json_schema_editor.html"

    def __init__(self, schema_factory, attrs=None):
        super().__init__(attrs={"rows": 12, "cols": 80, "class": "vLargeTextField json-source", **(attrs or {})})
        self.schema_factory = schema_factory  # called per render: the schema's titles follow the language

    class Media:
        css = {"all": ("vendor/json-editor/jsoneditor.css", "vendor/json-editor/theme-html.css",
                       "site/config_editor.css")}
        js = ("vendor/json-editor/jsoneditor.js", "site/config_editor.js")

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        context["widget"]["schema"] = self.schema_factory()
        context["widget"]["schema_id"] = f"{context['widget']['attrs'].get('id', name)}-schema"
        return context
