"""A run SIGKILLed after a checkpoint and started again with `resume: true` continues its step count
and its loss curve (the same losses as a run that was never interrupted)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from test_train_run import learnable_copy, small_dataset

from train.config import load_config
from train.recipe import run

pytestmark = pytest.mark.slow


def config(base: Path, data: Path, out: Path) -> dict:
    return {
        "base_model": str(base), "output_dir": str(out), "data": [str(data)], "max_steps": 30,
        "lr": 1e-2, "scheduler": "cosine", "warmup": 0, "batch_size": 2, "grad_accum": 1,
        "logging_steps": 2, "save_steps": 10, "val_size": 0, "max_seq_len": 256,
        "gradient_checkpointing": False, "lora": {"dropout": 0.0}, "seed": 0,
    }  # fmt: skip


def metrics(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]


def test_sigkill_then_resume_continues(tmp_path: Path, tiny_llama: Path) -> None:
    base = learnable_copy(tiny_llama, tmp_path / "base")
    data = small_dataset(tmp_path / "data.jsonl", repeat=3)
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump(config(base, data, tmp_path / "out")))
    cmd = [sys.executable, "-m", "train.cli", "run", str(path)]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    first = tmp_path / "out" / "checkpoints" / "checkpoint-10" / "trainer_state.json"
    deadline = time.time() + 240
    while not first.exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    assert first.exists(), (
        proc.stderr.read().decode() if proc.poll() is not None else "no checkpoint in time"
    )
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert not (tmp_path / "out" / "adapter").exists()  # it really died mid-run
    killed_at = max(r["step"] for r in metrics(tmp_path / "out"))
    assert killed_at < 30

    resumed = subprocess.run(
        [*cmd, "--resume", "true"], capture_output=True, text=True, env=env, timeout=300
    )
    assert resumed.returncode == 0, resumed.stderr
    assert "resume: continuing from" in resumed.stderr
    rows = metrics(tmp_path / "out")
    steps = [r["step"] for r in rows]
    assert steps == list(range(2, 31, 2)), (
        steps
    )  # no step logged twice, none missing, ends at max_steps
    state = json.loads(
        (tmp_path / "out" / "checkpoints" / "checkpoint-30" / "trainer_state.json").read_text()
    )
    assert state["global_step"] == 30

    # the curve continues: the same losses as an uninterrupted run with the same seed
    ref_path = tmp_path / "ref.yaml"
    ref_path.write_text(yaml.safe_dump(config(base, data, tmp_path / "ref")))
    reference = run(load_config(ref_path))
    expected = [r["loss"] for r in metrics(tmp_path / "ref")]
    got = [r["loss"] for r in rows]
    assert reference.steps == 30
    assert got == pytest.approx(expected, rel=2e-3), (got, expected)
