"""The `train run` config: one dataclass, filled from YAML and overridden by flags.

Every field carries its help text and a flag (``--max-steps``, ``--lora.r``; the snake_case
spellings ``--max_steps`` work too), so ``train run --help`` and the errors are generated from
here. Errors a user can cause raise ConfigError with one line naming the file:line and field.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from curate.config import ConfigError, ConfigSpec, Origins, dump, leaves, option

TEMPLATES = ("alpaca", "chatml", "tokenizer")
TRAIN_ON = ("all_assistant", "last")  # curate/render.py
QUANTIZATIONS = ("4bit", "8bit", "none")
DTYPES = ("auto", "bf16", "fp16", "fp32")
ATTENTIONS = ("auto", "segment_sdpa", "flash_attention_2", "sdpa", "eager")  # train/attention.py
SCHEDULERS = ("linear", "cosine", "constant", "constant_with_warmup", "polynomial")


def _f(default: Any, help: str, **kw: Any) -> Any:
    """A field with a flag named after it (``lora.r`` → ``--lora.r``)."""
    return option(default, help, flag=kw.pop("flag", True), **kw)


@dataclass
class LoraSettings:
    r: int = _f(16, "LoRA rank.")
    alpha: int = _f(32, "LoRA scaling alpha (the update is scaled by alpha / r).")
    dropout: float = _f(0.05, "Dropout on the LoRA input.")
    target_modules: str | list[str] = _f(
        "auto",
        "'auto' = every linear layer of the architecture except lm_head, or a list of names.",
        sep=",",
    )


@dataclass
class TrainConfig:
    base_model: str = _f(
        "",
        "Hub id or local directory of the base model (required).",
        flag=("--base-model", "--model"),
    )
    output_dir: str = _f(
        "runs/train",
        "Where adapter/, checkpoints/, metrics.jsonl, loss.png go.",
        flag=("--output-dir", "--out"),
    )
    data: list[str] = _f(
        list, "Data files or directories in any format `curate convert` reads.", sep=","
    )
    data_format: str | None = _f(
        None, "Force the input format (alpaca, dolly, sharegpt…); default: detect."
    )
    template: str = _f(
        "alpaca",
        "Training text template: alpaca, chatml or tokenizer (its chat_template).",
        choices=TEMPLATES,
    )
    val_size: float = _f(
        0.05, "Held-out share (<1) or number (>=1) of examples for eval_loss; 0 = none."
    )
    quantization: str = _f(
        "4bit", "4bit (NF4, double quant, bf16 compute), 8bit or none.", choices=QUANTIZATIONS
    )
    dtype: str = _f(
        "auto",
        "Compute dtype: auto (bf16 on a GPU, fp32 on CPU), bf16, fp16 or fp32.",
        choices=DTYPES,
    )
    lora: LoraSettings = option(LoraSettings, "LoRA adapter settings (lora.r, lora.alpha, …).")
    max_seq_len: int = _f(1024, "Longest training sequence in tokens; longer examples are skipped.")
    packing: bool = _f(
        True, "Pack several examples per sequence (they never attend to each other)."
    )
    completion_only: bool = _f(
        True, "Learn only the replies: prompt and user/system tokens get label -100."
    )
    train_on: str = _f(
        "all_assistant",
        "Replies learned in a multi-turn conversation: all_assistant (every assistant turn) "
        "or last (only the final one; earlier replies are masked like the prompt).",
        choices=TRAIN_ON,
    )
    epochs: float = _f(3.0, "Passes over the training data (ignored when max_steps > 0).")
    max_steps: int = _f(-1, "Stop after this many optimizer steps (-1 = use epochs).")
    lr: float = _f(2e-4, "Peak learning rate.")
    scheduler: str = _f(
        "cosine", f"Learning-rate schedule: {', '.join(SCHEDULERS)}.", choices=SCHEDULERS
    )
    warmup: float = _f(0.03, "Warm-up: a share of the steps (<1) or a number of steps (>=1).")
    batch_size: int = _f(4, "Sequences per device batch.")
    grad_accum: int = _f(4, "Batches accumulated per optimizer step.")
    gradient_checkpointing: bool = _f(
        True, "Recompute activations in the backward pass (less memory)."
    )
    attn_implementation: str = _f(
        "auto",
        "auto (flash_attention_2 on a GPU with flash-attn, else segment_sdpa, else sdpa), "
        "segment_sdpa (packed examples cost Σ len², padding-free rows), flash_attention_2, "
        "sdpa or eager (these two: packing passes a 4D block-diagonal mask, L² per row).",
        choices=ATTENTIONS,
    )
    seed: int = _f(42, "Random seed (data split, shuffling, LoRA init).")
    eval_steps: int = _f(50, "Evaluate on the held-out set every N steps.")
    save_steps: int = _f(100, "Write a checkpoint every N steps.")
    save_total_limit: int = _f(3, "Keep at most N checkpoints.")
    logging_steps: int = _f(10, "Log loss / lr / tokens per second every N steps.")
    report_to: list[str] = _f(
        list, "Extra loggers for transformers (tensorboard, wandb…); default none.", sep=","
    )
    resume: bool = _f(False, "Continue from the last checkpoint in output_dir/checkpoints.")
    overwrite: bool = _f(
        False,
        "Start afresh in an output_dir that holds an earlier run (its checkpoints and"
        " metrics.jsonl are deleted); without it such a run is refused.",
    )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_yaml(self) -> str:
        return dump(self)


LEAVES = {leaf.key: leaf.type for leaf in leaves(TrainConfig)}  # dotted key → type


def load_config(path: str | Path | None = None, flags: list[str] | None = None) -> TrainConfig:
    """YAML (if any) then flags (as `train run` takes them), checked: a TrainConfig or one
    ConfigError line."""
    if flags:
        from curate.config.cli import parse_args

        return parse_args(SPEC, [*([str(path)] if path else []), *flags])[0]
    return SPEC.load(path, path_label="CONFIG")[0]


def check_values(cfg: TrainConfig, origins: Origins) -> None:
    """Value ranges (no file system, no network); choices are checked with the types."""
    where = origins.where
    if not cfg.base_model:
        raise ConfigError(f"{where('base_model')}: required (a hub id or a local model directory)")
    if not cfg.data:
        raise ConfigError(f"{where('data')}: required (one or more data files or directories)")
    positive = [
        "max_seq_len",
        "batch_size",
        "grad_accum",
        "eval_steps",
        "save_steps",
        "logging_steps",
    ]
    for name in positive:
        if getattr(cfg, name) <= 0:
            raise ConfigError(f"{where(name)}: must be positive, got {getattr(cfg, name)}")
    if cfg.lora.r <= 0 or cfg.lora.alpha <= 0:
        raise ConfigError(f"{where('lora.r')}: lora.r and lora.alpha must be positive")
    if not 0 <= cfg.lora.dropout < 1:
        raise ConfigError(f"{where('lora.dropout')}: must be in [0, 1), got {cfg.lora.dropout}")
    if isinstance(cfg.lora.target_modules, str) and cfg.lora.target_modules != "auto":
        cfg.lora.target_modules = [cfg.lora.target_modules]
    for name in ("val_size", "warmup", "lr"):
        if getattr(cfg, name) < 0:
            raise ConfigError(f"{where(name)}: must not be negative, got {getattr(cfg, name)}")
    if cfg.max_steps <= 0 and cfg.epochs <= 0:
        raise ConfigError(f"{where('epochs')}: set epochs > 0 or max_steps > 0")


SPEC = ConfigSpec(
    TrainConfig, source="config", check=check_values, positional=True, example="lora.alpha=64"
)
