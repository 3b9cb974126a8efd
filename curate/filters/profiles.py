"""Audit profiles: shipped sets of `curate filter` settings for what is being audited.

``curate/configs/profiles/NAME.yaml`` (generated, human, strict), each commented key by key. A
profile sits just above the defaults: the keys the user set (``--config``, a flag, ``--set``) are
left as they are. Unless chosen, the profile comes from the input: `curate generate` output (its
records carry ``meta.generation``, or it lies in a directory `curate generate` owns) is audited
as ``generated``, anything else as ``human``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection
from importlib.resources import files
from pathlib import Path
from typing import Any

from curate import rundir
from curate.config import ConfigError, field_types, read_yaml, set_value
from curate.io import InputError, read_records
from curate.records import Record

PROFILES = ("generated", "human", "strict")


def profile_text(name: str) -> str:
    if name not in PROFILES:
        raise ConfigError(f"--profile: unknown profile {name!r}; profiles: {', '.join(PROFILES)}")
    return files("curate.configs").joinpath(f"profiles/{name}.yaml").read_text(encoding="utf-8")


def apply_profile(cfg: Any, name: str, keep: Collection[str] = ()) -> None:
    """Set the profile's keys on ``cfg``, except those in ``keep`` (set by the user: --config,
    a flag, --set): a profile sits just above the defaults."""
    where = f"profiles/{name}.yaml"
    data, lines = read_yaml(profile_text(name), where)

    def walk(obj: object, mapping: dict, prefix: str) -> None:
        types_ = field_types(type(obj))
        for key, value in mapping.items():
            dotted = f"{prefix}{key}"
            if key not in types_:
                raise ConfigError(f"{where}:{lines.get(dotted, '?')}: {dotted}: unknown key")
            if dataclasses.is_dataclass(types_[key]) and isinstance(value, dict):
                walk(getattr(obj, key), value, f"{dotted}.")
            elif dotted not in keep:
                set_value(cfg, dotted, value, f"{where}:{lines.get(dotted, '?')}")

    walk(cfg, data, "")


def choose_profile(cfg: Any, inputs: list[str], keep: set[str], chosen_by: str) -> None:
    """The run's profile (``cfg.profile``, else detected from the inputs) applied under the
    user's keys (``keep``); why it was chosen goes to ``cfg.profile_from`` (not a config key:
    said in the summary line, stats.json and report.md)."""
    if cfg.profile is None:
        cfg.profile, why = detect_profile(inputs)
    else:
        why = f"set by {chosen_by}"
    apply_profile(cfg, cfg.profile, keep)
    cfg.profile_from = why


def detect_profile(inputs: list[str]) -> tuple[str, str]:
    """(profile, why) for an audit whose profile was not chosen: ``generated`` when the first
    input is `curate generate` output (its records carry meta.generation, or it lies in a
    directory `curate generate` owns), else ``human``."""
    first = inputs[0] if inputs else ""
    path = Path(first.partition(":")[0] if not Path(first).exists() else first)
    if path.is_file():
        try:
            marker = rundir.read_marker(path.parent)
        except rundir.OutputDirError:
            marker = None
        if marker is not None and marker.get("command") == "generate":
            return "generated", f"{path.name} is in a `curate generate` directory"
        try:
            for i, item in enumerate(read_records(str(path))):
                if isinstance(item, Record):
                    if isinstance(item.meta.get("generation"), dict):
                        why = f"{path.name} is `curate generate` output"
                        return "generated", why
                    break
                if i >= 10:
                    break
        except (OSError, ValueError, InputError):
            pass  # the run itself reports an unreadable input
    return "human", "input not `curate generate` output"
