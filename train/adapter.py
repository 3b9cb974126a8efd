"""Saving a LoRA adapter that is verified non-empty, and loading one back on its base: by default
the base as it was trained (the 4-bit weights of a 4-bit run), or its original weights.

A known peft bug (seen in the alpaca-lora seed) saved an adapter with no weights. After saving we
read the file back and check it holds every LoRA tensor, equal to the ones in memory.
"""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch
from torch import nn

from curate.backends.base import missing_model_dir
from train.config import TrainConfig, load_config
from train.model import DTYPES, compute_dtype, load_base, load_tokenizer

WEIGHTS = "adapter_model.safetensors"
TRAIN_CONFIG = "train_config.yaml"  # the resolved `train run` config, read by generate and merge
BASE_WEIGHTS = ("trained", "original")  # what merge and generate put the adapter on


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


def resolved(cfg: TrainConfig) -> TrainConfig:
    """``cfg`` with ``dtype: auto`` resolved on this machine: the dtype the 4-bit base was quantized
    from, which merge and generate must load it with to get the same NF4 weights elsewhere."""
    name = next(k for k, v in DTYPES.items() if v == compute_dtype(cfg.dtype))
    return replace(cfg, dtype=name)


def save_adapter(model: Any, tokenizer: Any, cfg: TrainConfig, out: Path) -> int:
    """Write adapter weights + config + tokenizer + train_config.yaml into ``out``, atomically."""
    tmp = out.with_name(f".{out.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(tmp)
    n = verify_saved(model, tmp)
    tokenizer.save_pretrained(tmp)
    (tmp / TRAIN_CONFIG).write_text(resolved(cfg).to_yaml(), encoding="utf-8")
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


def base_of(cfg: TrainConfig, base: str | None) -> str:
    """The base to load (``--base``, else the one trained on), refused in one line when it is
    meant as a local directory that is not there."""
    name = base or cfg.base_model
    if missing_model_dir(name):
        where = "--base" if base else f"base_model (in {TRAIN_CONFIG})"
        raise AdapterError(f"{where}: no such model directory: {name}")
    return name


def load_trained_base(cfg: TrainConfig, base: str | None = None) -> nn.Module:
    """The base exactly as `train run` held it, in eval mode.

    Loaded by ``load_base`` with the training's quantization and compute dtype (the same NF4 codes
    and absmax), and, for a quantized run, with the other weights upcast to fp32 by
    prepare_model_for_kbit_training, as ``add_lora`` did. sdpa: packing's attention is for training.
    """
    from peft import prepare_model_for_kbit_training

    model = load_base(base_of(cfg, base), cfg.quantization, compute_dtype(cfg.dtype), "sdpa")
    if cfg.quantization != "none":
        model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=False)
    return model.eval()


def load_original_base(cfg: TrainConfig, base: str | None, dtype: torch.dtype | str) -> nn.Module:
    """The base's own full-precision weights (never quantized) in ``dtype`` (``auto``: as saved)."""
    from transformers import AutoModelForCausalLM

    device_map = {"": 0} if torch.cuda.is_available() else {"": "cpu"}
    model = AutoModelForCausalLM.from_pretrained(
        base_of(cfg, base), dtype=dtype, device_map=device_map
    )
    return model.eval()


def check_base_weights(base_weights: str) -> None:
    if base_weights not in BASE_WEIGHTS:
        raise AdapterError(
            f"--base-weights: {base_weights!r} is not one of {', '.join(BASE_WEIGHTS)}"
        )


def load_with_adapter(
    directory: str | Path,
    base: str | None = None,
    base_weights: str = "trained",
    dtype: str = "auto",
) -> tuple[Any, Any]:
    """(PeftModel in eval mode, tokenizer): base + adapter, unmerged.

    ``trained``: the base as trained (a 4-bit run: the same 4-bit model, so the logits are the
    trained model's); ``original``: the unquantized base in ``dtype`` (``auto``: compute_dtype).
    """
    from peft import PeftModel

    check_base_weights(base_weights)
    cfg = adapter_config(directory)
    model = (
        load_trained_base(cfg, base)
        if base_weights == "trained"
        else load_original_base(cfg, base, compute_dtype(dtype))
    )
    model = PeftModel.from_pretrained(model, str(directory))
    model.eval()
    return model, load_tokenizer(str(directory))
