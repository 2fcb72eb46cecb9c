"""OpenAPI: every operation documents the error format for the errors it can answer with."""

from __future__ import annotations

ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "fields"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "fields": {"type": "object", "additionalProperties": True},
            },
        },
    },
}
ERRORS = {
    "400": "Invalid input; `fields` names each field and what is wrong with it.",
    "401": "Not authenticated.",
    "403": "Authenticated without the permission this needs.",
    "404": "No such object.",
    "405": "Method not allowed.",
    "409": "The object's state does not allow this.",
    "415": "Unsupported media type (uploads are multipart/form-data).",
    "429": "Too many requests; try again later.",
    "500": "Unexpected error (logged on the server).",
    "503": "The analytics database (ClickHouse) is not available.",
}


def add_error_responses(result, generator, request, public):
    """drf-spectacular postprocessing hook: an `Error` component and the error responses of every operation."""
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    ref = {"$ref": "#/components/schemas/Error"}
    for path_item in result.get("paths", {}).values():
        for method, operation in path_item.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            if method == "get":
                # Every list reads an empty query parameter as an absent one (api.filters, api.pagination).
                for parameter in operation.get("parameters", []):
                    if parameter.get("in") == "query" and parameter.get("schema", {}).get("type") != "array":
                        parameter["allowEmptyValue"] = True
            responses = operation.setdefault("responses", {})
            for code, description in ERRORS.items():
                responses.setdefault(code, {"description": description,
                                            "content": {"application/json": {"schema": ref}}})
            responses["429"].setdefault("content", {"application/json": {"schema": ref}})
            responses["429"]["headers"] = {"Retry-After": {
                "description": "Seconds to wait before trying again.", "schema": {"type": "integer"}}}
    return result
