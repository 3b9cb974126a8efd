"""Config dataclass fields: their metadata (help, flag, choices), the dotted keys of a config and
the one way a value reaches a field (checked, with "did you mean" for a key that does not exist)."""

from __future__ import annotations

import contextlib
import dataclasses
import difflib
import typing
from collections.abc import Callable, Iterator
from dataclasses import MISSING, dataclass, field
from functools import cache
from types import MappingProxyType
from typing import Any

from curate.config.errors import ConfigError
from curate.config.values import coerce, from_text, is_dict


def option(
    default: Any,
    help: str = "",
    *,
    flag: bool | str | tuple[str, ...] | None = None,
    choices: tuple[Any, ...] | None = None,
    sep: str | None = None,
) -> Any:
    """A config field with its help text; ``flag``: a dedicated command-line option (True: named
    after the key, ``lora.target_modules`` → ``--lora.target-modules``; or the names to use);
    ``choices``: the allowed values; ``sep``: a list flag also splits ``a,b`` on it.

    ``default`` may be a list, a dict or a callable (a factory, e.g. a dataclass)."""
    meta = {"help": help, "flag": flag, "choices": choices, "sep": sep}
    if isinstance(default, (list, dict)):
        value = default
        return field(default_factory=lambda: type(value)(value), metadata=meta)
    if callable(default):
        return field(default_factory=default, metadata=meta)
    return field(default=default, metadata=meta)


@dataclass(frozen=True)
class Leaf:
    """One settable key of a config: ``near_dedup.threshold`` and what its dataclass says of it."""

    key: str
    type: Any
    default: Any
    help: str
    meta: dict[str, Any]


def field_types(cls: type) -> dict[str, Any]:
    """Field name → resolved type hint (works for ``make_dataclass`` classes too).

    Resolved once per class (``typing.get_type_hints`` is slow and every config key asks):
    a read-only view of the cached mapping."""
    return MappingProxyType(_field_types(cls))  # type: ignore[return-value]


@cache
def _field_types(cls: type) -> dict[str, Any]:
    names = [f.name for f in dataclasses.fields(cls)]
    try:
        hints = typing.get_type_hints(cls)
    except NameError:  # a make_dataclass class whose annotations are strings of another module
        hints = {f.name: f.type for f in dataclasses.fields(cls)}
    return {name: hints.get(name, Any) for name in names}


def leaves(cls: type, prefix: str = "") -> Iterator[Leaf]:
    """Every leaf key of a config dataclass, depth first, in declaration order."""
    types_ = field_types(cls)
    for f in dataclasses.fields(cls):
        tp = types_[f.name]
        if dataclasses.is_dataclass(tp):
            yield from leaves(tp, f"{prefix}{f.name}.")  # type: ignore[arg-type]
            continue
        default = f.default if f.default is not MISSING else _factory(f)
        yield Leaf(prefix + f.name, tp, default, f.metadata.get("help", ""), dict(f.metadata))


def _factory(f: dataclasses.Field) -> Any:
    return f.default_factory() if f.default_factory is not MISSING else None  # type: ignore[misc]


def sections(cls: type, prefix: str = "") -> Iterator[str]:
    for name, tp in field_types(cls).items():
        if dataclasses.is_dataclass(tp):
            yield prefix + name
            yield from sections(tp, f"{prefix}{name}.")  # type: ignore[arg-type]


def unknown_key(root: type, key: str, where: str) -> ConfigError:
    """``where: key: unknown key (did you mean 'near_dedup.threshold'?)``."""
    known = [leaf.key for leaf in leaves(root)] + list(sections(root))
    close = closest(key, known)
    if close:
        return ConfigError(f"{where}: {key}: unknown key (did you mean {close!r}?)")
    parent = key.rpartition(".")[0]
    siblings = [k.removeprefix(f"{parent}.") for k in known if k.rpartition(".")[0] == parent]
    return ConfigError(f"{where}: {key}: unknown key; expected one of: {', '.join(siblings)}")


def closest(key: str, known: list[str], cutoff: float = 0.6) -> str | None:
    """The known dotted key most like ``key``, comparing whole keys and their last parts (so a
    misspelt ``temprature`` finds ``sampling.temperature``); None below ``cutoff``."""

    def similarity(a: str, b: str) -> float:
        return difflib.SequenceMatcher(None, a, b).ratio()

    last = key.rsplit(".", 1)[-1]
    scored = [
        (max(similarity(key, k), similarity(last, k.rsplit(".", 1)[-1])), similarity(key, k), k)
        for k in known
    ]
    best = max(scored, default=None)
    return best[2] if best is not None and best[0] >= cutoff else None


def check_field(obj: Any, name: str, value: Any, where: str, *, text: bool = False) -> Any:
    """``value`` for field ``name`` of dataclass ``obj``: its type, then its choices."""
    f = next(f for f in dataclasses.fields(obj) if f.name == name)
    tp = field_types(type(obj))[name]
    value = from_text(tp, value, where, f.metadata.get("sep")) if text else coerce(tp, value, where)
    choices = f.metadata.get("choices")
    if choices and value not in choices:
        raise ConfigError(f"{where}: expected one of {', '.join(map(str, choices))}, got {value!r}")
    return value


def apply_mapping(
    obj: Any, data: dict[str, Any], locate: Callable[[str], str], root: type, prefix: str = ""
) -> None:
    """Set every key of a YAML mapping on ``obj``; sections are merged key by key, values replace.
    ``locate(dotted key)`` says where the key was written (``file.yaml:12``) for the error line."""
    types_ = field_types(type(obj))
    for key, value in data.items():
        path = f"{prefix}{key}"
        if key not in types_:
            raise unknown_key(root, path, locate(path))
        if dataclasses.is_dataclass(types_[key]):
            if not isinstance(value, dict):
                kind = "a list" if isinstance(value, list) else repr(value)
                raise ConfigError(f"{locate(path)}: {path}: expected a section of keys, got {kind}")
            apply_mapping(getattr(obj, key), value, locate, root, f"{path}.")
            continue
        if is_dict(types_[key]) and isinstance(value, dict):  # each item names its own line
            item_type = (typing.get_args(types_[key]) or (Any, Any))[1]
            for k, v in value.items():
                coerce(item_type, v, f"{locate(f'{path}.{k}')}: {path}.{k}")
        setattr(obj, key, check_field(obj, key, value, f"{locate(path)}: {path}"))


def set_value(
    cfg: Any, dotted: str, value: Any, where: str, *, text: bool = False, label: str | None = None
) -> None:
    """Set ``section.key`` (or a top-level key, or ``section.mapping.item``) on cfg, checked like a
    YAML value. ``text``: value is a command-line string, read as the field's type. Errors start
    with ``label``, by default ``where: dotted.key`` (a dedicated flag passes its own name)."""
    obj, parts = cfg, dotted.split(".")
    label = label or f"{where}: {dotted}"
    for i, part in enumerate(parts):
        types_ = field_types(type(obj)) if dataclasses.is_dataclass(obj) else {}
        if part not in types_:
            raise unknown_key(type(cfg), ".".join(parts[: i + 1]), where)
        tp, last = types_[part], i == len(parts) - 1
        if last and dataclasses.is_dataclass(tp):
            data = _section_value(value, text, label)
            apply_mapping(getattr(obj, part), data, lambda k: where, type(cfg), f"{dotted}.")
            return
        if last:
            setattr(obj, part, check_field(obj, part, value, label, text=text))
            return
        if i == len(parts) - 2 and is_dict(tp):  # toxicity.thresholds.insult
            item_type = (typing.get_args(tp) or (Any, Any))[1]
            read = from_text if text else coerce
            getattr(obj, part)[parts[-1]] = read(item_type, value, label)
            return
        if not dataclasses.is_dataclass(tp):
            raise ConfigError(f"{where}: {'.'.join(parts[: i + 1])}: is a value, not a section")
        obj = getattr(obj, part)


def _section_value(value: Any, text: bool, where: str) -> dict[str, Any]:
    if text:
        import yaml

        with contextlib.suppress(yaml.YAMLError):
            value = yaml.safe_load(value)
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: expected a section of keys, got {value!r}")
    return value


def build(cls: type, data: dict[str, Any], where: str, prefix: str = "") -> Any:
    """``cls()`` with a YAML mapping set on it (every error starts with ``where``)."""
    obj = cls()
    apply_mapping(obj, data, lambda key: where, cls, prefix)
    return obj
