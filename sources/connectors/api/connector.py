"""The API connector itself: requests with retries and redirects, pages, records, and the contract
(read_batches, test_connection, describe)."""

from __future__ import annotations

import base64
import json
import logging
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import unquote_plus, urljoin, urlsplit

import pyarrow as pa
import requests
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from etlsite.messages import _msg, messages_join
from sources.connectors.api.config import (
    BACKOFF_SECONDS,
    DEFAULT_MAX_PAGES,
    DEFAULT_RETRIES,
    DEFAULT_TIMEOUT,
    KEYS,
    MAX_BACKOFF_SECONDS,
    MAX_PAGE_BYTES,
    MAX_REDIRECTS,
    MAX_RETRY_AFTER_SECONDS,
    NOT_RETRIED_5XX,
    QUERY_VALUE,
    SNIPPET_CHARS,
    config_problems,
    origin,
    positive_int,
    public_names,
    shown_origin,
)
from sources.connectors.api.transport import PeerRefused, policy_session, retry_after_seconds
from sources.connectors.api.values import JsonNumber, cell_text, dig, parse_path
from sources.connectors.base import DEFAULT_BATCH_ROWS, ConnectionCheck, Connector, ConnectorError
from sources.netpolicy import NetworkPolicyError, check_host
from sources.scrubbing import scrub, secret_forms
from sources.secrets import mask_string, secret_values

logger = logging.getLogger(__name__)


class ApiConnector(Connector):
    kind = "api"
    KEYS = KEYS
    SECRET_KEYS = ("auth.token", "auth.password", "auth.value", "headers.*", "params.*")
    DESTINATION_KEYS = ("url",)

    @classmethod
    def secret_key(cls, path: tuple[str, ...], config: dict) -> bool | None:
        if len(path) == 2 and path[0] == "headers":
            return path[1].lower() not in {name.lower() for name in public_names(config, "public_headers")}
        if len(path) == 2 and path[0] == "params":
            return path[1] not in public_names(config, "public_params")
        return super().secret_key(path, config)

    @classmethod
    def text_secrets(cls, path: tuple[str, ...], text: str, config: dict) -> list[tuple[int, int]]:
        if path != ("url",) or "?" not in text:
            return []
        public = public_names(config, "public_params")
        start = text.index("?")
        return [(start + m.start("value"), start + m.end("value")) for m in QUERY_VALUE.finditer(text[start:])
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
        errors += config_problems(config)
        return errors

    # -- HTTP ----------------------------------------------------------------------------------------------

    def _scrub(self, text: str) -> str:
        return scrub(mask_string(text), self._hidden)

    def _check_host(self, url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConnectorError(_msg("The API led to %(url)s, which is not an http(s) address.")
                                 % {"url": self._scrub(url)}, permanent=True)
        if parts.hostname not in self._checked_hosts:
            try:
                check_host(parts.hostname, parts.port)
            except NetworkPolicyError as error:
                raise ConnectorError(error.message, permanent=error.permanent) from None
            self._checked_hosts.add(parts.hostname)

    def _same_origin(self, url: str) -> bool:
        """Whether `url` may receive the credentials: the configured origin (scheme, host and port) only."""
        return origin(url) == origin(self.url)

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
                raise ConnectorError(_msg("The API redirects to another host, port or scheme (%(url)s); the "
                                          "credentials are sent to %(origin)s only: configure that address instead.")
                                     % {"url": self._scrub(location), "origin": shown_origin(self.url)},
                                     permanent=True)
            if response.status_code == 303 or (response.status_code in (301, 302) and method == "POST"):
                method, body = "GET", None
            url, params = location, None
        raise ConnectorError(_msg("The API redirected more than %(count)d times.") % {"count": MAX_REDIRECTS},
                             permanent=True)

    def _body(self, response: requests.Response) -> bytes:
        chunks, size = [], 0
        for chunk in response.iter_content(1 << 16):
            size += len(chunk)
            if size > MAX_PAGE_BYTES:
                response.close()
                raise ConnectorError(_msg("A page of the API is larger than %(mib)d MiB; ask for smaller pages.")
                                     % {"mib": MAX_PAGE_BYTES // 1024**2}, permanent=True)
            chunks.append(chunk)
        return b"".join(chunks)

    def _get(self, session: requests.Session, url: str, params: dict | None) -> tuple[requests.Response, Any]:
        """The page at `url` as parsed JSON, retrying what can pass (429, 5xx, connection failures)."""
        attempt = 0
        while True:
            self._throttle()
            wait = None
            try:
                response, content = self._send(session, url, params)
            except PeerRefused as error:
                raise ConnectorError(_msg("Connections to %(host)s (%(addresses)s) are not allowed: it is a loopback, "
                                          "private or link-local address. An administrator can allow it with the "
                                          "ETL_ALLOWED_NETWORKS setting.")
                                     % {"host": error.host, "addresses": error.address}, permanent=True) from None
            except requests.Timeout:
                problem = _msg("The API at %(host)s did not answer within %(seconds)s seconds.") % {
                    "host": self.host, "seconds": self.timeout}
            except requests.ConnectionError as error:
                text = str(error).lower()
                if "timed out" in text:
                    problem = _msg("The API at %(host)s did not answer within %(seconds)s seconds.") % {
                        "host": self.host, "seconds": self.timeout}
                elif "refused" in text:
                    problem = (_msg("Nothing accepts connections at %(host)s (connection refused).")
                               % {"host": self.host})
                else:
                    problem = _msg("The connection to the API at %(host)s failed.") % {"host": self.host}
            except requests.RequestException as error:
                raise ConnectorError(_msg("The request to the API failed: %(reason)s")
                                     % {"reason": self._scrub(str(error))}, permanent=True) from None
            else:
                status = response.status_code
                if status != 429 and not (500 <= status <= 599 and status not in NOT_RETRIED_5XX):
                    return response, self._parse(response, content)
                problem = _msg("The API answered HTTP %(status)s (%(reason)s).") % {
                    "status": status, "reason": self._scrub(response.reason or "-")}
                wait = retry_after_seconds(response)
                if wait is not None and wait > MAX_RETRY_AFTER_SECONDS:
                    raise ConnectorError(messages_join([
                        problem, _msg("It asks to wait %(seconds)d seconds before retrying.") % {"seconds": wait}]),
                        permanent=False)
            if attempt >= self.retries:
                if attempt:
                    problem = messages_join([problem, _msg("Tried %(count)d times.") % {"count": attempt + 1}])
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
            raise ConnectorError(_msg("The API refused the request (HTTP %(status)s): check auth. %(body)s")
                                 % {"status": status, "body": snippet}, permanent=True)
        if status == 404:
            raise ConnectorError(_msg("The API has nothing at %(url)s (HTTP 404).")
                                 % {"url": self._scrub(response.url)}, permanent=True)
        if not 200 <= status <= 299:
            raise ConnectorError(_msg("The API rejected the request (HTTP %(status)s): %(body)s")
                                 % {"status": status, "body": snippet}, permanent=True)
        try:
            return json.loads(content, parse_float=JsonNumber, parse_int=JsonNumber)
        except (ValueError, UnicodeDecodeError):
            raise ConnectorError(_msg("The API answered with something that is not JSON (Content-Type %(type)s): "
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
                raise ConnectorError(_msg("record_path %(path)s is not in the response (it has: %(keys)s).")
                                     % {"path": shown_path, "keys": keys}, permanent=True)
        else:
            value = document
            if isinstance(value, dict):
                raise ConnectorError(_msg("The response is a JSON object, not a list of records; set record_path to "
                                          "the key that holds them (the response has: %(keys)s).")
                                     % {"keys": ", ".join(map(str, value)) or "-"}, permanent=True)
        if value is None:
            return []
        if isinstance(value, dict):
            return [value]
        if not isinstance(value, list):
            raise ConnectorError(_msg("record_path %(path)s holds a %(type)s, not a list of records.")
                                 % {"path": shown_path or "(root)", "type": type(value).__name__}, permanent=True)
        return [record if isinstance(record, dict) else {"value": record} for record in value]

    def pages(self, session: requests.Session | None = None) -> Iterator[list[dict]]:
        """The records of each page, in order."""
        session = session or policy_session(self.config)
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
                        raise ConnectorError(_msg("The next page's link leads to another host, port or scheme "
                                                  "(%(url)s); the API connector follows links on %(origin)s only.")
                                             % {"url": self._scrub(url), "origin": shown_origin(self.url)},
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
        if not positive_int(batch_rows):
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
