"""The API connector's connection_config: its keys and defaults, and the problems of a configuration."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from django.utils.translation import gettext as _

KEYS = ("url", "method", "headers", "params", "public_headers", "public_params", "body", "auth", "record_path",
        "pagination", "max_pages", "rate_limit_per_second", "retries", "timeout_seconds")
PAGINATION_KEYS = {
    "none": (),
    "page": ("page_param", "size_param", "page_size", "start_page"),
    "offset": ("offset_param", "limit_param", "page_size"),
    "cursor": ("cursor_param", "cursor_path"),
    "next_link": ("next_link_path",),
}
AUTH_KEYS = {"bearer": ("token",), "basic": ("username", "password"), "header": ("name", "value")}
DEFAULT_MAX_PAGES = 1000
DEFAULT_RETRIES = 3
DEFAULT_TIMEOUT = 30
BACKOFF_SECONDS = 0.5
MAX_BACKOFF_SECONDS = 60.0
MAX_RETRY_AFTER_SECONDS = 300.0  # a longer wait is left to the run's own retries
NOT_RETRIED_5XX = (501, 505)
MAX_PAGE_BYTES = 256 * 1024**2
MAX_REDIRECTS = 5
SNIPPET_CHARS = 200
# A value in the query string of a URL: "?key=VALUE&..." (the name, then the value up to & or #).
QUERY_VALUE = re.compile(r"[?&](?P<name>[^=&#]*)=(?P<value>[^&#]*)")


def _name(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


def positive_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _positive_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0


def _scalar(value: Any) -> bool:
    return isinstance(value, (str, int, float)) and not isinstance(value, bool)


def _path_ok(path: Any) -> bool:
    if isinstance(path, str):
        return bool(path.strip()) and all(path.split("."))
    return isinstance(path, list) and bool(path) and all(_name(step) for step in path)


def _url_errors(url: Any, key: str = "url") -> list[str]:
    if not _name(url):
        return [_("%(key)s is required: the address of the API (https://...).") % {"key": key}]
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return [_("%(key)s must be an http:// or https:// address with a host name.") % {"key": key}]
    return []


def _auth_errors(auth: Any) -> list[str]:
    if auth is None:
        return []
    if not isinstance(auth, dict) or auth.get("type") not in AUTH_KEYS:
        return [_("auth must be an object whose type is one of: %(types)s.") % {"types": ", ".join(AUTH_KEYS)}]
    errors = [_("auth.%(key)s is required for %(type)s authentication.") % {"key": key, "type": auth["type"]}
              for key in AUTH_KEYS[auth["type"]] if not isinstance(auth.get(key), str) or not auth.get(key)]
    unknown = sorted(str(key) for key in auth if key != "type" and key not in AUTH_KEYS[auth["type"]])
    if unknown:
        errors.append(_("auth has unknown key(s) %(keys)s for %(type)s authentication.")
                      % {"keys": ", ".join(unknown), "type": auth["type"]})
    return errors


def _pagination_errors(pagination: Any) -> list[str]:
    if pagination is None:
        return []
    if not isinstance(pagination, dict) or pagination.get("type", "none") not in PAGINATION_KEYS:
        return [_("pagination must be an object whose type is one of: %(types)s.")
                % {"types": ", ".join(PAGINATION_KEYS)}]
    kind = pagination.get("type", "none")
    errors = []
    unknown = sorted(str(key) for key in pagination if key != "type" and key not in PAGINATION_KEYS[kind])
    if unknown:
        errors.append(_("pagination has unknown key(s) %(keys)s for type %(type)s (it knows: %(known)s).")
                      % {"keys": ", ".join(unknown), "type": kind,
                         "known": ", ".join(PAGINATION_KEYS[kind]) or "-"})
    for key in ("page_param", "size_param", "offset_param", "limit_param", "cursor_param"):
        if key in pagination and not _name(pagination[key]):
            errors.append(_("pagination.%(key)s must be the name of a query parameter.") % {"key": key})
    if "page_size" in pagination and not positive_int(pagination["page_size"]):
        errors.append(_("pagination.page_size must be a positive whole number."))
    start = pagination.get("start_page")
    if start is not None and (isinstance(start, bool) or not isinstance(start, int) or start < 0):
        errors.append(_("pagination.start_page must be a whole number, 0 or more."))
    if kind == "page" and ("size_param" in pagination) != ("page_size" in pagination):
        errors.append(_("pagination: give size_param and page_size together (or neither)."))
    if kind == "cursor" and not _path_ok(pagination.get("cursor_path")):
        errors.append(_("pagination.cursor_path is required: the dotted path of the next cursor in the response."))
    if kind == "next_link" and not _path_ok(pagination.get("next_link_path")):
        errors.append(_("pagination.next_link_path is required: the dotted path of the next page's URL in the "
                        "response, or \"link_header\" for the Link header."))
    return errors


def _header_errors(headers: Any) -> list[str]:
    if headers is None:
        return []
    if not isinstance(headers, dict) or not all(_name(k) and isinstance(v, str) for k, v in headers.items()):
        return [_("headers must be an object of header names and text values.")]
    return []


def _public_errors(config: dict) -> list[str]:
    return [_("%(key)s must be a list of names.") % {"key": key} for key in ("public_headers", "public_params")
            if key in config and not (isinstance(config[key], list) and all(_name(n) for n in config[key]))]


def public_names(config: dict, key: str) -> set[str]:
    names = config.get(key)
    return {name for name in names if isinstance(name, str)} if isinstance(names, list) else set()


def _param_errors(params: Any) -> list[str]:
    if params is None:
        return []
    if not isinstance(params, dict) or not all(
            _name(key) and (_scalar(value) or (isinstance(value, list) and all(_scalar(v) for v in value)))
            for key, value in params.items()):
        return [_("params must be an object of parameter names and values (text, numbers, or lists of them).")]
    return []


def origin(url: str) -> tuple[str, str | None, int | None]:
    """(scheme, host, port) with the scheme's default port filled in, so "http://h" and "http://h:80" match."""
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        return parts.scheme.lower(), None, None
    return parts.scheme.lower(), parts.hostname, port or {"http": 80, "https": 443}.get(parts.scheme.lower())


def shown_origin(url: str) -> str:
    scheme, host, port = origin(url)
    return f"{scheme}://{host}:{port}"


def config_problems(config: dict) -> list[str]:
    """The problems of an API connection_config's values (its keys are checked by the connector)."""
    errors = _url_errors(config.get("url"))
    method = config.get("method", "GET")
    if not isinstance(method, str) or method.upper() not in ("GET", "POST"):
        errors.append(_("method must be GET or POST."))
    elif "body" in config and method.upper() != "POST":
        errors.append(_("body is sent with method POST only."))
    errors += _header_errors(config.get("headers")) + _param_errors(config.get("params"))
    errors += _public_errors(config)
    errors += _auth_errors(config.get("auth")) + _pagination_errors(config.get("pagination"))
    if config.get("record_path") is not None and not _path_ok(config["record_path"]):
        errors.append(_("record_path must be a dotted path (\"data.items\") or a list of keys."))
    if "max_pages" in config and not positive_int(config["max_pages"]):
        errors.append(_("max_pages must be a positive whole number."))
    retries = config.get("retries", 0)
    if isinstance(retries, bool) or not isinstance(retries, int) or not 0 <= retries <= 20:
        errors.append(_("retries must be a whole number from 0 to 20."))
    for key in ("rate_limit_per_second", "timeout_seconds"):
        if key in config and not _positive_number(config[key]):
            errors.append(_("%(key)s must be a positive number.") % {"key": key})
    return errors
