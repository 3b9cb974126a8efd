"""`curate filter`'s whole configuration: one dataclass ↔ YAML ↔ flags.

FilterConfig composes every stage's own config with the stage order and the run options. YAML is
checked against the dataclass types before any work starts: an unknown key or a wrong type is
one line naming the file and the key (``config.yaml: near_dedup.threshold: expected a float, got
'high'``). ``dump_config`` writes the resolved config back, so a run can be repeated exactly.
"""

from __future__ import annotations

import copy
import dataclasses
import types
import typing
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import Any

import yaml

from curate.filters.registry import STAGES as REGISTRY
from curate.io import lang_from_path

DEFAULT_ORDER = list(REGISTRY)  # the registry's order: cheap first, costly last (registry.py)
STAGES = tuple(DEFAULT_ORDER)


class ConfigError(ValueError):
    """A config value a user can get wrong: the message is one line naming where and which key."""


@dataclass
class RunOptions:
    """The run-level keys of `curate filter`'s config; each stage's section follows them."""

    order: list[str] = field(default_factory=lambda: list(DEFAULT_ORDER))
    lang: str | None = None  # expected language; None: inferred from the input's name (es.json)
    against: list[str] = field(default_factory=list)  # reference sets for near-dedup novelty
    to: str | None = None  # also write kept.<ext> in this format / container
    workers: int = 1  # processes for the per-record checks and MinHash signatures
    chunk_size: int = 1000  # records per task sent to a worker process
    strict: bool = False  # stop at the first malformed input record instead of rejecting it
    examples_per_reason: int = 3  # examples shown per reason in report.md

    def stage_config(self, stage: str) -> Any:
        return getattr(self, section_of(stage))

    def enabled_stages(self) -> list[str]:
        return [s for s in self.order if self.stage_config(s).enabled]


# The run options, then one section per registered stage (registry.py), in the registry's order.
FilterConfig = dataclasses.make_dataclass(
    "FilterConfig",
    [(spec.section, spec.config, field(default_factory=spec.config)) for spec in REGISTRY.values()],
    bases=(RunOptions,),
)
FilterConfig.__module__ = __name__
FilterConfig.__doc__ = "`curate filter`'s whole config: run options + one section per stage."


def section_of(stage: str) -> str:
    return stage.replace("-", "_")


# ---------------------------------------------------------------- loading and checking


def default_config_text() -> str:
    return files("curate.configs").joinpath("filter.yaml").read_text(encoding="utf-8")


def load_config(path: str | Path | None) -> FilterConfig:
    """The shipped default (None) or a YAML file, fully checked."""
    if path is None:
        return parse_config(default_config_text(), "filter.yaml (default)")
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"--config: {path}: no such file")
    return parse_config(p.read_text(encoding="utf-8"), str(path))


def parse_config(text: str, where: str) -> FilterConfig:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{where}{line}: not valid YAML: {getattr(e, 'problem', e)}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: expected a mapping of keys to values, got {_kind(data)}")
    cfg = build_dataclass(FilterConfig, data, where, "")
    check_config(cfg, where)
    return cfg


def check_config(cfg: FilterConfig, where: str) -> None:
    """Checks that types alone cannot express."""
    for stage in cfg.order:
        if stage not in STAGES:
            raise ConfigError(
                f"{where}: order: unknown stage {stage!r}; stages: {', '.join(STAGES)}"
            )
    dupes = sorted({s for s in cfg.order if cfg.order.count(s) > 1})
    if dupes:
        raise ConfigError(f"{where}: order: stage {dupes[0]!r} listed twice")
    if cfg.workers < 1:
        raise ConfigError(f"{where}: workers: expected at least 1, got {cfg.workers}")
    for stage in STAGES:
        value = getattr(cfg.stage_config(stage), "threshold", None)
        if isinstance(value, float) and not 0.0 < value <= 1.0:
            key = f"{section_of(stage)}.threshold"
            raise ConfigError(f"{where}: {key}: expected a value in (0, 1], got {value}")
    for stage in STAGES:
        validate = getattr(cfg.stage_config(stage), "validate", None)
        if callable(validate):
            try:
                validate()
            except ValueError as e:
                message = str(e).removeprefix(f"{stage}: ")
                raise ConfigError(f"{where}: {section_of(stage)}: {message}") from None
    if cfg.chunk_size < 1:
        raise ConfigError(f"{where}: chunk_size: expected at least 1, got {cfg.chunk_size}")


def set_value(cfg: FilterConfig, dotted: str, value: Any, where: str) -> None:
    """Set ``section.key`` (or a top-level key) on cfg, checking the type like the YAML loader."""
    obj: Any = cfg
    parts = dotted.split(".")
    for i, part in enumerate(parts):
        hints = _hints(type(obj))
        if part not in hints:
            prefix = ".".join(parts[:i])
            raise ConfigError(_unknown(where, f"{prefix}.{part}" if prefix else part, hints))
        if i == len(parts) - 1:
            setattr(obj, part, _coerce(hints[part], value, where, dotted))
        elif i == len(parts) - 2 and isinstance(getattr(obj, part), dict):  # thresholds.insult
            key, item_type = parts[-1], (typing.get_args(hints[part]) or (Any, Any))[1]
            getattr(obj, part)[key] = _coerce(item_type, value, where, dotted)
            return
        else:
            obj = getattr(obj, part)
            if not dataclasses.is_dataclass(obj):
                raise ConfigError(f"{where}: {'.'.join(parts[: i + 1])}: is a value, not a section")


def dump_config(cfg: FilterConfig) -> str:
    return yaml.safe_dump(dataclasses.asdict(cfg), sort_keys=False, allow_unicode=True)


def build_dataclass(cls: type, data: dict[str, Any], where: str, prefix: str) -> Any:
    hints = _hints(cls)
    kwargs = {}
    for key, value in data.items():
        path = f"{prefix}{key}"
        if key not in hints:
            raise ConfigError(_unknown(where, path, hints))
        kwargs[key] = _coerce(hints[key], value, where, path)
    return cls(**kwargs)


def _hints(cls: type) -> dict[str, Any]:
    names = {f.name for f in dataclasses.fields(cls)}
    return {k: v for k, v in typing.get_type_hints(cls).items() if k in names}


def _unknown(where: str, path: str, hints: dict[str, Any]) -> str:
    return f"{where}: {path}: unknown key; expected one of: {', '.join(hints)}"


def _coerce(tp: Any, value: Any, where: str, path: str) -> Any:
    """value checked against the type hint tp (and converted: int → float, section → dataclass)."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        options = [a for a in args if a is not type(None)]
        for option in options:
            try:
                return _coerce(option, value, where, path)
            except ConfigError:
                continue
        raise ConfigError(f"{where}: {path}: expected {_describe(tp)}, got {_show(value)}")
    if origin is typing.Literal:
        if value in args:
            return value
        raise ConfigError(
            f"{where}: {path}: expected one of {', '.join(map(str, args))}, got {_show(value)}"
        )
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: {path}: expected a section of keys, got {_show(value)}")
        return build_dataclass(tp, value, where, f"{path}.")
    if origin in (list, tuple) or tp in (list, tuple):
        if not isinstance(value, list):
            raise ConfigError(f"{where}: {path}: expected {_describe(tp)}, got {_show(value)}")
        item = args[0] if args else Any
        return [_coerce(item, v, where, f"{path}[{i}]") for i, v in enumerate(value)]
    if origin is dict or tp is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: {path}: expected {_describe(tp)}, got {_show(value)}")
        kt, vt = args if args else (Any, Any)
        return {
            _coerce(kt, k, where, path): _coerce(vt, v, where, f"{path}.{k}")
            for k, v in value.items()
        }
    return _scalar(tp, value, where, path)


def _scalar(tp: Any, value: Any, where: str, path: str) -> Any:
    if tp is Any:
        return value
    if tp is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if tp is int and isinstance(value, int) and not isinstance(value, bool):
        return value
    if tp in (bool, str) and isinstance(value, tp):
        return value
    raise ConfigError(f"{where}: {path}: expected {_describe(tp)}, got {_show(value)}")


def _describe(tp: Any) -> str:
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        parts = [_describe(a) for a in args if a is not type(None)]
        return " or ".join(parts) + (" or null" if type(None) in args else "")
    if origin is typing.Literal:
        return "one of " + ", ".join(map(str, args))
    if origin in (list, tuple) or tp in (list, tuple):
        return (
            f"a list of {_describe(args[0]).removeprefix('a ').removeprefix('an ')}s"
            if args
            else "a list"
        )
    if origin is dict or tp is dict:
        return "a mapping"
    names = {bool: "a boolean (true/false)", int: "an integer", float: "a float", str: "a string"}
    return names.get(tp, getattr(tp, "__name__", str(tp)))


def _show(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return repr(value)


def _kind(value: Any) -> str:
    return _show(value) if isinstance(value, (dict, list)) else type(value).__name__


def apply_selection(cfg: FilterConfig, only: list[str] | None, skip: list[str] | None) -> None:
    """--only / --skip: switch stages off in the config, so config.yaml records the choice."""
    for option, names in (("--only", only), ("--skip", skip)):
        for name in names or []:
            if name not in STAGES:
                raise ConfigError(f"{option}: unknown stage {name!r}; stages: {', '.join(STAGES)}")
    for stage in STAGES:
        section = cfg.stage_config(stage)
        if only and stage not in only:
            section.enabled = False
        if skip and stage in skip:
            section.enabled = False


def resolved(cfg: FilterConfig, inputs: list[str]) -> FilterConfig:
    """A copy with the language filled in: ``lang`` from the first input's name (es.json) when
    unset, and the stages' own language keys from ``lang`` when theirs are unset."""
    out = copy.deepcopy(cfg)
    if out.lang is None and inputs:
        out.lang = lang_from_path(inputs[0])
    for section in (out.language, out.near_dedup):
        if hasattr(section, "lang") and section.lang is None:
            section.lang = out.lang
    return out
