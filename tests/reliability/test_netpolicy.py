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
