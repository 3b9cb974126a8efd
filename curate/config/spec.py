"""One command's configuration: a dataclass, its dedicated flags and how the layers resolve.

dataclass defaults ← shipped YAML (if any) ← ``--config FILE`` (merged key by key) ← dedicated
flags ← ``--set section.key=value`` ← ``check`` (ranges and rules types cannot say). Every layer
is type-checked; ``Origins`` remembers where each key was last set, so a later check can name the
``file:line``, the flag or the ``--set`` that put a bad value there.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

from curate.config.errors import ConfigError
from curate.config.fields import apply_mapping, field_types, leaves, set_value
from curate.config.values import coerce, from_text, is_list, is_union
from curate.config.yaml_text import read_yaml

T = TypeVar("T")


@dataclass(frozen=True)
class Flag:
    """A dedicated command-line option: it sets ``keys`` (all of them, ``--keep`` → two stages),
    or, with ``expand``, whatever (key, value) pairs expand(value) returns (``--toxicity-threshold``
    → every label). The first name is the canonical one; the others are aliases."""

    names: tuple[str, ...] | str
    keys: tuple[str, ...] | str = ()
    help: str = ""
    type: Any = None  # default: the type of the first key
    expand: Callable[[Any], list[tuple[str, Any]]] | None = None
    sep: str | None = None  # a list flag also splits "a,b" on this
    choices: tuple[Any, ...] | None = None  # shown in --help (checked by the field)

    def __post_init__(self) -> None:
        for name in ("names", "keys"):
            value = getattr(self, name)
            object.__setattr__(self, name, (value,) if isinstance(value, str) else tuple(value))

    @property
    def name(self) -> str:
        return self.names[0]  # type: ignore[index]


def flag_name(key: str) -> str:
    """``lora.target_modules`` → ``--lora.target-modules``."""
    return "--" + ".".join(part.replace("_", "-") for part in key.split("."))


@dataclass
class Origins:
    """Where each dotted key got its value: the start of an error line about it."""

    source: str  # the config file, or what errors call the config when there is none
    labels: dict[str, str] = field(default_factory=dict)

    def where(self, key: str) -> str:
        """``file.yaml:12: key``, ``--flag``, ``--set: key`` or ``source: key``."""
        return self.labels.get(key, f"{self.source}: {key}")


@dataclass
class ConfigSpec(Generic[T]):
    cls: type[T]
    flags: tuple[Flag, ...] = ()  # besides the fields whose metadata asks for one
    shipped: Callable[[], str] | None = None  # the shipped defaults YAML, merged onto cls()
    shipped_name: str = "defaults"
    source: str = "options"  # what errors call the config when no file is given
    check: Callable[[T, Origins], None] | None = None
    positional: bool = False  # the CLI also takes the config file as its first argument
    example: str = "section.key=value"  # a --set example for help and errors

    def all_flags(self) -> list[Flag]:
        """The command's flags, then one per field that declares one (same name: one flag)."""
        merged: dict[str, Flag] = {f.name: f for f in self.flags}
        for leaf in leaves(self.cls):
            wanted = leaf.meta.get("flag")
            if not wanted:
                continue
            names = (flag_name(leaf.key),) if wanted is True else wanted
            meta = leaf.meta
            flag = Flag(
                names, leaf.key, leaf.help, sep=meta.get("sep"), choices=meta.get("choices")
            )
            same = merged.get(flag.name)
            if same is not None:  # `--keep` on two stages: one flag setting both
                keys = same.keys if leaf.key in same.keys else (*same.keys, leaf.key)
                flag = dataclasses.replace(same, keys=keys, help=same.help or flag.help)
            merged[flag.name] = flag
        return list(merged.values())

    def flag_type(self, flag: Flag) -> Any:
        return flag.type if flag.type is not None else key_type(self.cls, flag.keys[0])

    def defaults(self) -> T:
        cfg = self.cls()
        if self.shipped is not None:
            _apply_yaml(cfg, self.shipped(), self.shipped_name, Origins(self.shipped_name))
        return cfg

    def load(
        self,
        path: str | Path | None = None,
        values: Mapping[str, Any] | None = None,
        sets: Iterable[str] = (),
        *,
        path_label: str = "--config",
    ) -> tuple[T, Origins]:
        """Resolve every layer; ``values``: flag name → its command-line value (None: not given)."""
        origins = Origins(str(path) if path is not None else self.source)
        cfg = self.defaults()
        if path is not None:
            p = Path(path)
            if not p.is_file():
                raise ConfigError(f"{path_label}: {path}: no such file")
            _apply_yaml(cfg, p.read_text(encoding="utf-8"), str(path), origins)
        for flag in self.all_flags():
            value = (values or {}).get(flag.name)
            if value is None or (isinstance(value, (list, tuple)) and not value):
                continue  # not given
            self._apply_flag(cfg, flag, value, origins)
        for item in sets:
            key, eq, raw = item.partition("=")
            if not eq or not key.strip():
                raise ConfigError(f"--set: {item!r}: expected KEY=VALUE, e.g. {self.example}")
            set_value(cfg, key.strip(), raw, "--set", text=True)
            origins.labels[key.strip()] = f"--set: {key.strip()}"
        if self.check is not None:
            self.check(cfg, origins)
        return cfg, origins

    def _apply_flag(self, cfg: T, flag: Flag, value: Any, origins: Origins) -> None:
        if flag.expand is not None:
            for key, item in flag.expand(read_flag(self.flag_type(flag), value, flag.name)):
                set_value(cfg, key, item, flag.name, label=flag.name)
                origins.labels[key] = flag.name
            return
        for key in flag.keys:
            typed = read_flag(key_type(self.cls, key), value, flag.name, flag.sep)
            set_value(cfg, key, typed, flag.name, label=flag.name)
            origins.labels[key] = flag.name


def read_flag(tp: Any, value: Any, where: str, sep: str | None = None) -> Any:
    """A flag's value as click hands it over (a string, a bool, or the strings of a repeated
    option) → ``tp``."""
    if isinstance(value, str):
        return from_text(tp, value, where, sep)
    if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        if len(value) == 1:
            return from_text(tp, value[0], where, sep)
        options = [a for a in _options(tp) if is_list(a)] or [list]
        out: list[Any] = []
        for v in value:
            item = from_text(options[0], v, where, sep)
            out.extend(item)
        return out
    return coerce(tp, value, where)


def _options(tp: Any) -> tuple[Any, ...]:
    return typing.get_args(tp) if is_union(tp) else (tp,)


def key_type(cls: type, key: str) -> Any:
    tp: Any = cls
    for part in key.split("."):
        tp = field_types(tp)[part]
    return tp


def _apply_yaml(cfg: Any, text: str, where: str, origins: Origins) -> None:
    data, lines = read_yaml(text, where)

    def locate(key: str) -> str:
        return f"{where}:{lines[key]}" if key in lines else where

    apply_mapping(cfg, data, locate, type(cfg))
    for key in lines:
        origins.labels[key] = f"{locate(key)}: {key}"


def from_yaml(cls: type[T], text: str, where: str) -> T:
    """``cls()`` with the YAML text merged on, errors naming ``where:line: key``."""
    cfg = cls()
    _apply_yaml(cfg, text, where, Origins(where))
    return cfg
