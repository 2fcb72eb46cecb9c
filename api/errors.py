"""One error format for every API failure, field-level messages included:

    {"error": {"code": "validation_error", "message": "...", "fields": {"name": ["..."]}}}

`exception_handler` is DRF's EXCEPTION_HANDLER. Django's own ValidationError (model validators, services)
becomes a 400 like a serializer's; an unexpected exception is logged with its traceback and answered with
a 500 in the same format, never an HTML page or a traceback. Messages are translated into the request's
language (Accept-Language, through LocaleMiddleware).
"""

from __future__ import annotations

import logging

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.utils.translation import gettext as _
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from analytics.clickhouse import ClickHouseError

logger = logging.getLogger(__name__)


class Conflict(exceptions.APIException):
    """The request is valid but the resource's state does not allow it (a finished run cancelled...)."""

    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"


class ServiceUnavailable(exceptions.APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_code = "service_unavailable"


def django_errors(exc: DjangoValidationError) -> dict | list:
    """A Django ValidationError as DRF's detail: {field: [messages]} or [messages]."""
    if hasattr(exc, "error_dict"):
        return {("non_field_errors" if field == "__all__" else field): messages
                for field, messages in exc.message_dict.items()}
    return list(exc.messages)


def _first_message(detail) -> str:
    if isinstance(detail, dict):
        for value in detail.values():
            return _first_message(value)
        return ""
    if isinstance(detail, list):
        return _first_message(detail[0]) if detail else ""
    return str(detail)


def _plain(detail):
    """ErrorDetail objects as plain strings, nested dicts and lists kept."""
    if isinstance(detail, dict):
        return {str(key): _plain(value) for key, value in detail.items()}
    if isinstance(detail, list):
        return [_plain(item) for item in detail]
    return str(detail)


def error_body(code: str, message: str, fields: dict | None = None) -> dict:
    return {"error": {"code": code, "message": message, "fields": fields or {}}}


def _validation_body(detail) -> dict:
    fields = _plain(detail) if isinstance(detail, dict) else {"non_field_errors": _plain(detail)}
    message = _first_message(detail) or _("Invalid input.")
    if len(fields) > 1 or next(iter(fields), "non_field_errors") != "non_field_errors":
        message = _("Some fields are not valid: %(fields)s.") % {"fields": ", ".join(sorted(fields))}
    return error_body("validation_error", message, fields)


def exception_handler(exc, context):
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(django_errors(exc))
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, ClickHouseError):
        logger.warning("ClickHouse failed during an API request: %s", exc)
        exc = ServiceUnavailable(_("The analytics database is not available: %(error)s") % {"error": exc})

    response = drf_exception_handler(exc, context)
    if response is None:
        view = context.get("view")
        logger.exception("Unhandled error in API view %s", type(view).__name__ if view else "?", exc_info=exc)
        return Response(error_body("server_error", _("An unexpected error occurred; it has been logged.")),
                        status=status.HTTP_500_INTERNAL_SERVER_ERROR)

    if isinstance(exc, exceptions.ValidationError):
        response.data = _validation_body(exc.detail)
    else:
        detail = exc.detail if isinstance(exc, exceptions.APIException) else str(exc)
        codes = exc.get_codes() if isinstance(exc, exceptions.APIException) else "error"
        code = codes if isinstance(codes, str) else getattr(exc, "default_code", "error")
        response.data = error_body(code, _first_message(detail))
    return response


def _is_api(request) -> bool:
    return request.path.startswith("/api/")


def page_not_found(request, exception=None):
    """handler404: JSON in the API's format under /api/, Django's page elsewhere."""
    from django.http import JsonResponse
    from django.views import defaults

    if _is_api(request):
        return JsonResponse(error_body("not_found", _("Not found.")), status=404)
    return defaults.page_not_found(request, exception)


def server_error(request):
    """handler500: a failure outside DRF's views (middleware, URL resolving) still answers JSON under /api/."""
    from django.http import JsonResponse
    from django.views import defaults

    if _is_api(request):
        return JsonResponse(error_body("server_error", _("An unexpected error occurred; it has been logged.")),
                        status=500)
    return defaults.server_error(request)
