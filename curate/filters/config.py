"""`curate filter`'s whole configuration: one dataclass ↔ YAML ↔ flags.

FilterConfig composes every stage's own config with the stage order and the run options. YAML is
checked against the dataclass types before any work starts: an unknown key or a wrong type is
one line naming the file, line and key (``config.yaml:12: near_dedup.threshold: expected a float,
got 'high'``). ``dump_config`` writes the resolved config back, so a run can be repeated exactly.
"""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import Any

from curate.config import ConfigError, dump, from_yaml, option, read_yaml
from curate.config import set_value as set_value  # re-exported: the one checked setter
from curate.filters.profiles import PROFILES, apply_profile
from curate.filters.registry import STAGES as REGISTRY
from curate.io import lang_from_path, resolve_output
from curate.text import check_lang

ENGINES = ("local", "ray")  # where the stages run (curate/engines/)
DEFAULT_ORDER = list(REGISTRY)  # the registry's order: cheap first, costly last (registry.py)
STAGES = tuple(DEFAULT_ORDER)

# the generic machinery lives in curate.config; these names stay importable from here
dump_config = dump


@dataclass
class RunOptions:
    """The run-level keys of `curate filter`'s config; each stage's section follows them."""

    order: list[str] = option(list(DEFAULT_ORDER), "Stages in the order they run.")
    profile: str | None = option(
        None,
        "Audit profile: generated (model output: Self-Instruct's rules), human (people's writing:"
        " rules read in context, repairs) or strict (every check, no repairs), from"
        " curate/configs/profiles/NAME.yaml under --config, the flags and --set; null:"
        " generated for `curate generate` output, else human.",
    )
    lang: str | None = option(None, "Expected language; null: from the input's name (es.json).")
    against: list[str] = option(
        [], "Reference set for near-dedup novelty (repeatable).", flag="--against"
    )
    to: str | None = option(None, "Also write kept.<ext> in this format or container.", flag="--to")
    workers: int = option(
        1, "Worker processes (per-record checks, MinHash signatures).", flag="--workers"
    )
    chunk_size: int = option(1000, "Records per task sent to a worker process.")
    strict: bool = option(
        False, "Stop at the first malformed record instead of rejecting it.", flag="--strict"
    )
    examples_per_reason: int = option(3, "Examples shown per reason in report.md.")
    engine: str = option(
        "local",
        "Where the stages run: local (this machine; the default, and the faster one on one"
        " machine) or ray (Ray Data on a Ray cluster, for a corpus that outgrows one machine; needs"
        " `pip install 'instructforge[ray]'`). On one 2-core machine Ray took 1.2x the wall time,"
        " 3.9x the CPU and 5x the memory of local for 200k records (README 'When you outgrow one"
        " machine').",
        flag="--engine",
    )
    ray_address: str | None = option(
        None,
        "engine: ray: the Ray cluster to join (auto, HOST:6379 or ray://HOST:10001); null: start"
        " a private single-machine Ray for this run, bound to 127.0.0.1, stopped after it.",
        flag="--ray-address",
    )

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
    """The config section of a registered stage (``near-dedup`` → ``near_dedup``)."""
    return REGISTRY[stage].section


# ---------------------------------------------------------------- loading and checking


def default_config_text() -> str:
    return files("curate.configs").joinpath("filter.yaml").read_text(encoding="utf-8")


def load_config(path: str | Path | None, profile: str | None = None) -> FilterConfig:
    """The shipped default (None) or a YAML file, fully checked; with ``profile``, that profile's
    settings under the file's (a key the file sets is the file's)."""
    if path is None:
        text, where = default_config_text(), "filter.yaml (default)"
    else:
        p = Path(path)
        if not p.is_file():
            raise ConfigError(f"--config: {path}: no such file")
        text, where = p.read_text(encoding="utf-8"), str(path)
    cfg = parse_config(text, where)
    if profile is not None:
        apply_profile(cfg, profile, keep=set(read_yaml(text, where)[1]))
        cfg.profile = profile
        check_config(cfg, where)
    return cfg


def parse_config(text: str, where: str) -> FilterConfig:
    cfg = from_yaml(FilterConfig, text, where)
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
    for name, spec in REGISTRY.items():  # an opt-in stage switched on must also be in the order
        opt_in = not getattr(spec.config(), "enabled", True)
        if opt_in and cfg.stage_config(name).enabled and name not in cfg.order:
            raise ConfigError(
                f"{where}: {spec.section}.enabled is true but order does not list {name!r} "
                f"(a config written before it existed?): add it to order"
            )
    if cfg.profile is not None and cfg.profile not in PROFILES:
        raise ConfigError(
            f"{where}: profile: expected one of {', '.join(PROFILES)} (or null), got {cfg.profile!r}"
        )
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
    if cfg.engine not in ENGINES:
        raise ConfigError(
            f"{where}: engine: expected one of {', '.join(ENGINES)}, got {cfg.engine!r}"
        )
    if cfg.ray_address and cfg.engine != "ray":
        raise ConfigError(f"{where}: ray_address: set only with engine: ray")
    if cfg.chunk_size < 1:
        raise ConfigError(f"{where}: chunk_size: expected at least 1, got {cfg.chunk_size}")
    for key, value in (
        ("lang", cfg.lang),
        ("language.lang", cfg.language.lang),
        ("near_dedup.lang", getattr(cfg.near_dedup, "lang", None)),
    ):
        problem = check_lang(value) if value else None
        if problem:
            raise ConfigError(f"{where}: {key}: {problem}")
    if cfg.to:
        try:
            resolve_output(kept_name(cfg.to), cfg.to)
        except ValueError as e:
            raise ConfigError(f"{where}: to: {e}") from None


def kept_name(to: str) -> str:
    """The file --to writes beside kept.jsonl: kept.parquet, kept.alpaca.json …"""
    key = to.lower()
    return f"kept.{key}" if key in ("jsonl", "json", "parquet", "csv") else f"kept.{key}.json"


def apply_selection(cfg: FilterConfig, only: list[str] | None, skip: list[str] | None) -> None:
    """--only / --skip: switch stages on (--only names them: an opt-in stage too) or off, in the
    config, so config.yaml records the choice."""
    for flag, names in (("--only", only), ("--skip", skip)):
        for name in names or []:
            if name not in STAGES:
                raise ConfigError(f"{flag}: unknown stage {name!r}; stages: {', '.join(STAGES)}")
    for stage in STAGES:
        section = cfg.stage_config(stage)
        if only:
            section.enabled = stage in only
        if skip and stage in skip:
            section.enabled = False


def resolved(cfg: FilterConfig, inputs: list[str]) -> FilterConfig:
    """A copy with the language filled in: ``lang`` from the first input's name (es.json) when
    unset, and the stages' own language keys from ``lang`` when theirs are unset."""
    out = copy.deepcopy(cfg)
    if out.lang is None and inputs:
        out.lang = lang_from_path(inputs[0])
        if out.lang is not None:  # said in the summary line and report.md (not a config key)
            out.lang_from = f"the file name {Path(inputs[0].partition(':')[0]).name}"
    for section in (out.language, out.near_dedup):
        if hasattr(section, "lang") and section.lang is None:
            section.lang = out.lang
    return out
