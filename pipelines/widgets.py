"""Admin form fields of a pipeline without raw JSON: tags as chips over a comma-separated line
(static/site/tags_input.js), the configuration in a schema-driven editor (JSON Editor, vendored under
static/vendor/json-editor) over the JSON textarea.

Without JavaScript the textarea stays and is what is posted; with it, the editor replaces it on screen and
writes the JSON back into it on every change, so the server reads the same field either way and its checks
(pipelines.validators) decide, their messages shown on the field.
"""

from __future__ import annotations

import json

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from pipelines.json_editor_texts import editor_texts

MAX_TAG_LENGTH = 50


MAX_SUGGESTED_TAGS = 500


def pipeline_tags_in_use() -> list[str]:
    """Every tag a live pipeline carries, alphabetically: what the tag input suggests."""
    from pipelines.models import Pipeline

    in_use: set[str] = set()
    for tags in Pipeline.objects.exclude(tags=[]).values_list("tags", flat=True):
        if isinstance(tags, list):  # the model's validator says so; an old row that is not a list is skipped
            in_use.update(tag for tag in tags if isinstance(tag, str))
    return sorted(in_use, key=str.casefold)[:MAX_SUGGESTED_TAGS]


class TagsInput(forms.TextInput):
    """The comma-separated line, shown as chips when scripts run: a typed tag becomes a chip on Enter (or a
    comma), × removes one, tags already in use are suggested (a <datalist>). The line stays the field that is
    posted, so the stored value and the server's checks are the same with or without the script."""

    template_name = "pipelines/widgets/tags_input.html"

    def __init__(self, suggestions=pipeline_tags_in_use, attrs=None):
        super().__init__(attrs={"class": "vTextField tags-input", "autocomplete": "off", **(attrs or {})})
        self.suggestions = suggestions  # called per render: the tags in use now

    class Media:
        css = {"all": ("site/tags_input.css",)}
        js = ("site/tags_input.js",)

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        context["widget"]["suggestions"] = self.suggestions() if self.suggestions else []
        context["widget"]["suggestions_id"] = f"{context['widget']['attrs'].get('id', name)}-suggestions"
        return context


class TagsField(forms.CharField):
    """A JSON list of tags, typed as "sales, monthly" (or as chips, TagsInput): order kept, blanks and repeats
    dropped."""

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("help_text", _("Type a tag and press Enter (or separate tags with commas, e.g. sales, "
                                         "monthly); × removes a tag."))
        kwargs.setdefault("widget", TagsInput())
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
        element_id = context["widget"]["attrs"].get("id", name)
        context["widget"].update(schema=self.schema_factory(), schema_id=f"{element_id}-schema",
                                 language=get_language() or "en", texts=editor_texts(),
                                 texts_id=f"{element_id}-editor-texts")
        return context
