"""`curate experiment`'s config: the data, its variants, the model and recipe, the seeds, the budget.

A variant is a name and a filter: ``{}`` (the data as it is), or any `curate filter` config given
as ``only: [stages]``, ``skip: [stages]``, ``set: {key: value}`` and ``config: FILE`` (a filter
YAML). Every variant that filters gets a random control of the same size (``random-NAME``),
unless ``controls: false`` or its own ``control: false``.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from curate.config import ConfigError, ConfigSpec, Origins, dump, option
from curate.filters.config import FilterConfig, apply_selection, check_config, load_config
from curate.filters.config import set_value as set_filter_value

BUDGETS = ("tokens", "steps")
VARIANT_KEYS = ("only", "skip", "set", "config", "control")
CONTROL_PREFIX = "random-"


@dataclass
class ExperimentConfig:
    data: list[str] = option(
        list, "Input records, any format curate reads: the pool every variant is cut from."
    )
    heldout: str | None = option(
        None, "Fixed held-out set for eval loss; null: heldout_size records split off data."
    )
    heldout_size: int = option(100, "Records split off data as the held-out set (heldout null).")
    heldout_filter: list[str] = option(
        lambda: ["exact-dedup", "quality"],
        "Stages that clean the held-out split off data (its exact copies leave the pool too).",
    )
    base_model: str = option("", "Base model every run trains from: local directory or hub id.")
    recipe: str | None = option(
        None, "A `train run` YAML (train/configs/…) every run starts from; null: its defaults."
    )
    train: dict[str, Any] = option(
        dict, "`train run` keys set on the recipe (max_seq_len: 256, lora.r: 8, lr: 1e-3 …)."
    )
    seeds: list[int] = option(lambda: [1, 2], "Training seeds; every variant runs once per seed.")
    budget: str = option(
        "tokens", "tokens: every run trains on the same number of tokens; steps: the same steps."
    )
    tokens: int = option(
        0, "budget tokens: tokens per run; 0: the smallest variant's training tokens x epochs."
    )
    epochs: float = option(1.0, "budget tokens, tokens 0: passes over the smallest variant.")
    steps: int = option(0, "budget steps: optimizer steps per run; 0: the recipe's max_steps.")
    controls: bool = option(
        True, "Add a random subset of the same size (random-NAME) for every filtered variant."
    )
    data_seed: int = option(0, "Seed of the held-out split and the random controls.")
    baseline: str = option("", "Variant the others are compared with; empty: the first.")
    variants: dict[str, dict[str, Any]] = option(
        lambda: {"full": {}},
        "name → filter: {} (no filtering), or only: [stages], skip: [stages], set: {key: value},"
        " config: FILE (a curate filter YAML), control: false (no random control).",
    )
    examples: int = option(3, "Example records shown per compared variant in experiment.md.")
    judge_backend: str | None = option(
        None, "Win-rate against the baseline with this judge backend (vllm, openai …); null: none."
    )
    judge_model: str = option("", "Judge model for the win-rate.")
    judge_base_url: str | None = option(None, "Server of an openai judge backend.")
    judge_examples: int = option(20, "Held-out instructions the win-rate is judged on.")


def check(cfg: ExperimentConfig, origins: Origins) -> None:
    where = origins.where
    if not cfg.data:
        raise ConfigError(f"{where('data')}: required (one or more input files)")
    if not cfg.base_model:
        raise ConfigError(f"{where('base_model')}: required (a local model directory or hub id)")
    if cfg.budget not in BUDGETS:
        raise ConfigError(f"{where('budget')}: expected one of {', '.join(BUDGETS)}")
    if not cfg.seeds:
        raise ConfigError(f"{where('seeds')}: at least one seed")
    if not cfg.variants:
        raise ConfigError(f"{where('variants')}: at least one variant")
    if cfg.baseline and cfg.baseline not in cfg.variants:
        raise ConfigError(f"{where('baseline')}: {cfg.baseline!r} is not a variant")
    if cfg.heldout is None and cfg.heldout_size < 1:
        raise ConfigError(f"{where('heldout_size')}: at least 1 (or give heldout)")
    from curate.filters.registry import STAGES

    unknown_stages = [s for s in cfg.heldout_filter if s not in STAGES]
    if unknown_stages:
        raise ConfigError(
            f"{where('heldout_filter')}: unknown stage {unknown_stages[0]!r}; stages: "
            + ", ".join(STAGES)
        )
    for name, spec in cfg.variants.items():
        key = f"variants.{name}"
        if not isinstance(spec, dict):
            raise ConfigError(f"{where(key)}: expected a section of keys ({{}} for no filter)")
        if name.startswith(CONTROL_PREFIX) or not name.replace("-", "").replace("_", "").isalnum():
            raise ConfigError(
                f"{where(key)}: a variant name is letters, digits, - and _, not starting "
                f"with {CONTROL_PREFIX!r}"
            )
        unknown = [k for k in spec if k not in VARIANT_KEYS]
        if unknown:
            raise ConfigError(
                f"{where(key)}: unknown key {unknown[0]!r}; keys: {', '.join(VARIANT_KEYS)}"
            )
        if filtered(spec):
            filter_config(spec, where(key))  # every filter config is checked before any work


def filtered(spec: dict[str, Any]) -> bool:
    return any(k in spec for k in ("only", "skip", "set", "config"))


def filter_config(spec: dict[str, Any], where: str) -> FilterConfig:
    """The `curate filter` config of a variant (checked)."""
    cfg = load_config(spec.get("config"))
    listed = {k: spec.get(k) for k in ("only", "skip")}
    for k, v in listed.items():
        if isinstance(v, str):
            listed[k] = [v]
    apply_selection(cfg, listed["only"], listed["skip"])
    for key, value in (spec.get("set") or {}).items():
        set_filter_value(cfg, key, value, f"{where}: set")
    check_config(cfg, where)
    return cfg


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def variant_config_text(spec: dict[str, Any], where: str) -> str:
    """What a variant's data depends on besides the pool: its resolved filter config."""
    if not filtered(spec):
        return "filter: none\n"
    return dump(filter_config(spec, where))


def canonical(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, ensure_ascii=False, default=str)


SPEC = ConfigSpec(
    ExperimentConfig,
    source="config",
    check=check,
    positional=True,
    example="seeds=[1,2,3]",
)


def load(path: str | Path) -> ExperimentConfig:
    return SPEC.load(path, path_label="CONFIG")[0]
