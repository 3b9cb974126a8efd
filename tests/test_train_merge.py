"""`train merge` / `train generate` put the adapter on the base as it was trained (issue 16).

A 4-bit run learned to correct the NF4 weights, so merge (fp32) and generate must reproduce the
trained model's logits (≤ 5e-4); ``--base-weights original`` uses the full-precision base instead.
The merge adds the update in fp32 and casts once, so a small update survives a bf16 checkpoint.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import torch
from typer.testing import CliRunner

from train.cli import app
from train.config import load_config

pytestmark = pytest.mark.slow

IDS = torch.tensor([[1, 40, 41, 42, 43, 44, 45, 46], [1, 50, 60, 70, 80, 90, 100, 110]])
TRAINED_ATOL = 5e-4


@dataclass
class Trained:
    adapter: Path
    base: Path
    logits: torch.Tensor  # the in-memory trained model's, on IDS


@pytest.fixture(scope="module")
def trained(
    tmp_path_factory: pytest.TempPathFactory,
    learnable_llama: Path,
    small_dataset: Callable[..., Path],
) -> Trained:
    """A short 4-bit `train run` (8 steps, fp32 compute on CPU) and its model's logits."""
    from train.recipe import run

    tmp = tmp_path_factory.mktemp("merge-run")
    flags = [
        "--base_model", str(learnable_llama), "--output_dir", str(tmp / "out"),
        "--data", str(small_dataset(tmp / "data.jsonl", repeat=2)), "--max_steps", "8",
        "--lr", "1e-2", "--scheduler", "constant", "--warmup", "0", "--batch_size", "4",
        "--grad_accum", "1", "--val_size", "0", "--save_steps", "100", "--max_seq_len", "256",
        "--no-gradient_checkpointing", "--lora.dropout", "0", "--seed", "0",
    ]  # fmt: skip
    result = run(load_config(None, flags))
    with torch.no_grad():
        logits = result.model.eval()(input_ids=IDS).logits
    return Trained(result.adapter, learnable_llama, logits)


def logits_of(model: Any) -> torch.Tensor:
    with torch.no_grad():
        return model.eval()(input_ids=IDS).logits.float()


def merged_logits(adapter: Path, out: Path, *flags: str) -> torch.Tensor:
    from transformers import AutoModelForCausalLM

    args = ["merge", "--adapter", str(adapter), "--out", str(out), "--dtype", "fp32", *flags]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "100.0% of the update kept" in result.stderr, result.stderr
    return logits_of(AutoModelForCausalLM.from_pretrained(out))


def test_merge_and_generate_reproduce_the_trained_4bit_model(
    trained: Trained, tmp_path: Path
) -> None:
    from train.adapter import adapter_config, load_with_adapter

    assert adapter_config(trained.adapter).dtype == "fp32"  # `auto` resolved where it trained
    merged = merged_logits(trained.adapter, tmp_path / "m")
    assert (merged - trained.logits).abs().max() <= TRAINED_ATOL
    model, _ = load_with_adapter(trained.adapter)  # what `train generate` answers with
    assert (logits_of(model) - trained.logits).abs().max() <= TRAINED_ATOL


def test_original_base_weights_merge_into_the_full_precision_base(
    trained: Trained, tmp_path: Path
) -> None:
    from train.adapter import load_with_adapter

    merged = merged_logits(trained.adapter, tmp_path / "m", "--base-weights", "original")
    unmerged, _ = load_with_adapter(trained.adapter, base_weights="original", dtype="fp32")
    assert (merged - logits_of(unmerged)).abs().max() <= 1e-4
    # the NF4 base the adapter was trained on is not the original: the default matters
    assert (merged - trained.logits).abs().max() > 20 * TRAINED_ATOL
    args = ["generate", "--adapter", str(trained.adapter), "Hi", "--max-new-tokens", "3"]
    assert CliRunner().invoke(app, [*args, "--base-weights", "original"]).exit_code == 0
    bad = CliRunner().invoke(app, [*args, "--base-weights", "fp8"])
    assert bad.exit_code == 1 and "--base-weights" in bad.stderr
    assert bad.stderr.count("\n") == 1


def test_a_small_update_survives_a_bf16_merge(tmp_path: Path, wide_llama: Path) -> None:
    """update/weight 3.9e-4 is under bf16's half-ulp: added in bf16 it rounds away (lost on
    this model: 76%), added in fp32 and cast once it is kept (rounding is unbiased around weights
    off the bf16 grid, as the dequantized NF4 weights of an fp32 run are). 1.3M weights: ±0.3%."""
    from safetensors.torch import load_file

    from train.adapter import save_adapter
    from train.merge import merge
    from train.model import add_lora, dequantized, load_base, load_tokenizer

    base = wide_llama
    flags = [
        "--base_model",
        str(base),
        "--data",
        "unused.jsonl",
        "--dtype",
        "fp32",
        "--lora.r",
        "4",
    ]
    cfg = load_config(None, flags)
    torch.manual_seed(0)
    model = add_lora(load_base(str(base), "4bit", torch.float32), cfg, quantized=True)
    deltas, weights = {}, {}
    for name, layer in model.base_model.model.named_modules():
        if hasattr(layer, "lora_B"):
            torch.nn.init.normal_(layer.lora_B["default"].weight)
            weight = dequantized(layer.get_base_layer())
            delta = layer.get_delta_weight("default").float()
            layer.lora_B["default"].weight.data *= 3.9e-4 * weight.norm() / delta.norm()
            deltas[name] = layer.get_delta_weight("default").float().detach()
            weights[name] = weight
    save_adapter(model, load_tokenizer(str(base)), cfg, tmp_path / "adapter")
    out = merge(tmp_path / "adapter", tmp_path / "merged", "bf16")
    saved = load_file(str(out.path / "model.safetensors"))
    along = squared = 0.0
    for name, delta in deltas.items():
        kept = saved[f"{name}.weight"].float() - weights[name].to(torch.bfloat16).float()
        along += (kept * delta).sum().item()
        squared += delta.square().sum().item()
    assert along / squared >= 0.99  # 0.996 (the old bf16 merge: 0.237)
    assert out.kept == pytest.approx(along / squared, abs=1e-6)  # what `train merge` reports


def test_merge_reports_an_update_below_the_resolution_of_its_dtype() -> None:
    """Around weights already on the bf16 grid (a bf16 checkpoint, or NF4 quantized from bf16) no
    bf16 weight can hold a small update: fold says so, and `train merge` warns; fp32 keeps it."""
    from peft import LoraConfig, get_peft_model

    from train.merge import fold

    def small_update() -> Any:
        torch.manual_seed(0)
        net = torch.nn.Sequential(torch.nn.Linear(256, 256)).to(torch.bfloat16)
        model = get_peft_model(net, LoraConfig(r=4, target_modules=["0"]))
        layer = model.get_base_model()[0]
        torch.nn.init.normal_(layer.lora_B["default"].weight, std=1e-4)
        return model

    _, kept = fold(small_update(), torch.bfloat16)
    assert kept < 0.5
    _, kept = fold(small_update(), torch.float32)
    assert kept == pytest.approx(1.0, abs=1e-6)
