"""`curate loop`'s configuration: a `loop:` section plus the whole config of each command it runs.

``generate:``, ``filter:``, ``train:`` and ``eval:`` are the dataclasses of `curate generate`,
`curate filter`, `train run` and `train eval`, so any of their keys works here (and with
``--set train.max_steps=3``). The loop fills in what it owns per round: generate's adapter,
run id, round and earlier runs; filter's reference set and eval set; train's data, base model and
output dir; eval's data and output dir.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from typing import Any, Literal

from curate.config import ConfigError, ConfigSpec, Flag, Origins, option
from curate.config.secrets import masked
from curate.filters.config import FilterConfig
from curate.filters.config import check_config as check_filter
from curate.filters.config import load_config as filter_defaults
from curate.generate.config import SPEC as GENERATE_SPEC
from curate.generate.config import GenerateConfig
from curate.generate.config import check_config as check_generate
from train.config import TrainConfig
from train.config import check_values as check_train
from train.eval_config import EvalConfig


@dataclass
class LoopSettings:
    rounds: int = option(3, "Stop after this many rounds.", flag="--rounds")
    heldout: str = option(
        "",
        "Held-out eval set (any format `curate convert` reads): eval loss each round, and"
        " decontamination of every generated record against it; required.",
        flag="--heldout",
    )
    target_pool: int | None = option(
        None, "Stop once the pool of kept records is at least this big; null: no target."
    )
    plateau_delta: float = option(
        0.01, "An eval loss counts as better when it is at least this much below the best so far."
    )
    plateau_rounds: int = option(
        0, "Stop when the eval loss has not got better for this many rounds; 0: never."
    )
    train_mode: Literal["from_base", "continue"] = option(
        "from_base",
        "How round k trains: from_base = a fresh adapter from the base on every record kept so"
        " far; continue = round k-1's adapter trained on, on round k's new records only"
        " (round 1 starts from the base either way).",
    )


def _generate_defaults() -> GenerateConfig:
    cfg = GENERATE_SPEC.defaults()
    cfg.rounds = 1  # one generate round per loop round: its number is the loop's
    cfg.target = 1_000_000
    return cfg


@dataclass
class LoopConfig:
    loop: LoopSettings = option(LoopSettings, "The loop itself: rounds, held-out set, stop rules.")
    generate: GenerateConfig = option(
        _generate_defaults, "`curate generate`'s config (round k>1 uses round k-1's adapter)."
    )
    filter: FilterConfig = option(
        lambda: filter_defaults(None), "`curate filter`'s config, run on each round's records."
    )
    train: TrainConfig = option(TrainConfig, "`train run`'s config (base_model: generate.model).")
    eval: EvalConfig = option(EvalConfig, "`train eval`'s config (data: loop.heldout).")


class _Within:
    """Origins seen from a section: ``where('x')`` names ``section.x``."""

    def __init__(self, origins: Origins, section: str):
        self.origins, self.section = origins, section

    def where(self, key: str) -> str:
        return self.origins.where(f"{self.section}.{key}")


def check_loop(cfg: LoopConfig, origins: Origins) -> None:
    where = origins.where
    if not cfg.loop.heldout:
        raise ConfigError(f"{where('loop.heldout')}: required (a held-out eval set)")
    if cfg.loop.rounds < 1:
        raise ConfigError(f"{where('loop.rounds')}: expected at least 1, got {cfg.loop.rounds}")
    if cfg.generate.rounds != 1:
        raise ConfigError(
            f"{where('generate.rounds')}: the loop runs one generate round per loop round"
            " (set generate.batch_size for more per round)"
        )
    check_generate(cfg.generate, _Within(origins, "generate"))  # type: ignore[arg-type]
    check_filter(cfg.filter, "filter")
    if not cfg.train.base_model:
        cfg.train.base_model = cfg.generate.model
    train = dataclasses.replace(cfg.train, data=["(each round's kept records)"])
    check_train(train, _Within(origins, "train"))  # type: ignore[arg-type]


def round_identity(cfg: LoopConfig) -> dict[str, Any]:
    """What a finished round was made with: every section but the stop rules (which may change
    between runs: raise loop.rounds to go on). Credentials masked: it is saved in every round."""
    data = dataclasses.asdict(masked(cfg))
    data["loop"] = {"heldout": cfg.loop.heldout, "train_mode": cfg.loop.train_mode}
    for key in ("target", "rounds"):
        data["generate"].pop(key, None)
    return json.loads(json.dumps(data, default=str))


def loop_id(cfg: LoopConfig) -> str:
    """8 hex digits of the round identity: the run id in every generated id of this loop."""
    text = json.dumps(round_identity(cfg), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:8]


def changes(before: Any, now: Any, prefix: str = "") -> list[str]:
    """``key: old → new`` for every leaf that differs between two nested dicts."""
    if isinstance(before, dict) and isinstance(now, dict):
        out = []
        for key in sorted(before.keys() | now.keys(), key=str):
            out += changes(before.get(key), now.get(key), f"{prefix}{key}.")
        return out
    return [] if before == now else [f"{prefix.rstrip('.')}: {before!r} → {now!r}"]


class LoopSpec(ConfigSpec):
    """The loop's own flags only (``--rounds``, ``--heldout``, ``--model``): the sections' flags
    would clash (``--out`` is train's and eval's too); their keys are set with --set or the YAML."""

    def all_flags(self) -> list[Flag]:
        own = []
        for flag in super().all_flags():
            keys = tuple(k for k in flag.keys if k.startswith("loop."))
            if keys and flag.name not in {f.name for f in self.flags}:
                own.append(dataclasses.replace(flag, keys=keys))
        return [*own, *self.flags]


SPEC = LoopSpec(
    LoopConfig,
    flags=(
        Flag(
            "--model",
            ("generate.model",),
            "The base model (generate.model; train's base_model by default).",
        ),
        Flag(
            "--backend",
            ("generate.backend",),
            "Generation backend (generate.backend): vllm, transformers, openai …",
        ),
    ),
    source="loop config",
    check=check_loop,
    positional=True,
    example="train.max_steps=3",
)
