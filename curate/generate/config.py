"""`curate generate`'s configuration: one dataclass ↔ YAML (--config) ↔ flags.

The shipped default is ``curate/configs/generate.yaml``; a --config file overrides it key by
key; flags override both, ``--set`` overrides flags. The resolved config is written to
``DIR/config.yaml``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any, Literal

from curate.backends.registry import check_backend_config, with_backend_sections
from curate.config import ConfigError, ConfigSpec, Origins, dump, option

DEFAULT_FILTERS = ["exact-dedup", "quality", "cleaned", "toxicity"]


@dataclass
class SamplingConfig:
    temperature: float = option(
        1.0,
        "Sampling temperature of the generation prompts; 0: greedy (classification always is).",
        flag="--temperature",
    )
    top_p: float = option(
        1.0, "Nucleus sampling: the probability mass (0-1] tokens are drawn from.", flag="--top-p"
    )
    max_tokens: int = option(
        512,
        "Most tokens generated per instruction-generation prompt (or alpaca task list).",
        flag="--max-tokens",
    )
    instance_max_tokens: int = option(
        256, "self-instruct: most tokens of one instance, the input and output of an instruction."
    )
    classify_max_tokens: int = option(
        4, 'self-instruct: most tokens of the yes/no answer to "is it a classification task?".'
    )
    n: int = option(1, "Samples drawn per instruction-generation prompt.")


@dataclass
class NoveltyConfig:
    """MinHash near-duplicate check of each new instruction against the pool and the batch."""

    enabled: bool = option(
        True,
        "Drop a new instruction too similar to one already in the pool or this batch"
        " (reason near-duplicate, stage novelty).",
    )
    threshold: float = option(
        0.7, "Jaccard similarity (0-1] at or above which an instruction is not novel."
    )
    ngram: int = option(2, "Words per shingle.")  # instructions are short
    num_perm: int = option(128, "MinHash permutations per signature.")


@dataclass
@with_backend_sections  # + a section per backend row: engine (vllm), openai, transformers
class GenerateConfig:
    model: str = option(
        "",
        "Model directory or hub id (for openai: the served model name). [required: this flag or"
        " `model:` in --config]",
        flag="--model",
    )
    backend: str = option(
        "vllm", "What runs the model: vllm, openai or transformers (any registered backend)."
    )
    base_url: str | None = option(
        None,
        "The OpenAI-compatible server's URL (backend openai), e.g. http://127.0.0.1:8000/v1.",
        flag="--base-url",
    )
    adapter: str | None = option(
        None,
        "LoRA adapter directory from `train run` (openai: the name the server serves it under);"
        " null: none.",
    )
    prompt_format: Literal["auto", "raw", "chat"] = option(
        "auto",
        "How prompts reach the model: raw (few-shot text the model continues), chat (each prompt a"
        " user turn in the adapter's training template), auto (chat with an adapter, raw without).",
        flag="--prompt-format",
    )
    run_id: str | None = option(
        None,
        "Put in every generated id (gen-RUN-rN-K) and its provenance; null: a hash of the run's"
        " settings (same settings, same ids, so a seeded rerun is byte-identical).",
        flag="--run-id",
    )
    first_round: int = option(
        1, "Number of the first round (curate loop sets its own round number here)."
    )
    previous: list[str] = option(
        list,
        "Earlier `curate generate` run dirs: their instructions join the pool (prompt examples and"
        " novelty) and their records the filters' dedup reference.",
        sep=",",
    )
    seeds: str | None = option(
        None,
        "Seed tasks, in any format `curate convert` reads; null: the project's"
        " data/seed_tasks.jsonl.",
        flag="--seeds",
    )
    template: Literal["self-instruct", "alpaca"] = option(
        "self-instruct",
        "self-instruct (new instructions, then a classify and an instance prompt for each) or"
        " alpaca (whole tasks, alpaca_tasks per prompt).",
        flag="--template",
    )
    target: int = option(100, "Stop once this many records are kept.", flag="--target")
    rounds: int = option(20, "Stop after at most this many rounds.", flag="--rounds")
    batch_size: int = option(8, "Instruction-generation prompts per round.", flag="--batch-size")
    seed: int = option(
        0, "Seed for choosing the examples each prompt shows and for model sampling.", flag="--seed"
    )
    structured: bool = option(
        False, "Ask for JSON-schema-constrained output (backends vllm and openai)."
    )
    seed_examples: int = option(6, "Human seed tasks shown in each instruction-generation prompt.")
    pool_examples: int = option(
        2, "Machine-made instructions from the pool shown in each instruction-generation prompt."
    )
    new_per_prompt: int = option(8, "self-instruct: new instructions asked for per prompt.")
    alpaca_tasks: int = option(20, "alpaca: tasks asked for per prompt.")
    instance_examples: int = option(
        3,
        "self-instruct: seed tasks shown as demonstrations in each classify prompt (per class)"
        " and each instance prompt.",
    )
    filter_config: str | None = option(
        None,
        "`curate filter` YAML whose stage settings the filters use; null: the shipped defaults.",
        flag="--filter-config",
    )
    filters: list[str] = option(
        list(DEFAULT_FILTERS),
        "`curate filter` stages every new record passes, in order, against the records kept so"
        " far (stages off in filter_config are skipped).",
    )
    sampling: SamplingConfig = option(SamplingConfig, "Sampling settings of the model calls.")
    novelty: NoveltyConfig = option(NoveltyConfig, "Novelty check of each new instruction.")

    def identity(self) -> dict[str, Any]:
        """What a resumed run must share with the run it continues (not target, rounds, transport)."""
        keys = ("model", "adapter", "seeds", "template", "batch_size", "seed", "structured")
        keys += ("prompt_format", "run_id", "first_round", "previous")
        ident = {k: getattr(self, k) for k in keys}
        ident["sampling"] = dataclasses.asdict(self.sampling)
        ident["prompt_counts"] = [
            self.seed_examples,
            self.pool_examples,
            self.new_per_prompt,
            self.alpaca_tasks,
        ]
        return ident


def run_id_of(cfg: GenerateConfig) -> str:
    """``cfg.run_id``, else 8 hex digits of a hash of the run's identity (minus run_id itself):
    stable across resume and reruns, different for runs with different settings."""
    if cfg.run_id:
        return cfg.run_id
    ident = {k: v for k, v in cfg.identity().items() if k not in ("run_id", "previous")}
    text = json.dumps(ident, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:8]


def default_config_text() -> str:
    return files("curate.configs").joinpath("generate.yaml").read_text(encoding="utf-8")


def load_config(path: str | Path | None) -> GenerateConfig:
    """The shipped default, overridden key by key by the YAML file at ``path`` (unchecked: the
    flags come next; check_config runs once they are applied)."""
    return dataclasses.replace(SPEC, check=None).load(path)[0]


def check_config(cfg: GenerateConfig, origins: Origins) -> None:
    """Checks types cannot express; each names the file:line, the flag or the --set at fault."""
    where = origins.where
    positive = ("target", "rounds", "batch_size", "new_per_prompt", "alpaca_tasks", "first_round")
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
    check_backend_config(cfg, where, structured=cfg.structured)
    if not cfg.model:
        raise ConfigError("--model is required (a model directory or a hub id)")
    if cfg.run_id is not None and not re.fullmatch(r"[A-Za-z0-9_.]{1,32}", cfg.run_id):
        raise ConfigError(
            f"{where('run_id')}: expected 1-32 letters, digits, '_' or '.', got {cfg.run_id!r}"
        )


dump_config = dump
SPEC = ConfigSpec(
    GenerateConfig,
    shipped=default_config_text,
    shipped_name="generate.yaml (default)",
    source="generate.yaml (default)",
    check=check_config,
    example="novelty.threshold=0.8",
)
