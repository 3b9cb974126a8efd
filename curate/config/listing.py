"""``--show-config``: every key of a command's config with its default, type, help and flag, as
YAML a person can copy into a ``--config`` file."""

from __future__ import annotations

import dataclasses
from typing import Any

import yaml

from curate.config.fields import field_types
from curate.config.secrets import masked
from curate.config.spec import ConfigSpec
from curate.config.values import type_name


def config_listing(spec: ConfigSpec[Any]) -> str:
    flags = {key: flag.names for flag in spec.all_flags() for key in flag.keys}
    head = (
        f"# Every key of this command's config with its default. Copy what you change into a file"
        f" for --config FILE, or set one key with --set {spec.example}.\n"
    )
    return head + "\n".join(_lines(masked(spec.defaults()), "", flags)) + "\n"


def _lines(obj: Any, prefix: str, flags: dict[str, tuple[str, ...]]) -> list[str]:
    indent = "  " * prefix.count(".")
    types_ = field_types(type(obj))
    out: list[str] = []
    for f in dataclasses.fields(obj):
        key, value = f"{prefix}{f.name}", getattr(obj, f.name)
        if dataclasses.is_dataclass(types_[f.name]):
            out.append(f"{indent}{f.name}:")
            out += _lines(value, f"{key}.", flags)
            continue
        notes = [type_name(types_[f.name]), f.metadata.get("help", "")]
        if key in flags:
            notes.append(" | ".join(flags[key]))
        comment = "; ".join(n for n in notes if n)
        out.append(f"{indent}{f.name}: {flow(value)}  # {comment}")
    return out


def flow(value: Any) -> str:
    """One value as inline YAML: ``0.7``, ``null``, ``[a, b]``, ``{insult: 0.5}``."""
    text = yaml.safe_dump(value, default_flow_style=True, allow_unicode=True, width=10**9)
    return text.strip().removesuffix("...").strip()
