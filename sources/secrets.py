"""Secrets of a source's connection_config: which values they are, masking them, and keeping them on edits.

Which keys hold secrets is declared once, by each connector (`SECRET_KEYS`, `Connector.secret_key`; the API
connector counts every header and query parameter unless the configuration lists it as public). `SecretRules`
reads that declaration for one configuration; keys no connector knows (and configurations of no known
source type: run contexts, audit details) are judged by their name (`is_secret_key`), and every text is
searched for passwords written into it (a URL's user info, ``password=...``).

`mask_config` hides every secret behind PLACEHOLDER; `secrets_merge` puts the stored values back wherever a
submitted configuration still holds the placeholder, so a form can be saved without retyping a password,
unless the source now points elsewhere (the connector's `DESTINATION_KEYS`): a stored secret is never sent
to a new destination without being typed again. Encryption at rest (sources.encryption) and the scrubbing of
messages (sources.scrubbing) use the same rules.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

PLACEHOLDER = "********"

_SECRET_WORDS = (
    r"password|passwd|pwd|passphrase|secret|token|api[_-]?key|access[_-]?key|private[_-]?key|credentials?|auth"
)
SECRET_KEY_PATTERN = re.compile(_SECRET_WORDS, re.IGNORECASE)

# "postgresql://user:s3cret@host/db": the password between "user:" and the last "@" before the host.
_URL_USERINFO = re.compile(
    r"(?P<keep>\b[a-z][a-z0-9+.\-]*://[^\s:/@]*:)(?P<secret>[^\s/]+)(?=@[^\s@/]+)", re.IGNORECASE
)
# "host=db password=s3cret", "password='a b'", "Server=x;Pwd=s3cret;", "https://api?token=s3cret&page=1".
_KEY_VALUE = re.compile(
    rf"(?P<keep>(?:^|[\s;&?,])[\w.\-]*(?:{_SECRET_WORDS})[\w.\-]*\s*=\s*)"
    r"""(?P<secret>'[^']*'|"[^"]*"|[^\s;&,]+)""",
    re.IGNORECASE,
)

_MISSING = object()

Path = tuple[str, ...]


def is_secret_key(key: Any) -> bool:
    """The safety net: a key whose name says it holds a secret (for keys no connector declares)."""
    return isinstance(key, str) and bool(SECRET_KEY_PATTERN.search(key))


def mask_string(value: str) -> str:
    """Hide passwords written inside a string (URL user info, key=value pairs); other text is kept."""
    value = _URL_USERINFO.sub(lambda m: m["keep"] + PLACEHOLDER, value)
    return _KEY_VALUE.sub(lambda m: m["keep"] + PLACEHOLDER, value)


def string_secrets(value: str) -> list[str]:
    """The passwords written inside a string, as `mask_string` finds them."""
    found = [m["secret"] for m in _URL_USERINFO.finditer(value)]
    return found + [m["secret"].strip("'\"") for m in _KEY_VALUE.finditer(value)]


def value_is_set(value: Any) -> bool:
    # An empty secret is shown as empty: there is nothing to hide, and the reader sees that it is unset.
    # Flags ("use_auth": true) hide nothing either.
    return not isinstance(value, bool) and value not in (None, "", {}, [])


def _connector(source_type: Any):
    if not isinstance(source_type, str):
        return None
    from sources.connectors import CONNECTORS, connector_class

    return connector_class(source_type) if source_type in CONNECTORS else None


class SecretRules:
    """Which values of one configuration are secrets: its connector's declaration, else the key's name."""

    def __init__(self, source_type: str | None = None, config: Any = None):
        self.connector = _connector(source_type)
        self.config = config if isinstance(config, dict) else {}

    def is_secret(self, path: Path) -> bool:
        declared = self.connector.secret_key(path, self.config) if self.connector and path else None
        return declared if declared is not None else bool(path) and is_secret_key(path[-1])

    def text_secrets(self, path: Path, text: str) -> list[str]:
        spans = self.connector.text_secrets(path, text, self.config) if self.connector else []
        return [text[start:end] for start, end in spans] + string_secrets(text)

    def mask_text(self, path: Path, text: str) -> str:
        if self.connector:
            for start, end in sorted(self.connector.text_secrets(path, text, self.config), reverse=True):
                text = text[:start] + PLACEHOLDER + text[end:]
        return mask_string(text)

    def destination(self, config: Any) -> dict:
        if self.connector is None or not isinstance(config, dict):
            return {}
        return self.connector.destination(config)

    def changed_destination(self, new: Any, old: Any) -> list[str]:
        """The destination keys whose values differ between two configurations."""
        before, after = self.destination(old), self.destination(new)
        return [key for key in after if after[key] != before.get(key)]


def _key(path: Path, key: Any) -> Path:
    return (*path, str(key))


def _mask(value: Any, rules: SecretRules, path: Path) -> Any:
    if isinstance(value, dict):
        return {key: PLACEHOLDER if rules.is_secret(_key(path, key)) and value_is_set(item)
                else _mask(item, rules, _key(path, key)) for key, item in value.items()}
    if isinstance(value, list):
        return [_mask(item, rules, path) for item in value]
    if isinstance(value, str):
        return rules.mask_text(path, value)
    return value


def mask_config(config: Any, source_type: str | None = None) -> Any:
    """A copy of `config` with every secret replaced by PLACEHOLDER (the input is not modified).

    With `source_type`, the connector's declaration decides; without (a run's context, audit details), the
    keys' names do.
    """
    return _mask(config, SecretRules(source_type, config), ())


def _show(path: Path) -> str:
    return ".".join(path) or "$"


@dataclass
class Merge:
    """A submitted configuration with the stored secrets put back where the placeholder came back."""

    config: Any
    restored: list[str] = field(default_factory=list)  # where a stored secret was put back
    moved: list[str] = field(default_factory=list)  # destination keys that changed: nothing may be restored

    @property
    def unresolved(self) -> list[str]:
        return placeholder_paths(self.config)


def _merge(new: Any, old: Any, secret: bool, rules: SecretRules, path: Path, restored: list[str]) -> Any:
    # An object holding secrets sent back whole as the placeholder: as key names masked it before the
    # connectors declared their secrets ({"auth": "********"}), so what clients kept still saves.
    holds_secret = isinstance(old, dict) and _mask(old, rules, path) != old
    if (secret or holds_secret) and new == PLACEHOLDER and old is not _MISSING:
        restored.append(_show(path))
        return old
    if isinstance(new, dict):
        old_dict = old if isinstance(old, dict) else {}
        return {key: _merge(item, old_dict.get(key, _MISSING), rules.is_secret(_key(path, key)), rules,
                            _key(path, key), restored) for key, item in new.items()}
    if isinstance(new, list):
        old_list = old if isinstance(old, list) else []
        return [_merge(item, old_list[i] if i < len(old_list) else _MISSING, False, rules, path, restored)
                for i, item in enumerate(new)]
    # A text with a password inside ("postgresql://etl:********@db/x"): the stored one, if it is the same
    # text around the mask. Masked by the new rules, so making a parameter public cannot reveal it.
    if isinstance(new, str) and isinstance(old, str) and PLACEHOLDER in new and new == rules.mask_text(path, old):
        restored.append(_show(path))
        return old
    return new


def secrets_merge(new_config: Any, old_config: Any, *, source_type: str | None = None,
                  old_source_type: str | None = None) -> Merge:
    """Put the stored secrets of `old_config` back where `new_config` still holds the placeholder.

    Keys are matched by path (dict keys, list positions), secrets by the new configuration's rules. When
    the source now points elsewhere (another source type, or a changed destination key), `moved` names what
    changed; the caller refuses a merge that is `moved` and `restored` (the secrets must be typed again).
    """
    rules = SecretRules(source_type, new_config)
    restored: list[str] = []
    config = _merge(new_config, old_config, False, rules, (), restored)
    if old_source_type is not None and source_type != old_source_type:
        moved = ["source_type"]
    else:
        moved = rules.changed_destination(config, old_config)
    return Merge(config=config, restored=restored, moved=moved)


def merge_secrets(new_config: Any, old_config: Any, source_type: str | None = None) -> Any:
    """`new_config` with each placeholder that still stands where a secret was stored replaced by that secret
    (see `secrets_merge`, which also says whether the source now points elsewhere).

    A placeholder with no stored value behind it (a renamed key, an edited URL) stays; `placeholder_paths`
    finds those so a form can ask for the value.
    """
    return secrets_merge(new_config, old_config, source_type=source_type).config


def placeholder_paths(config: Any, path: str = "") -> list[str]:
    """Where `config` still holds PLACEHOLDER, as "key.sub[2].key" paths."""
    if isinstance(config, dict):
        return [p for key, item in config.items()
                for p in placeholder_paths(item, f"{path}.{key}" if path else str(key))]
    if isinstance(config, list):
        return [p for i, item in enumerate(config) for p in placeholder_paths(item, f"{path}[{i}]")]
    if isinstance(config, str) and PLACEHOLDER in config:
        return [path or "$"]
    return []


def _leaves(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [leaf for item in value.values() for leaf in _leaves(item)]
    if isinstance(value, list):
        return [leaf for item in value for leaf in _leaves(item)]
    if value is None or isinstance(value, bool):
        return []
    if isinstance(value, (int, float)) and len(str(value)) < 8:
        return []  # a parameter such as "limit": 1000 is no credential; hiding "1000" would garble messages
    return [str(value)]


def _values(value: Any, rules: SecretRules, path: Path) -> list[str]:
    if isinstance(value, dict):
        found = []
        for key, item in value.items():
            here = _key(path, key)
            found += _leaves(item) if rules.is_secret(here) else _values(item, rules, here)
        return found
    if isinstance(value, list):
        return [found for item in value for found in _values(item, rules, path)]
    if isinstance(value, str):
        return rules.text_secrets(path, value)
    return []


def secret_values(config: Any, source_type: str | None = None) -> list[str]:
    """The plain secret values of a (decrypted) configuration, as the rules above find them, plus the forms
    its connector sends them in (a Basic credential)."""
    rules = SecretRules(source_type, config)
    found = _values(config, rules, ())
    if rules.connector is not None and isinstance(config, dict):
        found += rules.connector.secret_forms(config)
    return list(dict.fromkeys(found))
