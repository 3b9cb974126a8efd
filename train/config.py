"""The `train run` config: one dataclass, filled from YAML and overridden by ``--dotted.flags``.

Every field carries its help text, so ``train run --help`` and the errors are generated from here.
Errors a user can cause raise ConfigError with one line naming the file:line and field.
"""

from __future__ import annotations

import difflib
import typing
from dataclasses import MISSING, asdict, dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import Any

import yaml

from train.config_values import ConfigError, coerce, type_name, yaml_lines

TEMPLATES = ("alpaca", "chatml", "tokenizer")
QUANTIZATIONS = ("4bit", "8bit", "none")
DTYPES = ("auto", "bf16", "fp16", "fp32")
ATTENTIONS = ("auto", "segment_sdpa", "flash_attention_2", "sdpa", "eager")  # train/attention.py
SCHEDULERS = ("linear", "cosine", "constant", "constant_with_warmup", "polynomial")


def _f(default: Any, help: str, **kw: Any) -> Any:
    if callable(default) and not isinstance(default, str | int | float | bool):
        return field(default_factory=default, metadata={"help": help, **kw})
    return field(default=default, metadata={"help": help, **kw})


@dataclass
class LoraSettings:
    r: int = _f(16, "LoRA rank.")
    alpha: int = _f(32, "LoRA scaling alpha (the update is scaled by alpha / r).")
    dropout: float = _f(0.05, "Dropout on the LoRA input.")
    target_modules: str | list[str] = _f(
        "auto",
        "'auto' = every linear layer of the architecture except lm_head, or a list of names.",
    )


@dataclass
class TrainConfig:
    base_model: str = _f("", "Hub id or local directory of the base model (required).")
    output_dir: str = _f("runs/train", "Where adapter/, checkpoints/, metrics.jsonl, loss.png go.")
    data: list[str] = _f(list, "Data files or directories in any format `curate convert` reads.")
    data_format: str | None = _f(
        None, "Force the input format (alpaca, dolly, sharegpt…); default: detect."
    )
    template: str = _f(
        "alpaca", "Training text template: alpaca, chatml or tokenizer (its chat_template)."
    )
    val_size: float = _f(
        0.05, "Held-out share (<1) or number (>=1) of examples for eval_loss; 0 = none."
    )
    quantization: str = _f("4bit", "4bit (NF4, double quant, bf16 compute), 8bit or none.")
    dtype: str = _f("auto", "Compute dtype: auto (bf16 on a GPU, fp32 on CPU), bf16, fp16 or fp32.")
    lora: LoraSettings = _f(LoraSettings, "LoRA adapter settings (lora.r, lora.alpha, …).")
    max_seq_len: int = _f(1024, "Longest training sequence in tokens; longer examples are skipped.")
    packing: bool = _f(
        True, "Pack several examples per sequence (they never attend to each other)."
    )
    completion_only: bool = _f(True, "Learn only the response: prompt tokens get label -100.")
    epochs: float = _f(3.0, "Passes over the training data (ignored when max_steps > 0).")
    max_steps: int = _f(-1, "Stop after this many optimizer steps (-1 = use epochs).")
    lr: float = _f(2e-4, "Peak learning rate.")
    scheduler: str = _f("cosine", f"Learning-rate schedule: {', '.join(SCHEDULERS)}.")
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
    )
    seed: int = _f(42, "Random seed (data split, shuffling, LoRA init).")
    eval_steps: int = _f(50, "Evaluate on the held-out set every N steps.")
    save_steps: int = _f(100, "Write a checkpoint every N steps.")
    save_total_limit: int = _f(3, "Keep at most N checkpoints.")
    logging_steps: int = _f(10, "Log loss / lr / tokens per second every N steps.")
    report_to: list[str] = _f(
        list, "Extra loggers for transformers (tensorboard, wandb…); default none."
    )
    resume: bool = _f(False, "Continue from the last checkpoint in output_dir/checkpoints.")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_dict(), sort_keys=False, allow_unicode=True)


CHOICES = {
    "template": TEMPLATES,
    "quantization": QUANTIZATIONS,
    "dtype": DTYPES,
    "scheduler": SCHEDULERS,
    "attn_implementation": ATTENTIONS,
}


# ---- the field table: dotted name → (type, default, help) ----


def field_table(cls: type = TrainConfig, prefix: str = "") -> list[tuple[str, Any, Any, str]]:
    """(dotted name, annotation, default, help) for every leaf field."""
    hints = typing.get_type_hints(cls)
    rows: list[tuple[str, Any, Any, str]] = []
    for f in fields(cls):
        tp = hints[f.name]
        default = f.default if f.default is not MISSING else f.default_factory()  # type: ignore[misc]
        if is_dataclass(tp):
            rows += field_table(tp, f"{prefix}{f.name}.")
        else:
            rows.append((prefix + f.name, tp, default, f.metadata.get("help", "")))
    return rows


def help_table() -> str:
    """Every field, with type, default and help: the epilog of `train run --help`."""
    lines = []
    for name, tp, default, help in field_table():
        shown = (
            "[]"
            if default == []
            else ("null" if default is None else (default if default != "" else "''"))
        )
        lines.append(f"--{name} ({type_name(tp)}, default {shown}): {help}")
    return "\n\n".join(lines)


def _flatten(d: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in d.items():
        if isinstance(v, dict) and f"{prefix}{k}" in NESTED:
            out.update(_flatten(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


NESTED = {
    f.name for f in fields(TrainConfig) if is_dataclass(typing.get_type_hints(TrainConfig)[f.name])
}
LEAVES = {name: tp for name, tp, _, _ in field_table()}


def _unknown(name: str, where: str) -> ConfigError:
    close = difflib.get_close_matches(name, list(LEAVES), n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else "; `train run --help` lists the fields"
    return ConfigError(f"{where}unknown field {name!r}{hint}")


def _unknown_flag(name: str) -> ConfigError:
    close = difflib.get_close_matches(name, list(LEAVES), n=1)
    hint = f" (did you mean --{close[0]}?)" if close else "; `train run --help` lists them"
    return ConfigError(f"--{name}: unknown option{hint}")


def read_yaml(path: str | Path) -> tuple[dict[str, Any], dict[str, int]]:
    """The flattened values of a config file and the line of each key."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"{path}: no such config file")
    text = p.read_text(encoding="utf-8")
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line = f":{mark.line + 1}" if mark else ""
        raise ConfigError(f"{path}{line}: not valid YAML ({getattr(e, 'problem', e)})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of field: value at the top level")
    return _flatten(data), yaml_lines(text)


def parse_flags(args: list[str]) -> dict[str, str | bool]:
    """``--lora.r 8 --packing --no-resume --lr=1e-4`` → {"lora.r": "8", "packing": True, …}."""
    out: dict[str, str | bool] = {}
    i = 0
    while i < len(args):
        arg = args[i]
        if not arg.startswith("--"):
            raise ConfigError(f"unexpected argument {arg!r}: flags look like --field value")
        name, eq, value = arg[2:].partition("=")
        name = name.replace("-", "_")
        if eq:
            out[name] = value
        elif name.startswith("no_") and LEAVES.get(name[3:]) is bool:
            out[name[3:]] = False
        elif LEAVES.get(name) is bool and (i + 1 == len(args) or args[i + 1].startswith("--")):
            out[name] = True
        else:
            if i + 1 == len(args):
                raise ConfigError(f"--{name}: missing value")
            out[name] = args[i + 1]
            i += 1
        i += 1
    return out


def load_config(path: str | Path | None = None, flags: list[str] | None = None) -> TrainConfig:
    """YAML (if any) then flags, coerced and checked: a TrainConfig or one ConfigError line."""
    values, lines = read_yaml(path) if path else ({}, {})
    resolved: dict[str, Any] = {}
    for name, value in values.items():
        where = f"{path}:{lines[name]}: " if name in lines else f"{path}: "
        if name not in LEAVES:
            raise _unknown(name, where)
        resolved[name] = coerce(value, LEAVES[name], f"{where}{name}")
    for name, value in parse_flags(flags or []).items():
        if name not in LEAVES:
            raise _unknown_flag(name)
        resolved[name] = coerce(value, LEAVES[name], f"--{name}", from_flag=True)
    cfg = TrainConfig()
    for name, value in resolved.items():
        target: Any = cfg
        *parents, leaf = name.split(".")
        for p in parents:
            target = getattr(target, p)
        setattr(target, leaf, value)
    check_values(cfg, str(path) if path else "config", lines)
    return cfg


def check_values(cfg: TrainConfig, source: str, lines: dict[str, int]) -> None:
    """Value ranges and choices (no file system, no network)."""

    def where(name: str) -> str:
        return f"{source}:{lines[name]}: {name}" if name in lines else f"{source}: {name}"

    for name, choices in CHOICES.items():
        if getattr(cfg, name) not in choices:
            raise ConfigError(
                f"{where(name)}: {getattr(cfg, name)!r} is not one of {', '.join(choices)}"
            )
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
