"""`train run` end to end on tiny random-init Llama and Falcon in 4-bit NF4, then merge and generate."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from train.cli import app
from train.config import load_config
from train.recipe import RunResult, run

pytestmark = pytest.mark.slow


def train(base: Path, out: Path, data: Path, *extra: str) -> RunResult:
    flags = [
        "--base_model", str(base), "--output_dir", str(out), "--data", str(data),
        "--max_steps", "40", "--lr", "1e-2", "--scheduler", "constant", "--warmup", "0",
        "--batch_size", "4", "--grad_accum", "1", "--logging_steps", "5", "--eval_steps", "20",
        "--save_steps", "20", "--val_size", "4", "--max_seq_len", "256", "--no-gradient_checkpointing",
        "--lora.dropout", "0", "--seed", "0", *extra,
    ]  # fmt: skip
    return run(load_config(None, flags))


@pytest.fixture(scope="module")
def llama_run(
    tmp_path_factory: pytest.TempPathFactory,
    learnable_llama: Path,
    small_dataset: Callable[..., Path],
) -> RunResult:
    tmp = tmp_path_factory.mktemp("llama-run")
    return train(learnable_llama, tmp / "out", small_dataset(tmp / "data.jsonl"))


def losses(out: Path) -> list[float]:
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    return [r["loss"] for r in rows if "loss" in r]


def test_loss_falls_and_outputs_are_written(llama_run: RunResult) -> None:
    out = llama_run.adapter.parent
    curve = losses(out)
    assert llama_run.steps == 40 and len(curve) == 8
    assert curve[-1] < 0.3 * curve[0], curve
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert {"step", "loss", "lr", "tokens_per_s"} <= set(rows[0]) and rows[0]["tokens_per_s"] > 0
    assert [r["step"] for r in rows if "eval_loss" in r] == [20, 40]
    assert load_config(out / "config.yaml").quantization == "4bit"
    assert (out / "loss.png").stat().st_size > 1000
    assert sorted(p.name for p in (out / "checkpoints").iterdir()) == [
        "checkpoint-20",
        "checkpoint-40",
    ]


def test_adapter_is_non_empty_and_trained(llama_run: RunResult) -> None:
    from safetensors.torch import load_file

    weights = load_file(str(llama_run.adapter / "adapter_model.safetensors"))
    config = json.loads((llama_run.adapter / "adapter_config.json").read_text())
    assert set(config["target_modules"]) == {
        "q_proj",
        "k_proj",
        "v_proj",
        "o_proj",
        "gate_proj",
        "up_proj",
        "down_proj",
    }
    lora_b = {k: v for k, v in weights.items() if "lora_B" in k}
    assert len(lora_b) == 2 * 7  # 2 layers × 7 linear layers, never lm_head
    assert all(v.abs().sum() > 0 for v in lora_b.values())  # lora_B starts at zero
    assert (llama_run.adapter / "tokenizer.json").exists()


def test_reloaded_adapter_gives_the_same_logits(llama_run: RunResult) -> None:
    from peft import PeftModel

    from train.model import load_base

    cfg = load_config(llama_run.adapter / "train_config.yaml")
    reloaded = PeftModel.from_pretrained(
        load_base(cfg.base_model, "4bit", torch.float32), str(llama_run.adapter)
    )
    ids = torch.tensor([[1, 40, 41, 42, 43, 44, 45, 46]])
    llama_run.model.eval()
    reloaded.eval()
    with torch.no_grad():
        assert torch.allclose(
            llama_run.model(input_ids=ids).logits, reloaded(input_ids=ids).logits, atol=1e-5
        )


def test_4bit_base_stays_as_loaded_through_eval_and_saving(tiny_llama: Path) -> None:
    """bitsandbytes 0.49+ repacks 4-bit weights in place on CPUs with AVX512-BF16 at the first
    eval-mode forward (bf16 kernel, no autograd) and back, re-quantized, on state_dict(); load_base
    turns that off (train/model.py keep_4bit_layout), so evaluating and saving change nothing."""
    from train.model import load_base

    model = load_base(str(tiny_llama), "4bit", torch.float32)
    ids = torch.tensor([[1, 40, 41, 42, 43, 44, 45, 46]])
    before = {k: v.clone() for k, v in model.state_dict().items()}

    def train_step() -> tuple[torch.Tensor, torch.Tensor]:
        model.train()
        embeds = model.get_input_embeddings()(ids).detach().requires_grad_(True)
        logits = model(inputs_embeds=embeds).logits
        logits.square().sum().backward()
        return logits.detach(), embeds.grad

    logits, grad = train_step()
    model.eval()
    with torch.no_grad():
        eval_logits = model(input_ids=ids).logits
    logits_after, grad_after = train_step()
    after = model.state_dict()
    assert torch.allclose(eval_logits, logits, atol=1e-6, rtol=0)  # not a bf16 kernel
    assert torch.allclose(grad_after, grad, atol=1e-6, rtol=0)  # gradients through the base
    assert torch.equal(logits_after, logits)
    assert before.keys() == after.keys()
    assert all(torch.equal(before[k], after[k]) for k in before)


def test_merge_matches_base_plus_adapter(llama_run: RunResult, tmp_path: Path) -> None:
    from transformers import AutoModelForCausalLM

    from train.adapter import load_with_adapter

    result = CliRunner().invoke(
        app,
        [
            "merge",
            "--adapter",
            str(llama_run.adapter),
            "--out",
            str(tmp_path / "m"),
            "--dtype",
            "fp32",
        ],
    )
    assert result.exit_code == 0, result.output
    merged = AutoModelForCausalLM.from_pretrained(tmp_path / "m").eval()
    unmerged, _ = load_with_adapter(llama_run.adapter)  # the 4-bit base it was trained on
    ids = torch.tensor([[1, 40, 41, 42, 43, 44, 45, 46]])
    with torch.no_grad():
        assert torch.allclose(
            merged(input_ids=ids).logits, unmerged(input_ids=ids).logits, atol=1e-4
        )
    assert not any("lora" in k for k in merged.state_dict())
    assert (tmp_path / "m" / "tokenizer.json").exists()


def test_generate_answers_in_the_training_template_and_stops_at_eos(
    llama_run: RunResult, tmp_path: Path, answers: dict[str, str]
) -> None:
    prompts = tmp_path / "prompts.jsonl"
    wanted = list(answers)[:3]
    prompts.write_text(
        "".join(json.dumps({"instruction": i, "input": "", "output": ""}) + "\n" for i in wanted)
    )
    result = CliRunner().invoke(
        app,
        [
            "generate",
            "--adapter",
            str(llama_run.adapter),
            "--input",
            str(prompts),
            "--max-new-tokens",
            "60",
        ],
    )
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["instruction"] for r in rows] == wanted
    assert all(r["stopped_at_eos"] for r in rows), rows
    assert sum(r["output"] == answers[r["instruction"]] for r in rows) >= 2, rows
    one = CliRunner().invoke(
        app, ["generate", "--adapter", str(llama_run.adapter), wanted[0], "--max-new-tokens", "60"]
    )
    assert one.exit_code == 0 and one.stdout.strip() == rows[0]["output"]


def test_tiny_falcon_trains_in_4bit(
    tmp_path: Path, learnable_falcon: Path, small_dataset: Callable[..., Path]
) -> None:
    from peft import PeftModel

    from train.model import load_base

    base = learnable_falcon
    result = train(
        base,
        tmp_path / "out",
        small_dataset(tmp_path / "data.jsonl"),
        "--max_steps",
        "30",
        "--val_size",
        "0",
    )
    curve = losses(tmp_path / "out")
    assert curve[-1] < 0.3 * curve[0], curve
    config = json.loads((result.adapter / "adapter_config.json").read_text())
    assert set(config["target_modules"]) == {
        "query_key_value",
        "dense",
        "dense_h_to_4h",
        "dense_4h_to_h",
    }
    # every Falcon linear layer was quantized (transformers 5.19 misses FalconLinear by itself)
    quantized = load_base(str(base), "4bit", torch.float32)
    kinds = {
        type(m).__name__
        for n, m in quantized.named_modules()
        if n.endswith(("query_key_value", "dense"))
    }
    assert kinds == {"Linear4bit"}
    reloaded = PeftModel.from_pretrained(quantized, str(result.adapter)).eval()
    ids = torch.tensor([[1, 40, 41, 42, 43]])
    with torch.no_grad():
        assert torch.allclose(
            result.model.eval()(input_ids=ids).logits, reloaded(input_ids=ids).logits, atol=1e-5
        )


def rotary_permute(w: np.ndarray, n_head: int) -> np.ndarray:
    """llama.cpp's converter reorders q/k rows from HF's rotate-half layout to interleaved pairs."""
    return (
        w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:])
        .swapaxes(1, 2)
        .reshape(w.shape)
    )


LLAMA_GGUF = {  # GGUF name → HF name; attn_q / attn_k are permuted for llama.cpp's rotary layout
    "token_embd.weight": "model.embed_tokens.weight",
    "output.weight": "lm_head.weight",
    **{
        f"blk.{i}.{g}.weight": f"model.layers.{i}.{h}.weight"
        for i in range(2)
        for g, h in [
            ("attn_v", "self_attn.v_proj"),
            ("attn_output", "self_attn.o_proj"),
            ("ffn_gate", "mlp.gate_proj"),
            ("ffn_up", "mlp.up_proj"),
            ("ffn_down", "mlp.down_proj"),
            ("attn_q", "self_attn.q_proj"),
            ("attn_k", "self_attn.k_proj"),
        ]
    },
}


@pytest.mark.parametrize(("quant", "atol"), [("f16", 2e-3), ("q8_0", 2e-2)])
def test_export_gguf_matches_the_merged_weights(
    llama_run: RunResult,
    tmp_path: Path,
    quant: str,
    atol: float,
    gguf_tensors: Callable[..., tuple],
) -> None:
    from transformers import AutoModelForCausalLM

    from train.merge import merge

    merged_dir = merge(llama_run.adapter, tmp_path / "merged", "fp32").path
    out = tmp_path / f"model.{quant}.gguf"
    args = [
        "export",
        str(merged_dir),
        "--gguf",
        "--out",
        str(out),
        "--quant",
        quant,
        "--pre-tokenizer",
        "default",
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    weights = AutoModelForCausalLM.from_pretrained(merged_dir).state_dict()
    tensors, types = gguf_tensors(out)
    assert set(LLAMA_GGUF) <= set(tensors)
    norms = {n for n in types if n.endswith("norm.weight")}
    assert len(norms) == 5 and {types[n] for n in norms} == {"F32"}
    # the converter's preset: every matrix, token embeddings and output.weight included
    assert {types[n] for n in set(types) - norms} == {quant.upper()} and len(types) == 21
    for gguf_name, hf_name in LLAMA_GGUF.items():
        want = weights[hf_name].numpy()
        got = tensors[gguf_name]
        if gguf_name.endswith(("attn_q.weight", "attn_k.weight")):
            want = rotary_permute(want, n_head=2)
        assert got.shape == want.shape, gguf_name
        assert abs(got - want).max() < atol * max(1.0, abs(want).max()), gguf_name
