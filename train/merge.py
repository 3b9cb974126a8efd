"""`train merge`: fold a LoRA adapter into its base, in fp32, and save it in bf16/fp16/fp32.

The base is by default the one the adapter was trained on: for a 4-bit run its dequantized NF4
weights (the adapter learned to correct those, not the original ones: on the test's trained tiny
Llama, logits up to 14, merged into the original weights they are 1.57 off the trained model's,
into the dequantized ones 1.1e-5). ``base_weights="original"`` merges into the full-precision
checkpoint instead. The update is added in fp32 and cast once: added in bf16, 76% of a small
update (update/weight 3.9e-4) rounded away; cast once, 99.6% is kept.

The result is a plain Hugging Face checkpoint (safetensors + config + tokenizer) that transformers,
vLLM and the GGUF converter load.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from curate.jsonout import dumps
from train.adapter import adapter_config, check_base_weights, load_original_base, load_trained_base
from train.model import DTYPES, dequantized, linear_layers, load_tokenizer, plain_linear


def fix_falcon_config(directory: Path) -> bool:
    """Falcon-7B (multi-query, old architecture) has one KV head, but a config re-saved by
    transformers records ``num_kv_heads = num_attention_heads``, which llama.cpp's converter
    believes. Write the true value (transformers ignores it for this architecture)."""
    path = directory / "config.json"
    config = json.loads(path.read_text(encoding="utf-8"))
    if config.get("model_type") != "falcon" or config.get("new_decoder_architecture"):
        return False
    if not config.get("multi_query", True) or config.get("num_kv_heads") == 1:
        return False
    config["num_kv_heads"] = 1
    path.write_text(dumps(config, indent=2) + "\n", encoding="utf-8")
    return True


@dataclass
class Merged:
    path: Path
    kept: float  # share of the adapter's update the saved weights hold (see fold)


@torch.no_grad()
def fold(model: Any, dtype: torch.dtype) -> tuple[nn.Module, float]:
    """Fold the LoRA update of a PeftModel into its base layers, in fp32, one layer at a time.

    Each weight is dequantized to fp32 (the values the trained forward multiplied by), the update
    added in fp32, and the sum cast once to ``dtype``; quantized layers become plain nn.Linear.
    Returns the plain model in ``dtype`` and the share of the update the cast weights keep,
    ⟨cast(W + Δ) − cast(W), Δ⟩ / ⟨Δ, Δ⟩ over all layers: about 1 unless Δ is below the resolution
    of ``dtype`` around weights that are already on its grid (where no ``dtype`` weight can hold it).
    """
    from peft.tuners.lora import LoraLayer

    inner = model.get_base_model()
    along = torch.zeros((), dtype=torch.float64)
    squared = torch.zeros((), dtype=torch.float64)
    for name, layer in list(inner.named_modules()):
        if not isinstance(layer, LoraLayer):
            continue
        base = layer.get_base_layer()
        weight = dequantized(base)
        delta = sum(layer.get_delta_weight(a).float() for a in layer.active_adapters)
        merged = (weight + delta).to(dtype)
        kept = merged.float() - weight.to(dtype).float()
        along += (kept.double() * delta.double()).sum().cpu()
        squared += delta.double().square().sum().cpu()
        inner.set_submodule(name, plain_linear(base, merged))
    for name, layer in list(linear_layers(inner).items()):  # quantized layers LoRA left alone
        if type(layer).__module__.split(".")[0] == "bitsandbytes":
            inner.set_submodule(name, plain_linear(layer, dequantized(layer).to(dtype)))
    quantizer = getattr(inner, "hf_quantizer", None)
    if quantizer is not None:  # no quantization_config in the saved config.json
        quantizer.remove_quantization_config(inner)
    inner.to(dtype)
    return inner, float(along / squared) if squared > 0 else 1.0


def merge(
    adapter: str | Path,
    out: str | Path,
    dtype: str = "bf16",
    base: str | None = None,
    base_weights: str = "trained",
) -> Merged:
    """Merge ``adapter`` into its base; write the merged model to ``out`` atomically.

    ``trained`` (default): the base as trained (a 4-bit run: its dequantized NF4 weights, so the
    merged model computes what the trained one did); ``original``: the base's own weights.
    """
    from peft import PeftModel

    check_base_weights(base_weights)
    cfg = adapter_config(adapter)
    model = (
        load_trained_base(cfg, base)
        if base_weights == "trained"
        else load_original_base(cfg, base, "auto")
    )
    model = PeftModel.from_pretrained(model, str(adapter))
    merged, kept = fold(model, DTYPES[dtype])
    tokenizer = load_tokenizer(str(adapter))
    out = Path(out)
    tmp = out.with_name(f".{out.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    merged.save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    fix_falcon_config(tmp)
    # save_pretrained may write 0600 files; vLLM run by another user must read them
    for f in tmp.iterdir():
        f.chmod(0o644)
    if out.exists():
        shutil.rmtree(out)
    tmp.rename(out)
    return Merged(out, kept)
