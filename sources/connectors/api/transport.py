"""HTTP for the API connector: sessions whose connections are checked against the network policy (the address
actually connected to, not only the name resolved beforehand, must be allowed: a name that re-resolves elsewhere
is refused), with the source's headers and auth; and the wait a Retry-After header asks for."""

from __future__ import annotations

import datetime
import email.utils

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from sources.netpolicy import address_allowed, name_allowed


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


def policy_session(config: dict) -> requests.Session:
    """A session for an API source: connections checked by PolicyAdapter, its headers and its auth."""
    session = requests.Session()
    session.trust_env = False  # no environment proxies (they would hide the peer) and no ~/.netrc
    adapter = PolicyAdapter(max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers.update({"Accept": "application/json", "User-Agent": "etl-api-connector"})
    session.headers.update(config.get("headers") or {})
    auth = config.get("auth") or {}
    if auth.get("type") == "bearer":
        session.headers["Authorization"] = f"Bearer {auth['token']}"
    elif auth.get("type") == "header":
        session.headers[auth["name"]] = auth["value"]
    elif auth.get("type") == "basic":
        session.auth = (auth["username"], auth["password"])
    return session


def retry_after_seconds(response: requests.Response) -> float | None:
    """The seconds a response's Retry-After asks to wait (a number or an HTTP date); None without one."""
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
