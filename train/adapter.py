"""Saving a LoRA adapter that is verified non-empty, and loading one back with its training config.

A known peft bug (seen in the alpaca-lora seed) saved an adapter with no weights. After saving we
read the file back and check it holds every LoRA tensor, equal to the ones in memory.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import torch

from train.config import TrainConfig, load_config

WEIGHTS = "adapter_model.safetensors"
TRAIN_CONFIG = "train_config.yaml"  # the resolved `train run` config, read by generate and merge


class AdapterError(RuntimeError):
    pass


def verify_saved(model: Any, directory: Path) -> int:
    """The saved tensors equal the in-memory adapter; returns how many there are."""
    from peft import get_peft_model_state_dict
    from safetensors.torch import load_file

    path = directory / WEIGHTS
    if not path.exists() or path.stat().st_size == 0:
        raise AdapterError(f"{path}: adapter file missing or empty after saving")
    saved = load_file(str(path))
    expected = get_peft_model_state_dict(model)
    if not saved or not expected:
        raise AdapterError(
            f"{path}: the saved adapter holds no tensors (the peft empty-adapter bug)"
        )
    if set(saved) != set(expected):
        missing = sorted(set(expected) - set(saved))[:3]
        raise AdapterError(
            f"{path}: saved adapter lacks {len(set(expected) - set(saved))} tensors, e.g. {missing}"
        )
    for key, tensor in expected.items():
        if not torch.equal(saved[key], tensor.detach().to("cpu", saved[key].dtype)):
            raise AdapterError(f"{path}: saved tensor {key} differs from the trained one")
    return len(saved)


def save_adapter(model: Any, tokenizer: Any, cfg: TrainConfig, out: Path) -> int:
    """Write adapter weights + config + tokenizer + train_config.yaml into ``out``, atomically."""
    tmp = out.with_name(f".{out.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(tmp)
    n = verify_saved(model, tmp)
    tokenizer.save_pretrained(tmp)
    (tmp / TRAIN_CONFIG).write_text(cfg.to_yaml(), encoding="utf-8")
    old = out.with_name(f".{out.name}.old")
    if out.exists():
        out.rename(old)
    tmp.rename(out)
    shutil.rmtree(old, ignore_errors=True)
    return n


def adapter_config(directory: str | Path) -> TrainConfig:
    """The training config saved beside an adapter."""
    path = Path(directory) / TRAIN_CONFIG
    if not (Path(directory) / "adapter_config.json").exists():
        raise AdapterError(f"{directory}: not an adapter directory (no adapter_config.json)")
    if not path.exists():
        raise AdapterError(f"{path}: missing; was this adapter written by `train run`?")
    return load_config(path)


def load_with_adapter(
    directory: str | Path, dtype: torch.dtype, base: str | None = None
) -> tuple[Any, Any]:
    """(PeftModel in eval mode, tokenizer): the base in ``dtype`` (not quantized) plus the adapter."""
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    from train.model import load_tokenizer

    cfg = adapter_config(directory)
    model = AutoModelForCausalLM.from_pretrained(base or cfg.base_model, dtype=dtype)
    model = PeftModel.from_pretrained(model, str(directory))
    model.eval()
    return model, load_tokenizer(str(directory))
