"""The words of the admin's configuration editor (JSON Editor, static/vendor/json-editor) through Django's
translation, so its buttons and messages are in the page's language: static/site/config_editor.js registers
this table as JSONEditor.defaults.languages[<language>]. The keys are JSON Editor 2.17.2's own (its "en" table);
a key left out falls back to its English. "{{0}}" and "{{1}}" are JSON Editor's placeholders.
"""

from __future__ import annotations

from django.utils.translation import gettext as _


def editor_texts() -> dict[str, str]:
    return {
        # buttons and their titles
        "button_save": _("Save"),
        "button_copy": _("Copy"),
        "button_cancel": _("Cancel"),
        "button_add": _("Add"),
        "button_delete_all": _("All"),
        "button_delete_all_title": _("Delete all"),
        "button_delete_last": _("Last {{0}}"),
        "button_delete_last_title": _("Delete last {{0}}"),
        "button_add_row_title": _("Add {{0}}"),
        "button_move_down_title": _("Move down"),
        "button_move_up_title": _("Move up"),
        "button_properties": _("Properties"),
        "button_object_properties": _("Object properties"),
        "button_copy_row_title": _("Copy {{0}}"),
        "button_delete_row_title": _("Delete {{0}}"),
        "button_delete_row_title_short": _("Delete"),
        "button_copy_row_title_short": _("Copy"),
        "button_collapse": _("Collapse"),
        "button_expand": _("Expand"),
        "button_edit_json": _("Edit JSON"),
        "button_delete_node_warning": _("Are you sure you want to remove this item?"),
        "default_array_item_title": _("item"),
        "table_controls": _("Controls"),
        "paste_max_length_reached": _("Pasted text exceeded maximum length of {{0}} and will be clipped."),
        # messages on a field
        "error_notset": _("Property must be set"),
        "error_notempty": _("Value required"),
        "error_enum": _("Value must be one of the listed values"),
        "error_const": _("Value must be the constant value"),
        "error_anyOf": _("Value must match at least one of the allowed forms"),
        "error_oneOf": _("Value must match exactly one of the allowed forms; it matches {{0}}."),
        "error_not": _("Value must not match the excluded form"),
        "error_type_union": _("Value must be one of the allowed types"),
        "error_type": _("Value must be of type {{0}}"),
        "error_disallow_union": _("Value must not be one of the disallowed types"),
        "error_disallow": _("Value must not be of type {{0}}"),
        "error_multipleOf": _("Value must be a multiple of {{0}}"),
        "error_maximum_excl": _("Value must be less than {{0}}"),
        "error_maximum_incl": _("Value must be at most {{0}}"),
        "error_minimum_excl": _("Value must be greater than {{0}}"),
        "error_minimum_incl": _("Value must be at least {{0}}"),
        "error_maxLength": _("Value must be at most {{0}} characters long"),
        "error_minLength": _("Value must be at least {{0}} characters long"),
        "error_pattern": _("Value must match the pattern {{0}}"),
        "error_additionalItems": _("No additional items allowed in this list"),
        "error_maxItems": _("Value must have at most {{0}} items"),
        "error_minItems": _("Value must have at least {{0}} items"),
        "error_uniqueItems": _("The list must not repeat an item"),
        "error_maxProperties": _("Object must have at most {{0}} properties"),
        "error_minProperties": _("Object must have at least {{0}} properties"),
        "error_required": _("Object is missing the required property '{{0}}'"),
        "error_additional_properties": _("No additional properties allowed, but property {{0}} is set"),
        "error_dependency": _("Must have property {{0}}"),
        "error_date": _("Date must be in the format {{0}}"),
        "error_time": _("Time must be in the format {{0}}"),
        "error_datetime_local": _("Datetime must be in the format {{0}}"),
    }
