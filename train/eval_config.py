"""`train eval`'s configuration: one dataclass ↔ YAML (--config) ↔ flags, as `train run`'s."""

from __future__ import annotations

from dataclasses import dataclass

from curate.config import ConfigError, ConfigSpec, Origins, option

JUDGE_PROMPT = "eval/pairwise.txt"


@dataclass
class JudgeConfig:
    """Pairwise judging: the model under evaluation against ``against``, each pair in both orders."""

    enabled: bool = option(
        False,
        "Judge answers pairwise against `against` (win-rate, ties counted, both orders).",
        flag="--judge",
    )
    against: str | None = option(
        None,
        "The other side: an adapter dir or a base model whose answers are compared.",
        flag="--against",
    )
    backend: str = option(
        "transformers",
        "The judge's backend: any registered generation backend (vllm, openai, transformers …).",
        flag="--judge-backend",
    )
    model: str = option(
        "", "The judge model (dir, hub id, or the served name for openai).", flag="--judge-model"
    )
    adapter: str | None = option(
        None, "A LoRA adapter for the judge model (openai: the served LoRA name); null: none."
    )
    base_url: str | None = option(
        None, "The judge's OpenAI-compatible server URL (backend openai)."
    )
    prompt: str = option(
        JUDGE_PROMPT,
        "The judge prompt under prompts/ ({instruction}, {input}, {answer_a}, {answer_b}).",
    )
    max_examples: int = option(
        50, "At most this many held-out instructions are answered and judged."
    )
    max_new_tokens: int = option(128, "Most tokens of each answer the two sides give.")
    judge_max_tokens: int = option(8, "Most tokens of the judge's verdict (A, B or tie).")


@dataclass
class EvalConfig:
    data: list[str] = option(
        list,
        "Held-out data files (any format `curate convert` reads); required.",
        flag="--data",
        sep=",",
    )
    out: str = option(
        "runs/eval",
        "Directory for eval.json (loss, perplexity per example, judge, tasks).",
        flag="--out",
    )
    template: str | None = option(
        None,
        "Template the examples are rendered in; null: the adapter's training template (alpaca for a base model).",
        flag="--template",
    )
    base: str | None = option(
        None, "Base model under the adapter; null: the one it was trained on.", flag="--base"
    )
    max_seq_len: int | None = option(
        None,
        "Examples longer than this are skipped (as training does); null: the adapter's max_seq_len.",
    )
    batch_size: int = option(8, "Examples per forward pass.", flag="--batch-size")
    tasks: list[str] = option(
        list,
        "lm-evaluation-harness tasks run on the model (e.g. hellaswag,arc_easy); needs the eval extra.",
        flag="--tasks",
        sep=",",
    )
    tasks_limit: int | None = option(
        None, "lm-evaluation-harness: at most this many items per task; null: all."
    )
    judge: JudgeConfig = option(
        JudgeConfig, "Pairwise judging (--judge, --against, --judge-model)."
    )


def check_eval(cfg: EvalConfig, origins: Origins) -> None:
    where = origins.where
    if not cfg.data:
        raise ConfigError(f"{where('data')}: required (one or more held-out data files)")
    if cfg.batch_size < 1:
        raise ConfigError(f"{where('batch_size')}: must be positive, got {cfg.batch_size}")
    if cfg.judge.enabled:
        if not cfg.judge.against:
            raise ConfigError(f"{where('judge.against')}: --judge needs --against MODEL_OR_ADAPTER")
        if not cfg.judge.model:
            raise ConfigError(f"{where('judge.model')}: --judge needs --judge-model")
        if cfg.judge.max_examples < 1:
            raise ConfigError(f"{where('judge.max_examples')}: must be positive")


SPEC = ConfigSpec(EvalConfig, source="options", check=check_eval, example="judge.max_examples=20")
