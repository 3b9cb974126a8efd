"""Kept for old imports: the config machinery lives in ``curate.config`` now."""

from __future__ import annotations

from typing import Any

from curate.config import ConfigError, from_text, type_name, yaml_lines
from curate.config import coerce as _coerce

__all__ = ["ConfigError", "coerce", "type_name", "yaml_lines"]


def coerce(value: Any, tp: Any, where: str, *, from_flag: bool = False) -> Any:
    """``value`` as type ``tp`` (a flag string read as the field's type), or ConfigError."""
    if from_flag and isinstance(value, str):
        return from_text(tp, value, where, ",")
    return _coerce(tp, value, where)
