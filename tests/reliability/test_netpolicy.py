"""The network policy of api and database sources, beyond tests/sources/test_connector_api.py's address
table: names that resolve to private addresses, mixed answers, IPv6 forms, the allow-list by network and
by name, and both connectors refusing before any connection is tried."""

from __future__ import annotations

import socket

import pytest

from sources import netpolicy
from sources.connectors.api import ApiConnector
from sources.connectors.database import DatabaseConnector


def _answers(mapping: dict[str, list[str]]):
    """A resolver answering from `mapping` (other names fail), as getaddrinfo would."""
    def getaddrinfo(host, port, *args, **kwargs):
        if host not in mapping:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [(socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port or 0))
                for a in mapping[host]]
    return getaddrinfo


@pytest.fixture
def dns(monkeypatch):
    mapping = {
        "intranet.example.com": ["10.1.2.3"],
        "metadata.example.com": ["169.254.169.254"],
        "mixed.example.com": ["93.184.215.14", "192.168.1.20"],
        "public.example.com": ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"],
        "v6local.example.com": ["fe80::1%eth0"],
        "v6ula.example.com": ["fd12:3456::1"],
        "rebind.example.com": ["127.0.0.1"],
    }
    monkeypatch.setattr(netpolicy.socket, "getaddrinfo", _answers(mapping))
    return mapping


@pytest.mark.parametrize("host", ["intranet.example.com", "metadata.example.com", "mixed.example.com",
                                  "v6local.example.com", "v6ula.example.com", "rebind.example.com"])
def test_names_resolving_to_non_public_addresses_are_refused(dns, settings, host):
    settings.ETL_ALLOWED_NETWORKS = []
    with pytest.raises(netpolicy.HostNotAllowed) as caught:
        netpolicy.check_host(host)
    assert host in caught.value.message and "ETL_ALLOWED_NETWORKS" in caught.value.message


def test_a_name_with_only_public_addresses_is_allowed(dns, settings):
    settings.ETL_ALLOWED_NETWORKS = []
    assert netpolicy.check_host("public.example.com") == dns["public.example.com"]


@pytest.mark.parametrize("address", ["169.254.0.1", "169.254.169.254", "fe80::abcd", "::ffff:169.254.169.254",
                                     "::ffff:10.0.0.1", "fc00::1", "::", "255.255.255.255", "198.18.0.1"])
def test_link_local_private_and_reserved_addresses_are_refused(settings, address):
    settings.ETL_ALLOWED_NETWORKS = []
    assert not netpolicy.address_allowed(address)


def test_the_allow_list_admits_networks_and_names_only(dns, settings):
    settings.ETL_ALLOWED_NETWORKS = ["10.0.0.0/8", "fd12:3456::/32", "metadata.example.com"]
    assert netpolicy.check_host("intranet.example.com") == ["10.1.2.3"]
    assert netpolicy.check_host("v6ula.example.com") == ["fd12:3456::1"]
    assert netpolicy.check_host("metadata.example.com") == ["169.254.169.254"]  # allowed by its name
    for host in ("mixed.example.com", "rebind.example.com", "v6local.example.com"):
        assert not netpolicy.host_allowed(host), host


def test_both_connectors_refuse_the_cloud_metadata_address_before_connecting(settings):
    settings.ETL_ALLOWED_NETWORKS = []
    api = ApiConnector({"url": "http://169.254.169.254/latest/meta-data/", "retries": 0}).test_connection()
    database = DatabaseConnector({"engine": "postgresql", "host": "169.254.169.254", "port": 5432, "user": "u",
                                  "password": "p", "database": "d", "table": "t"}).test_connection()
    for check in (api, database):
        assert not check.ok
        assert "169.254.169.254" in check.message and "ETL_ALLOWED_NETWORKS" in check.message


# IPv6 forms that embed an IPv4 address (issue 12): each judged by the address it carries.
EMBEDDED_FORMS = {
    "nat64 loopback": "64:ff9b::127.0.0.1",
    "nat64 private": "64:ff9b::10.0.0.1",
    "nat64 link-local": "64:ff9b::169.254.169.254",
    "nat64 local-use prefix": "64:ff9b:1::a00:1",
    "nat64 local-use prefix, public inside": "64:ff9b:1::808:808",
    "6to4 loopback": "2002:7f00:1::1",
    "6to4 private": "2002:c0a8:101::1",
    "6to4 link-local": "2002:a9fe:a9fe::1",
    "ipv4-compatible loopback": "::127.0.0.1",
    "ipv4-compatible private": "::192.168.1.1",
    "ipv4-compatible link-local": "::169.254.169.254",
    "ipv4-mapped loopback": "::ffff:127.0.0.1",
    "ipv4-mapped private": "::ffff:172.16.0.1",
    "teredo, client 127.0.0.1 obfuscated": "2001:0:4136:e378:8000:63bf:80ff:fffe",
    "teredo, private client": "2001:0:4136:e378:8000:63bf:f5ff:fffe",
    "site-local": "fec0::1",
    "site-local, other subnet": "fed0:1234::5",
}


@pytest.mark.parametrize("address", EMBEDDED_FORMS.values(), ids=EMBEDDED_FORMS.keys())
def test_ipv6_forms_of_non_public_ipv4_addresses_are_refused(settings, address):
    settings.ETL_ALLOWED_NETWORKS = []
    assert not netpolicy.is_public(address)
    assert not netpolicy.address_allowed(address)


@pytest.mark.parametrize("address", EMBEDDED_FORMS.values(), ids=EMBEDDED_FORMS.keys())
def test_the_connectors_refuse_them_before_connecting(settings, address):
    settings.ETL_ALLOWED_NETWORKS = []
    check = ApiConnector({"url": f"http://[{address}]:8080/x", "retries": 0}).test_connection()
    assert not check.ok and "ETL_ALLOWED_NETWORKS" in check.message


@pytest.mark.parametrize("address", ["64:ff9b::8.8.8.8", "2002:808:808::1", "2606:4700:4700::1111"])
def test_forms_of_public_addresses_stay_allowed(settings, address):
    settings.ETL_ALLOWED_NETWORKS = []
    assert netpolicy.address_allowed(address)


def test_an_allowed_ipv4_network_admits_its_nat64_and_mapped_forms(settings):
    settings.ETL_ALLOWED_NETWORKS = ["10.0.0.0/8"]
    assert netpolicy.address_allowed("64:ff9b::10.1.2.3") and netpolicy.address_allowed("::ffff:10.1.2.3")
    assert not netpolicy.address_allowed("64:ff9b::192.168.1.1")
