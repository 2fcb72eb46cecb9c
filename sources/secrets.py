"""Masking of secrets in a source's connection_config, for pages that show it and forms that edit it.

`mask_config` hides every value stored under a secret-looking key (and passwords written into URLs or
`key=value` connection strings) behind PLACEHOLDER; `merge_secrets` puts the stored values back wherever a
submitted configuration still holds the placeholder, so a form can be saved without retyping a password.
"""

from __future__ import annotations

import re
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


def is_secret_key(key: Any) -> bool:
    return isinstance(key, str) and bool(SECRET_KEY_PATTERN.search(key))


def mask_string(value: str) -> str:
    """Hide passwords written inside a string (URL user info, key=value pairs); other text is kept."""
    value = _URL_USERINFO.sub(lambda m: m["keep"] + PLACEHOLDER, value)
    return _KEY_VALUE.sub(lambda m: m["keep"] + PLACEHOLDER, value)


def _mask(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            key: PLACEHOLDER if is_secret_key(key) and value_is_set(item) else _mask(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_mask(item) for item in value]
    if isinstance(value, str):
        return mask_string(value)
    return value


def value_is_set(value: Any) -> bool:
    # An empty secret is shown as empty: there is nothing to hide, and the reader sees that it is unset.
    # Flags ("use_auth": true) hide nothing either.
    return not isinstance(value, bool) and value not in (None, "", {}, [])


def mask_config(config: Any) -> Any:
    """A copy of `config` with every secret replaced by PLACEHOLDER (the input is not modified)."""
    return _mask(config)


def _merge(new: Any, old: Any, secret: bool) -> Any:
    if secret and new == PLACEHOLDER and old is not _MISSING:
        return old
    if isinstance(new, dict):
        old_dict = old if isinstance(old, dict) else {}
        return {key: _merge(item, old_dict.get(key, _MISSING), is_secret_key(key)) for key, item in new.items()}
    if isinstance(new, list):
        old_list = old if isinstance(old, list) else []
        return [_merge(item, old_list[i] if i < len(old_list) else _MISSING, False) for i, item in enumerate(new)]
    if isinstance(new, str) and isinstance(old, str) and PLACEHOLDER in new and new == mask_string(old):
        return old
    return new


def merge_secrets(new_config: Any, old_config: Any) -> Any:
    """`new_config` with each placeholder that still stands where a secret was stored replaced by that secret.

    Keys are matched by path (dict keys, list positions). A placeholder with no stored value behind it (a
    renamed key, an edited URL) stays; `placeholder_paths` finds those so a form can ask for the value.
    """
    return _merge(new_config, old_config, False)


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
