"""Secrets out of what a command prints or saves: a URL's ``user:password@`` becomes ``***@`` and
the value of a key named like a credential (``api_key``, ``token``, ``password``, ``secret``)
becomes ``'***'``. ``masked`` returns a copy; the config a run uses is never changed."""

from __future__ import annotations

import copy
import dataclasses
import re
from typing import Any

MASK = "***"
_USERINFO = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*://)[^/?#@]*@")
# a key's last part: api_key, apikey, hf_token, access_token, password, passwd, secret, client_secret
_SECRET_KEY = re.compile(r"(^|[_.-])(api_?key|token|password|passwd|secret)$", re.IGNORECASE)


def redact_url(url: str | None) -> str | None:
    """``url`` with any ``user:password@`` replaced by ``***@`` (for messages, configs, stats)."""
    if not url:
        return url
    return _USERINFO.sub(rf"\1{MASK}@", url.strip())


def secret_key(key: str) -> bool:
    return bool(_SECRET_KEY.search(key))


def masked(obj: Any, key: str = "") -> Any:
    """A copy of ``obj`` (a config dataclass, dict, list or value) with every credential masked:
    a string under a secret-named key → ``'***'``, a URL's userinfo → ``***@``."""
    if isinstance(obj, str):
        if obj and secret_key(key):
            return MASK
        return redact_url(obj) if "@" in obj else obj
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        out = copy.copy(obj)
        for f in dataclasses.fields(obj):
            value = getattr(obj, f.name)
            new = masked(value, f.name)
            if new is not value:
                object.__setattr__(out, f.name, new)
        return out
    if isinstance(obj, dict):
        return {k: masked(v, str(k)) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return type(obj)(masked(v, key) for v in obj)
    return obj
