"""Which network hosts a source may reach: public addresses always, others only when settings allow them.

A source's connection_config is written by users, and the worker runs inside the deployment's network, so a
configured host could point at the metadata service (169.254.169.254), the staging database or anything else
on a private network. Connectors that open network connections therefore resolve the host first and refuse
every address that is not globally routable (loopback, private, link-local, shared, reserved, multicast...)
unless `settings.ETL_ALLOWED_NETWORKS` permits it. Its entries are CIDR networks or single addresses
("10.20.0.0/16", "127.0.0.1", "::1") and host names ("db.internal", or "*.corp.example" for every name
below corp.example); an empty list (the default) allows public addresses only.

Connectors then connect to the address that was checked (or check the address actually connected to), so a
name that resolves differently a moment later cannot slip past the check.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.utils.translation import gettext as _

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class NetworkPolicyError(Exception):
    """A host that cannot be used; `message` is fit for the user, `permanent` says whether retrying may help."""

    def __init__(self, message: str, permanent: bool = True):
        super().__init__(message)
        self.message = message
        self.permanent = permanent


class HostNotFound(NetworkPolicyError):
    pass


class HostNotAllowed(NetworkPolicyError):
    pass


@dataclass(frozen=True)
class Allowances:
    networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]
    names: frozenset[str]
    suffixes: tuple[str, ...]  # ".corp.example" for "*.corp.example"


def allowances(entries: Iterable[str] | str | None = None) -> Allowances:
    """The parsed allow-list (`settings.ETL_ALLOWED_NETWORKS` unless `entries` are given)."""
    if entries is None:
        entries = getattr(settings, "ETL_ALLOWED_NETWORKS", None) or []
    if isinstance(entries, str):  # "10.0.0.0/8, db.internal" from an environment variable
        entries = entries.split(",")
    networks, names, suffixes = [], set(), []
    for raw in entries:
        entry = str(raw).strip().lower()
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
            continue
        except ValueError:
            pass
        if entry.startswith("*."):
            suffixes.append(entry[1:])
        else:
            names.add(entry.rstrip("."))
    return Allowances(tuple(networks), frozenset(names), tuple(suffixes))


# IPv6 forms that carry an IPv4 address: NAT64 (RFC 6052: 64:ff9b::1.2.3.4 reaches 1.2.3.4 through a
# translator), its local-use prefix (RFC 8215, a translator of the deployment's own network: never public),
# and the deprecated site-local addresses (RFC 3879), private like fc00::/7.
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")
_SITE_LOCAL = ipaddress.ip_network("fec0::/10")


def _plain(address: IPAddress) -> IPAddress:
    """The IPv4 address an IPv6 address stands for where it is that host: IPv4-mapped (::ffff:127.0.0.1),
    IPv4-compatible (::127.0.0.1) and NAT64 (64:ff9b::127.0.0.1) are judged as 127.0.0.1."""
    if not isinstance(address, ipaddress.IPv6Address):
        return address
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    value = int(address)
    if address in _NAT64 or 1 < value < 2**32:
        return ipaddress.IPv4Address(value & 0xFFFFFFFF)
    return address


def _embedded(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address a 6to4 (2002:V4::/48) or Teredo (2001::/32, obfuscated client) address routes through."""
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    return None


def is_public(address: str | IPAddress) -> bool:
    address = _plain(ipaddress.ip_address(address))
    if not address.is_global or address.is_multicast:
        return False
    if isinstance(address, ipaddress.IPv6Address):
        if address in _NAT64_LOCAL or address in _SITE_LOCAL:
            return False
        embedded = _embedded(address)
        if embedded is not None and not is_public(embedded):
            return False
    return True


def address_allowed(address: str | IPAddress, allowed: Allowances | None = None) -> bool:
    """Whether a connection to this IP address is permitted."""
    address = _plain(ipaddress.ip_address(address))
    if is_public(address):
        return True
    allowed = allowed or allowances()
    return any(address.version == network.version and address in network for network in allowed.networks)


def name_allowed(host: str, allowed: Allowances | None = None) -> bool:
    """Whether the host name itself is on the allow-list (then its addresses are not checked)."""
    allowed = allowed or allowances()
    name = host.strip().lower().rstrip(".")
    return name in allowed.names or any(name.endswith(suffix) for suffix in allowed.suffixes)


def resolve(host: str, port: int | None = None) -> list[str]:
    """The addresses of `host` (an IP address resolves to itself), in the resolver's order."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        temporary = getattr(error, "errno", None) == socket.EAI_AGAIN
        raise HostNotFound(_("The host %(host)s could not be found (DNS lookup failed).") % {"host": host},
                           permanent=not temporary) from None
    addresses: list[str] = []
    for info in infos:
        address = info[4][0].split("%", 1)[0]  # drop an IPv6 zone ("fe80::1%eth0")
        if address not in addresses:
            addresses.append(address)
    return addresses


def check_host(host: str, port: int | None = None) -> list[str]:
    """The addresses to connect to for `host`; HostNotFound or HostNotAllowed when there are none.

    Every address the name resolves to must be allowed: a name with one public and one private address is
    refused, since the connection could go to either.
    """
    allowed = allowances()
    addresses = resolve(host, port)
    if name_allowed(host, allowed):
        return addresses
    refused = [address for address in addresses if not address_allowed(address, allowed)]
    if refused:
        raise HostNotAllowed(
            _("Connections to %(host)s (%(addresses)s) are not allowed: it is a loopback, private or link-local "
              "address. An administrator can allow it with the ETL_ALLOWED_NETWORKS setting.")
            % {"host": host, "addresses": ", ".join(refused)})
    return addresses


def host_allowed(host: str) -> bool:
    """Whether `host` may be reached (False also when it cannot be resolved)."""
    try:
        check_host(host)
    except NetworkPolicyError:
        return False
    return True
