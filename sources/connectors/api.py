"""The API connector: records from an HTTP JSON API, page by page, as Arrow batches of text columns.

connection_config:
- url (required, http or https); method: GET (default) or POST, with body (JSON) for POST
- headers: {"Name": "value"}; params: query parameters {"name": value}. Every header and parameter value is a
  secret (encrypted at rest, masked, scrubbed from messages) unless its name is listed in public_headers
  (["Accept", "User-Agent"]; names in any case) or public_params (["page", "fields"]); so are the values of
  the query string written into url
- auth: {"type": "bearer", "token": ...} | {"type": "basic", "username": ..., "password": ...}
  | {"type": "header", "name": "X-Api-Key", "value": ...}
- record_path: dotted path to the list of records ("data.items"; a number picks from a list); by default the
  response itself, which must then be a list. An object found there is one record; a value that is not an
  object becomes {"value": ...}.
- pagination: {"type": "none"} (default), or
  page:      page_param ("page"), start_page (1), size_param and page_size (sent only when both are given)
  offset:    offset_param ("offset"), limit_param ("limit"), page_size (100); the offset grows by the records read
  cursor:    cursor_param ("cursor"), cursor_path (required: dotted path to the next cursor in the response)
  next_link: next_link_path (dotted path to the next URL in the response, or "link_header" for the RFC 8288
             Link header's rel="next"); the next URL must stay on the same host (it receives the credentials)
  Reading stops at an empty page, a missing next cursor or link, or max_pages (default 1000; describe()
  then says stopped_at_max_pages).
- rate_limit_per_second (optional): requests are spaced at least 1/rate seconds apart
- retries (default 3): on HTTP 429 and 5xx and on connection failures, with exponential backoff (0.5 s, 1 s,
  2 s, ...) or the server's Retry-After
- timeout_seconds (default 30): for connecting and for each read

Records become rows: each top-level key is a column, in the order keys are first seen; values are text as
in a file (ENGINE.md): a string as is, a number as its JSON text, true/false as "true"/"false", null as NULL,
objects and arrays as compact JSON text. A key first seen on a later page adds a column: every batch carries
all columns seen so far (earlier rows NULL in the new one), so the schema can grow from batch to batch and
the loader adds the new columns.

Hosts go through sources.netpolicy, for the configured URL, next links and redirects alike; the connection
itself is checked too (the address actually connected to), so a name that re-resolves elsewhere is refused.
Environment proxies and ~/.netrc are not used.
"""

from __future__ import annotations

import base64
import datetime
import decimal
import email.utils
import json
import logging
import re
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import unquote_plus, urljoin, urlsplit

import pyarrow as pa
import requests
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from sources.connectors.base import DEFAULT_BATCH_ROWS, ConnectionCheck, Connector, ConnectorError
from sources.netpolicy import NetworkPolicyError, address_allowed, check_host, name_allowed
from sources.scrubbing import scrub, secret_forms
from sources.secrets import mask_string, secret_values

logger = logging.getLogger(__name__)

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
_QUERY_VALUE = re.compile(r"[?&](?P<name>[^=&#]*)=(?P<value>[^&#]*)")


# --- values ---------------------------------------------------------------------------------------------

class JsonNumber(str):
    """A number of a JSON document, kept as the exact text it has there ("2.50" stays "2.50")."""


def json_text(value: Any) -> str:
    """Compact JSON; numbers keep their digits (JsonNumber, Decimal), dates are ISO strings."""
    if isinstance(value, JsonNumber):
        return str(value)
    if isinstance(value, dict):
        return "{" + ",".join(json.dumps(str(key), ensure_ascii=False) + ":" + json_text(item)
                              for key, item in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(json_text(item) for item in value) + "]"
    if isinstance(value, decimal.Decimal):
        return str(value) if value.is_finite() else json.dumps(str(value))
    if value is None or isinstance(value, (str, int, float)):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, (datetime.date, datetime.time)):
        return json.dumps(value.isoformat())
    if isinstance(value, (bytes, bytearray, memoryview)):
        return json.dumps("\\x" + bytes(value).hex())
    return json.dumps(str(value), ensure_ascii=False)


def cell_text(value: Any) -> str | None:
    """One JSON value as the text of a cell: strings as they are, numbers as their JSON text, null as None."""
    if value is None or type(value) is str:
        return value
    if isinstance(value, str):
        return str(value)  # a JsonNumber
    if isinstance(value, bool):
        return "true" if value else "false"
    return json_text(value)


def parse_path(path: Any) -> tuple[str, ...]:
    if path is None:
        return ()
    return tuple(path.split(".")) if isinstance(path, str) else tuple(path)


def dig(document: Any, path: tuple[str, ...]) -> tuple[bool, Any]:
    """(found, value) at a dotted path; a numeric step indexes a list."""
    value = document
    for step in path:
        if isinstance(value, dict) and step in value:
            value = value[step]
        elif isinstance(value, list) and step.lstrip("-").isdigit() and -len(value) <= int(step) < len(value):
            value = value[int(step)]
        else:
            return False, None
    return True, value


# --- connections checked against the network policy -----------------------------------------------------

class PeerRefused(Exception):
    """The connection reached an address the network policy refuses (not an OSError: urllib3 must not retry)."""

    def __init__(self, host: str, address: str):
        super().__init__(host, address)
        self.host, self.address = host, address


def _checked(connection_class: type) -> type:
    class Checked(connection_class):
        def _new_conn(self):
            sock = super()._new_conn()
            address = sock.getpeername()[0].split("%", 1)[0]
            if not (name_allowed(self.host) or address_allowed(address)):
                sock.close()
                raise PeerRefused(self.host, address)
            return sock

    Checked.__name__ = f"Checked{connection_class.__name__}"
    return Checked


class _CheckedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _checked(HTTPConnection)


class _CheckedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _checked(HTTPSConnection)


class PolicyAdapter(HTTPAdapter):
    """requests' adapter whose connections refuse addresses that sources.netpolicy does not allow."""

    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _CheckedHTTPPool, "https": _CheckedHTTPSPool}


# --- configuration --------------------------------------------------------------------------------------

def _name(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _positive_int(value: Any) -> bool:
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
    if "page_size" in pagination and not _positive_int(pagination["page_size"]):
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


def _public(config: dict, key: str) -> set[str]:
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


def _origin(url: str) -> tuple[str, str | None, int | None]:
    """(scheme, host, port) with the scheme's default port filled in, so "http://h" and "http://h:80" match."""
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        return parts.scheme.lower(), None, None
    return parts.scheme.lower(), parts.hostname, port or {"http": 80, "https": 443}.get(parts.scheme.lower())


def _shown_origin(url: str) -> str:
    scheme, host, port = _origin(url)
    return f"{scheme}://{host}:{port}"


# --- the connector --------------------------------------------------------------------------------------

class ApiConnector(Connector):
    kind = "api"
    KEYS = KEYS
    SECRET_KEYS = ("auth.token", "auth.password", "auth.value", "headers.*", "params.*")
    DESTINATION_KEYS = ("url",)

    @classmethod
    def secret_key(cls, path: tuple[str, ...], config: dict) -> bool | None:
        if len(path) == 2 and path[0] == "headers":
            return path[1].lower() not in {name.lower() for name in _public(config, "public_headers")}
        if len(path) == 2 and path[0] == "params":
            return path[1] not in _public(config, "public_params")
        return super().secret_key(path, config)

    @classmethod
    def text_secrets(cls, path: tuple[str, ...], text: str, config: dict) -> list[tuple[int, int]]:
        if path != ("url",) or "?" not in text:
            return []
        public = _public(config, "public_params")
        start = text.index("?")
        return [(start + m.start("value"), start + m.end("value")) for m in _QUERY_VALUE.finditer(text[start:])
                if m["value"] and unquote_plus(m["name"]) not in public]

    @classmethod
    def secret_forms(cls, config: dict) -> list[str]:
        auth = config.get("auth") if isinstance(config.get("auth"), dict) else {}
        if auth.get("type") == "basic" and isinstance(auth.get("password"), str) and auth["password"]:
            credential = f"{auth.get('username') or ''}:{auth['password']}"
            encodings = ("utf-8", "latin-1")  # requests sends latin-1 where it can
            return list(dict.fromkeys(base64.b64encode(credential.encode(encoding, "ignore")).decode()
                                      for encoding in encodings))
        return []

    def __init__(self, config: dict, *, sleep: Callable[[float], Any] = time.sleep,
                 clock: Callable[[], float] = time.monotonic):
        super().__init__(config)
        self._sleep, self._clock = sleep, clock
        self.url = self.config["url"].strip()
        self.method = self.config.get("method", "GET").upper()
        self.pagination = dict(self.config.get("pagination") or {"type": "none"})
        self.pagination.setdefault("type", "none")
        self.record_path = parse_path(self.config.get("record_path"))
        self.max_pages = self.config.get("max_pages", DEFAULT_MAX_PAGES)
        self.retries = self.config.get("retries", DEFAULT_RETRIES)
        self.timeout = self.config.get("timeout_seconds", DEFAULT_TIMEOUT)
        rate = self.config.get("rate_limit_per_second")
        self.min_interval = 1.0 / rate if rate else 0.0
        self.host = urlsplit(self.url).hostname
        self._last_request: float | None = None
        self._checked_hosts: set[str] = set()
        self._columns: dict[str, None] = {}  # an ordered set: the order keys were first seen
        self._pages_read = self._records_read = 0
        self._stopped_at_max_pages = False
        self._hidden = secret_forms(secret_values(self.config, self.kind))  # what messages never show

    @classmethod
    def config_errors(cls, config: Any) -> list[str]:
        errors = super().config_errors(config)
        if errors:
            return errors
        errors += cls.unknown_key_errors(config, KEYS, "API")
        errors += _url_errors(config.get("url"))
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
        if "max_pages" in config and not _positive_int(config["max_pages"]):
            errors.append(_("max_pages must be a positive whole number."))
        retries = config.get("retries", 0)
        if isinstance(retries, bool) or not isinstance(retries, int) or not 0 <= retries <= 20:
            errors.append(_("retries must be a whole number from 0 to 20."))
        for key in ("rate_limit_per_second", "timeout_seconds"):
            if key in config and not _positive_number(config[key]):
                errors.append(_("%(key)s must be a positive number.") % {"key": key})
        return errors

    # -- HTTP ----------------------------------------------------------------------------------------------

    def _session(self) -> requests.Session:
        session = requests.Session()
        session.trust_env = False  # no environment proxies (they would hide the peer) and no ~/.netrc
        adapter = PolicyAdapter(max_retries=0)
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        session.headers.update({"Accept": "application/json", "User-Agent": "etl-api-connector"})
        session.headers.update(self.config.get("headers") or {})
        auth = self.config.get("auth") or {}
        if auth.get("type") == "bearer":
            session.headers["Authorization"] = f"Bearer {auth['token']}"
        elif auth.get("type") == "header":
            session.headers[auth["name"]] = auth["value"]
        elif auth.get("type") == "basic":
            session.auth = (auth["username"], auth["password"])
        return session

    def _scrub(self, text: str) -> str:
        return scrub(mask_string(text), self._hidden)

    def _check_host(self, url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConnectorError(_("The API led to %(url)s, which is not an http(s) address.")
                                 % {"url": self._scrub(url)}, permanent=True)
        if parts.hostname not in self._checked_hosts:
            try:
                check_host(parts.hostname, parts.port)
            except NetworkPolicyError as error:
                raise ConnectorError(error.message, permanent=error.permanent) from None
            self._checked_hosts.add(parts.hostname)

    def _same_origin(self, url: str) -> bool:
        """Whether `url` may receive the credentials: the configured origin (scheme, host and port) only."""
        return _origin(url) == _origin(self.url)

    def _throttle(self) -> None:
        if self.min_interval and self._last_request is not None:
            wait = self._last_request + self.min_interval - self._clock()
            if wait > 0:
                self._sleep(wait)
        self._last_request = self._clock()

    def _send(self, session: requests.Session, url: str, params: dict | None) -> tuple[requests.Response, bytes]:
        """One request, following redirects on the same host, with the body read up to MAX_PAGE_BYTES."""
        method, body = self.method, self.config.get("body")
        for _hop in range(MAX_REDIRECTS + 1):
            self._check_host(url)
            response = session.request(method, url, params=params, json=body if method == "POST" else None,
                                       timeout=self.timeout, allow_redirects=False, stream=True)
            if not response.is_redirect:
                return response, self._body(response)
            location = urljoin(response.url, response.headers["location"])
            response.close()
            if not self._same_origin(location):
                raise ConnectorError(_("The API redirects to another host, port or scheme (%(url)s); the "
                                       "credentials are sent to %(origin)s only: configure that address instead.")
                                     % {"url": self._scrub(location), "origin": _shown_origin(self.url)},
                                     permanent=True)
            if response.status_code == 303 or (response.status_code in (301, 302) and method == "POST"):
                method, body = "GET", None
            url, params = location, None
        raise ConnectorError(_("The API redirected more than %(count)d times.") % {"count": MAX_REDIRECTS},
                             permanent=True)

    def _body(self, response: requests.Response) -> bytes:
        chunks, size = [], 0
        for chunk in response.iter_content(1 << 16):
            size += len(chunk)
            if size > MAX_PAGE_BYTES:
                response.close()
                raise ConnectorError(_("A page of the API is larger than %(mib)d MiB; ask for smaller pages.")
                                     % {"mib": MAX_PAGE_BYTES // 1024**2}, permanent=True)
            chunks.append(chunk)
        return b"".join(chunks)

    def _retry_after(self, response: requests.Response) -> float | None:
        value = (response.headers.get("Retry-After") or "").strip()
        if not value:
            return None
        if value.isdigit():
            return float(value)
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=datetime.timezone.utc)
        return max(0.0, (when - datetime.datetime.now(datetime.timezone.utc)).total_seconds())

    def _get(self, session: requests.Session, url: str, params: dict | None) -> tuple[requests.Response, Any]:
        """The page at `url` as parsed JSON, retrying what can pass (429, 5xx, connection failures)."""
        attempt = 0
        while True:
            self._throttle()
            wait = None
            try:
                response, content = self._send(session, url, params)
            except PeerRefused as error:
                raise ConnectorError(_("Connections to %(host)s (%(addresses)s) are not allowed: it is a loopback, "
                                       "private or link-local address. An administrator can allow it with the "
                                       "ETL_ALLOWED_NETWORKS setting.")
                                     % {"host": error.host, "addresses": error.address}, permanent=True) from None
            except requests.Timeout:
                problem = _("The API at %(host)s did not answer within %(seconds)s seconds.") % {
                    "host": self.host, "seconds": self.timeout}
            except requests.ConnectionError as error:
                text = str(error).lower()
                if "timed out" in text:
                    problem = _("The API at %(host)s did not answer within %(seconds)s seconds.") % {
                        "host": self.host, "seconds": self.timeout}
                elif "refused" in text:
                    problem = _("Nothing accepts connections at %(host)s (connection refused).") % {"host": self.host}
                else:
                    problem = _("The connection to the API at %(host)s failed.") % {"host": self.host}
            except requests.RequestException as error:
                raise ConnectorError(_("The request to the API failed: %(reason)s")
                                     % {"reason": self._scrub(str(error))}, permanent=True) from None
            else:
                status = response.status_code
                if status != 429 and not (500 <= status <= 599 and status not in NOT_RETRIED_5XX):
                    return response, self._parse(response, content)
                problem = _("The API answered HTTP %(status)s (%(reason)s).") % {
                    "status": status, "reason": self._scrub(response.reason or "-")}
                wait = self._retry_after(response)
                if wait is not None and wait > MAX_RETRY_AFTER_SECONDS:
                    raise ConnectorError(problem + " " + _("It asks to wait %(seconds)d seconds before retrying.")
                                         % {"seconds": wait}, permanent=False)
            if attempt >= self.retries:
                if attempt:
                    problem += " " + _("Tried %(count)d times.") % {"count": attempt + 1}
                raise ConnectorError(problem, permanent=False)
            delay = wait if wait is not None else min(MAX_BACKOFF_SECONDS, BACKOFF_SECONDS * 2**attempt)
            logger.info("API %s: %s; retrying in %.1f s", self.host, problem, delay)
            self._sleep(delay)
            attempt += 1

    def _parse(self, response: requests.Response, content: bytes) -> Any:
        status = response.status_code
        # Scrubbed before it is cut: a secret cut in two would not be recognised.
        snippet = self._scrub(content[:SNIPPET_CHARS * 4].decode("utf-8", "replace"))[:SNIPPET_CHARS].strip()
        if status in (401, 403):
            raise ConnectorError(_("The API refused the request (HTTP %(status)s): check auth. %(body)s")
                                 % {"status": status, "body": snippet}, permanent=True)
        if status == 404:
            raise ConnectorError(_("The API has nothing at %(url)s (HTTP 404).")
                                 % {"url": self._scrub(response.url)}, permanent=True)
        if not 200 <= status <= 299:
            raise ConnectorError(_("The API rejected the request (HTTP %(status)s): %(body)s")
                                 % {"status": status, "body": snippet}, permanent=True)
        try:
            return json.loads(content, parse_float=JsonNumber, parse_int=JsonNumber)
        except (ValueError, UnicodeDecodeError):
            raise ConnectorError(_("The API answered with something that is not JSON (Content-Type %(type)s): "
                                   "%(body)s") % {"type": response.headers.get("Content-Type", "-"),
                                                  "body": snippet}, permanent=True) from None

    # -- pages and records ---------------------------------------------------------------------------------

    def _records(self, document: Any, first: bool) -> list[dict]:
        shown_path = ".".join(self.record_path)
        if self.record_path:
            found, value = dig(document, self.record_path)
            if not found:
                if not first:
                    return []  # some APIs leave the list out of the page after the last
                keys = ", ".join(map(str, document)) if isinstance(document, dict) else type(document).__name__
                raise ConnectorError(_("record_path %(path)s is not in the response (it has: %(keys)s).")
                                     % {"path": shown_path, "keys": keys}, permanent=True)
        else:
            value = document
            if isinstance(value, dict):
                raise ConnectorError(_("The response is a JSON object, not a list of records; set record_path to "
                                       "the key that holds them (the response has: %(keys)s).")
                                     % {"keys": ", ".join(map(str, value)) or "-"}, permanent=True)
        if value is None:
            return []
        if isinstance(value, dict):
            return [value]
        if not isinstance(value, list):
            raise ConnectorError(_("record_path %(path)s holds a %(type)s, not a list of records.")
                                 % {"path": shown_path or "(root)", "type": type(value).__name__}, permanent=True)
        return [record if isinstance(record, dict) else {"value": record} for record in value]

    def pages(self, session: requests.Session | None = None) -> Iterator[list[dict]]:
        """The records of each page, in order."""
        session = session or self._session()
        p = self.pagination
        kind = p["type"]
        url, params = self.url, dict(self.config.get("params") or {})
        page = p.get("start_page", 1)
        offset, cursor = 0, None
        self._pages_read = 0
        self._stopped_at_max_pages = False
        try:
            for number in range(self.max_pages):
                if kind == "page":
                    params[p.get("page_param", "page")] = page
                    if "size_param" in p:
                        params[p["size_param"]] = p["page_size"]
                elif kind == "offset":
                    params[p.get("offset_param", "offset")] = offset
                    params[p.get("limit_param", "limit")] = p.get("page_size", 100)
                elif kind == "cursor" and cursor is not None:
                    params[p.get("cursor_param", "cursor")] = cursor
                response, document = self._get(session, url, params or None)
                records = self._records(document, first=number == 0)
                self._pages_read += 1
                yield records
                if kind == "none" or not records:
                    return
                page += 1
                offset += len(records)
                if kind == "cursor":
                    _found, next_cursor = dig(document, parse_path(p["cursor_path"]))
                    if next_cursor in (None, "") or next_cursor == cursor:
                        return
                    cursor = cell_text(next_cursor)
                elif kind == "next_link":
                    link = self._next_link(response, document)
                    if not link:
                        return
                    url, params = urljoin(response.url, link), {}
                    if not self._same_origin(url):
                        raise ConnectorError(_("The next page's link leads to another host, port or scheme "
                                               "(%(url)s); the API connector follows links on %(origin)s only.")
                                             % {"url": self._scrub(url), "origin": _shown_origin(self.url)},
                                             permanent=True)
            self._stopped_at_max_pages = True
            logger.warning("API %s: stopped after max_pages=%d pages", self.host, self.max_pages)
        finally:
            session.close()

    def _next_link(self, response: requests.Response, document: Any) -> str | None:
        path = self.pagination["next_link_path"]
        if path == "link_header":
            return response.links.get("next", {}).get("url")
        _found, link = dig(document, parse_path(path))
        return link if isinstance(link, str) and link.strip() else None

    def _batch(self, records: list[dict]) -> pa.RecordBatch:
        for record in records:
            for key in record:
                if key not in self._columns:
                    self._columns[key] = None
        names = list(self._columns)
        arrays = [pa.array([cell_text(record.get(name)) for record in records], pa.string()) for name in names]
        return pa.RecordBatch.from_arrays(arrays, schema=pa.schema([pa.field(n, pa.string()) for n in names]))

    # -- the contract --------------------------------------------------------------------------------------

    def read_batches(self, *, batch_rows: int = DEFAULT_BATCH_ROWS) -> Iterator[pa.RecordBatch]:
        if not _positive_int(batch_rows):
            raise ValueError(f"batch_rows must be a positive integer, not {batch_rows!r}")
        self._columns, self._records_read = {}, 0
        pending: list[dict] = []
        for records in self.pages():
            pending.extend(records)
            self._records_read += len(records)
            while len(pending) >= batch_rows:
                yield self._batch(pending[:batch_rows])
                del pending[:batch_rows]
        if pending:
            yield self._batch(pending)

    def test_connection(self) -> ConnectionCheck:
        pages = self.pages()
        try:
            records = next(pages, [])
        except ConnectorError as error:
            return ConnectionCheck(ok=False, message=error.message, details={"permanent": error.permanent})
        finally:
            pages.close()
        keys = list(dict.fromkeys(key for record in records for key in record))
        message = ngettext("The API answered; its first page has %(count)d record with the keys: %(keys)s.",
                           "The API answered; its first page has %(count)d records with the keys: %(keys)s.",
                           len(records)) % {
            "count": len(records), "keys": ", ".join(map(str, keys)) or _("(none)")}
        return ConnectionCheck(ok=True, message=message, details={**self.describe(), "columns": keys})

    def describe(self) -> dict[str, Any]:
        return {
            "kind": self.kind, "url": self._scrub(self.url), "method": self.method,
            "pagination": self.pagination["type"], "record_path": ".".join(self.record_path) or None,
            "auth": (self.config.get("auth") or {}).get("type"), "pages_read": self._pages_read,
            "records_read": self._records_read, "stopped_at_max_pages": self._stopped_at_max_pages,
            "columns": list(self._columns),
        }
