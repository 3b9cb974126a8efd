"""`curate generate`'s configuration: one dataclass ↔ YAML (--config) ↔ flags.

The shipped default is ``curate/configs/generate.yaml``; a --config file overrides it key by
key; flags override both, ``--set`` overrides flags. The resolved config is written to
``DIR/config.yaml``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import Any, Literal

from curate.backends.registry import UnknownBackend, get_backend, with_backend_sections
from curate.config import ConfigError, ConfigSpec, Origins, dump

DEFAULT_FILTERS = ["exact-dedup", "quality", "toxicity"]


@dataclass
class SamplingConfig:
    temperature: float = 1.0
    top_p: float = 1.0
    max_tokens: int = 512  # instruction lists and alpaca task lists
    instance_max_tokens: int = 256  # one instance (self-instruct step 3)
    classify_max_tokens: int = 4
    n: int = 1  # samples per instruction-generation prompt


@dataclass
class NoveltyConfig:
    """MinHash near-duplicate check of each new instruction against the pool and the batch."""

    enabled: bool = True
    threshold: float = 0.7  # Jaccard at or above which an instruction is not novel
    ngram: int = 2  # word n-gram shingles; instructions are short
    num_perm: int = 128


@dataclass
@with_backend_sections  # + a section per backend row: engine (vllm), openai, transformers
class GenerateConfig:
    model: str = ""
    backend: str = "vllm"  # a name in curate.backends.registry
    base_url: str | None = None
    adapter: str | None = None
    seeds: str | None = None  # None: the project's data/seed_tasks.jsonl
    template: Literal["self-instruct", "alpaca"] = "self-instruct"
    target: int = 100  # kept records to reach
    rounds: int = 20  # at most this many rounds
    batch_size: int = 8  # instruction-generation prompts per round
    seed: int = 0
    structured: bool = False
    seed_examples: int = 6  # k human seeds per instruction prompt
    pool_examples: int = 2  # m machine instructions per instruction prompt
    new_per_prompt: int = 8  # self-instruct: new instructions asked per prompt
    alpaca_tasks: int = 20  # alpaca: tasks asked per prompt
    instance_examples: int = 3  # demonstrations in classify / instance prompts
    filter_config: str | None = (
        None  # `curate filter` YAML for the stage settings; None: its default
    )
    filters: list[str] = field(default_factory=lambda: list(DEFAULT_FILTERS))
    sampling: SamplingConfig = field(default_factory=SamplingConfig)
    novelty: NoveltyConfig = field(default_factory=NoveltyConfig)

    def identity(self) -> dict[str, Any]:
        """What a resumed run must share with the run it continues (not target, rounds, transport)."""
        keys = ("model", "adapter", "seeds", "template", "batch_size", "seed", "structured")
        ident = {k: getattr(self, k) for k in keys}
        ident["sampling"] = dataclasses.asdict(self.sampling)
        ident["prompt_counts"] = [
            self.seed_examples,
            self.pool_examples,
            self.new_per_prompt,
            self.alpaca_tasks,
        ]
        return ident


def default_config_text() -> str:
    return files("curate.configs").joinpath("generate.yaml").read_text(encoding="utf-8")


def load_config(path: str | Path | None) -> GenerateConfig:
    """The shipped default, overridden key by key by the YAML file at ``path`` (unchecked: the
    flags come next; check_config runs once they are applied)."""
    return dataclasses.replace(SPEC, check=None).load(path)[0]


def check_config(cfg: GenerateConfig, origins: Origins) -> None:
    """Checks types cannot express; each names the file:line, the flag or the --set at fault."""
    where = origins.where
    positive = ("target", "rounds", "batch_size", "new_per_prompt", "alpaca_tasks")
    for key in positive:
        if getattr(cfg, key) < 1:
            raise ConfigError(f"{where(key)}: expected at least 1, got {getattr(cfg, key)}")
    for key in ("seed_examples", "pool_examples", "instance_examples"):
        if getattr(cfg, key) < 0:
            raise ConfigError(f"{where(key)}: expected 0 or more, got {getattr(cfg, key)}")
    s = cfg.sampling
    if s.temperature < 0:
        raise ConfigError(f"{where('sampling.temperature')}: expected ≥ 0, got {s.temperature}")
    if not 0 < s.top_p <= 1:
        raise ConfigError(f"{where('sampling.top_p')}: expected in (0, 1], got {s.top_p}")
    for key in ("max_tokens", "instance_max_tokens", "classify_max_tokens", "n"):
        if getattr(s, key) < 1:
            raise ConfigError(
                f"{where(f'sampling.{key}')}: expected at least 1, got {getattr(s, key)}"
            )
    if not 0 < cfg.novelty.threshold <= 1:
        raise ConfigError(
            f"{where('novelty.threshold')}: expected in (0, 1], got {cfg.novelty.threshold}"
        )
    try:
        spec = get_backend(cfg.backend)
    except UnknownBackend as e:
        raise ConfigError(f"{where('backend')}: {e}") from None
    try:
        spec.check(spec.options(cfg), structured=cfg.structured)
    except ValueError as e:
        raise ConfigError(str(e)) from None
    if not cfg.model:
        raise ConfigError("--model is required (a model directory or a hub id)")


dump_config = dump
SPEC = ConfigSpec(
    GenerateConfig,
    shipped=default_config_text,
    shipped_name="generate.yaml (default)",
    source="generate.yaml (default)",
    check=check_config,
    example="novelty.threshold=0.8",
)
