"""A YAML value or a command-line string → the type a config field declares, or one ConfigError line.

Supported: bool, int, float, str, Any, Optional / unions, Literal, list[...], dict[str, ...] and
nested dataclasses (checked by the caller, key by key). An int is accepted for a float and an
integral float for an int; a string that spells a number is a float (YAML 1.1 reads ``2e-4`` as a
string); a single value is a one-item list.
"""

from __future__ import annotations

import dataclasses
import re
import types
import typing
from typing import Any

import yaml

from curate.config.errors import ConfigError

NULL_WORDS = ("null", "Null", "NULL", "~", "none", "None", "")
_NUMBER = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")


def is_union(tp: Any) -> bool:
    return typing.get_origin(tp) in (typing.Union, types.UnionType)


def is_list(tp: Any) -> bool:
    return typing.get_origin(tp) in (list, tuple) or tp in (list, tuple)


def is_dict(tp: Any) -> bool:
    return typing.get_origin(tp) is dict or tp is dict


def coerce(tp: Any, value: Any, where: str) -> Any:
    """``value`` checked against the type hint ``tp`` (and converted: int → float, "2e-4" → float)."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if is_union(tp):
        if value is None and type(None) in args:
            return None
        options = [a for a in args if a is not type(None)]
        if isinstance(value, list):  # a list value: the list option first (str | list[str])
            options.sort(key=lambda a: not is_list(a))
        for option in options:
            try:
                return coerce(option, value, where)
            except ConfigError:
                continue
        raise ConfigError(f"{where}: expected {describe(tp)}, got {show(value)}")
    if origin is typing.Literal:
        if value in args:
            return value
        raise ConfigError(f"{where}: expected {describe(tp)}, got {show(value)}")
    if dataclasses.is_dataclass(tp):
        raise ConfigError(f"{where}: expected a section of keys, got {show(value)}")
    if is_list(tp):
        if isinstance(value, (dict, bool)) or value is None:
            raise ConfigError(f"{where}: expected {describe(tp)}, got {show(value)}")
        items = value if isinstance(value, list) else [value]
        item = args[0] if args else Any
        return [coerce(item, v, f"{where}[{i}]") for i, v in enumerate(items)]
    if is_dict(tp):
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected {describe(tp)}, got {show(value)}")
        kt, vt = args if args else (Any, Any)
        return {coerce(kt, k, where): coerce(vt, v, f"{where}.{k}") for k, v in value.items()}
    return _scalar(tp, value, where)


def _scalar(tp: Any, value: Any, where: str) -> Any:
    if tp is Any:
        return value
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if tp is float and number:
        return float(value)
    if tp is float and isinstance(value, str) and _NUMBER.fullmatch(value.strip()):
        return float(value)  # YAML 1.1 reads 2e-4 (no dot) as a string
    if tp is int and number and float(value).is_integer():
        return int(value)
    if tp in (bool, str) and isinstance(value, tp):
        return value
    raise ConfigError(f"{where}: expected {describe(tp)}, got {show(value)}")


def from_text(tp: Any, raw: str, where: str, sep: str | None = None) -> Any:
    """A command-line string (a flag or ``--set`` value) as ``tp``: read as a YAML scalar, or taken
    literally where the field wants a string; a list is ``[a, b]`` or, with ``sep``, ``a,b``."""
    if is_union(tp):
        args = typing.get_args(tp)
        if type(None) in args and raw.strip() in NULL_WORDS:
            return None
        options = [a for a in args if a is not type(None)]
        if _looks_like_list(raw, sep):
            options.sort(key=lambda a: not is_list(a))
        for option in options:
            try:
                return from_text(option, raw, where, sep)
            except ConfigError:
                continue
        raise ConfigError(f"{where}: expected {describe(tp)}, got {show(_yaml_scalar(raw))}")
    if is_list(tp) and not raw.lstrip().startswith("["):
        items = [v.strip() for v in raw.split(sep) if v.strip()] if sep else [raw]
        item = (typing.get_args(tp) or (Any,))[0]
        return [from_text(item, v, f"{where}[{i}]") for i, v in enumerate(items)]
    value = _yaml_scalar(raw)
    try:
        return coerce(tp, value, where)
    except ConfigError:
        if value == raw or not _accepts_str(tp):
            raise
        return coerce(tp, raw, where)  # `--model 0123`, `--seeds a: b.jsonl`: the text itself


def _looks_like_list(raw: str, sep: str | None) -> bool:
    return raw.lstrip().startswith("[") or bool(sep and sep in raw)


def _accepts_str(tp: Any) -> bool:
    if typing.get_origin(tp) is typing.Literal:
        return any(isinstance(a, str) for a in typing.get_args(tp))
    return tp is str or tp is Any


def _yaml_scalar(raw: str) -> Any:
    try:
        return yaml.safe_load(raw)
    except yaml.YAMLError:
        return raw


def describe(tp: Any) -> str:
    """The type as a person says it: "a float", "a list of strings", "one of a, b"."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if is_union(tp):
        parts = [describe(a) for a in args if a is not type(None)]
        return " or ".join(parts) + (" or null" if type(None) in args else "")
    if origin is typing.Literal:
        return "one of " + ", ".join(map(str, args))
    if is_list(tp):
        if not args:
            return "a list"
        return f"a list of {describe(args[0]).removeprefix('a ').removeprefix('an ')}s"
    if is_dict(tp):
        return "a mapping"
    if dataclasses.is_dataclass(tp):
        return "a section of keys"
    names = {bool: "a boolean (true/false)", int: "an integer", float: "a float", str: "a string"}
    return names.get(tp, getattr(tp, "__name__", str(tp)))


def type_name(tp: Any) -> str:
    """The type as the config listing shows it: ``str | list[str]``, ``int | null``."""
    args = typing.get_args(tp)
    if is_union(tp):
        named = [type_name(a) for a in args if a is not type(None)]
        return " | ".join(named) + (" | null" if type(None) in args else "")
    if typing.get_origin(tp) is typing.Literal:
        return " | ".join(map(str, args))
    if is_list(tp):
        return f"list[{type_name(args[0])}]" if args else "list"
    if is_dict(tp):
        return f"dict[{', '.join(type_name(a) for a in args)}]" if args else "dict"
    return getattr(tp, "__name__", str(tp))


def show(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return repr(value)
