"""Turning YAML values and command-line strings into typed config values, with file:line errors."""

from __future__ import annotations

import contextlib
import types
import typing
from typing import Any

import yaml


class ConfigError(ValueError):
    """A bad config value: the message is one line naming the file:line and field."""


def type_name(tp: Any) -> str:
    args = typing.get_args(tp)
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        return " | ".join(type_name(a) for a in args if a is not type(None)) + (
            " | null" if type(None) in args else ""
        )
    if typing.get_origin(tp) is list:
        return f"list[{type_name(args[0])}]"
    return {int: "int", float: "float", str: "str", bool: "bool"}.get(tp, str(tp))


# ---- coercion: a YAML value or a flag string → the field's type ----


def coerce(value: Any, tp: Any, where: str, *, from_flag: bool = False) -> Any:
    """``value`` as type ``tp``, or ConfigError naming ``where`` (file:line: field)."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        is_null = value is None or (from_flag and value in ("null", "none", "None"))
        if is_null and type(None) in args:
            return None
        options = [a for a in args if a is not type(None)]
        if isinstance(value, list) or (from_flag and str(value).lstrip().startswith("[")):
            options.sort(key=lambda a: typing.get_origin(a) is not list)  # a list value: list first
        for a in options:
            try:
                return coerce(value, a, where, from_flag=from_flag)
            except ConfigError:
                pass
        raise ConfigError(f"{where}: expected {type_name(tp)}, got {value!r}")
    if origin is list:
        if from_flag and isinstance(value, str):
            text = value.strip()
            value = (
                yaml.safe_load(text) if text.startswith("[") else [v for v in text.split(",") if v]
            )
        if isinstance(value, str | int | float) and not isinstance(value, bool):
            value = [value]
        if not isinstance(value, list):
            raise ConfigError(f"{where}: expected a list of {type_name(args[0])}, got {value!r}")
        return [coerce(v, args[0], where) for v in value]
    if tp is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in (
            "true",
            "yes",
            "1",
            "on",
            "false",
            "no",
            "0",
            "off",
        ):
            return value.lower() in ("true", "yes", "1", "on")
        raise ConfigError(f"{where}: expected true or false, got {value!r}")
    if tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lstrip("+-").isdigit():
            return int(value)
        if isinstance(value, float) and value.is_integer():
            return int(value)
        raise ConfigError(f"{where}: expected an integer, got {value!r}")
    if tp is float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        try:  # YAML 1.1 reads 2e-4 as a string
            return float(value) if isinstance(value, str) else _raise()
        except ValueError:
            raise ConfigError(f"{where}: expected a number, got {value!r}") from None
    if tp is str:
        if isinstance(value, str):
            return value
        raise ConfigError(f"{where}: expected a string, got {value!r}")
    raise ConfigError(f"{where}: unsupported type {tp}")  # pragma: no cover


def _raise() -> Any:
    raise ValueError


def yaml_lines(text: str) -> dict[str, int]:
    """Dotted key → 1-based line of that key in the YAML text."""
    out: dict[str, int] = {}

    def walk(node: Any, prefix: str) -> None:
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                key = f"{prefix}{k.value}"
                out[key] = k.start_mark.line + 1
                walk(v, key + ".")

    with contextlib.suppress(yaml.YAMLError):
        walk(yaml.compose(text), "")
    return out
