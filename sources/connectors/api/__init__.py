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

The package: config (connection_config and its problems), values (JSON values as cell texts), transport (sessions
checked by the network policy, Retry-After), connector (ApiConnector).
"""

from sources.connectors.api.config import KEYS
from sources.connectors.api.connector import ApiConnector
from sources.connectors.api.values import JsonNumber, cell_text, dig, json_text, parse_path

__all__ = ["KEYS", "ApiConnector", "JsonNumber", "cell_text", "dig", "json_text", "parse_path"]
