"""Every URL pattern of the site, from Django's resolver, turned into a concrete path to request.

Path parameters get a plausible value (an id of 1, a UUID, a word); a regex pattern (the admin's and DRF's
routers) has its groups replaced the same way. The walk includes the admin and the API.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.urls import URLPattern, URLResolver, get_resolver

CONVERTER_VALUES = {"int": "1", "str": "abc", "slug": "abc", "path": "1",
                    "uuid": "00000000-0000-0000-0000-000000000001", "drf_format_suffix": ".json"}
_CONVERTER = re.compile(r"<(?:(?P<kind>\w+):)?(?P<name>\w+)>")
_GROUP = re.compile(r"\(\?P<(?P<name>\w+)>(?P<body>[^()]*(?:\([^()]*\)[^()]*)*)\)")


@dataclass(frozen=True)
class Route:
    path: str
    name: str  # "namespace:name", or "" for unnamed patterns


def _group_value(match: re.Match) -> str:
    name, body = match.group("name"), match.group("body")
    if name == "format":
        return "json"
    if name == "app_label":
        return "sources"
    if name == "url":
        return "no-such-page/"
    if "0-9" in body:
        return "1"
    return "abc"


def _concrete(pattern: str) -> str:
    pattern = _GROUP.sub(_group_value, pattern)
    pattern = _CONVERTER.sub(lambda m: CONVERTER_VALUES.get(m.group("kind") or "str", "abc"), pattern)
    pattern = pattern.replace("^", "").replace("$", "").replace("/?", "/").replace("\\.", ".")
    return pattern


def routes() -> list[Route]:
    found: list[Route] = []

    def walk(patterns, prefix: str, namespace: str) -> None:
        for entry in patterns:
            if isinstance(entry, URLResolver):
                ns = ":".join(filter(None, [namespace, entry.namespace]))
                walk(entry.url_patterns, prefix + str(entry.pattern), ns)
            elif isinstance(entry, URLPattern):
                name = f"{namespace}:{entry.name}" if namespace and entry.name else (entry.name or "")
                found.append(Route("/" + _concrete(prefix + str(entry.pattern)), name))

    walk(get_resolver().url_patterns, "", "")
    return found
