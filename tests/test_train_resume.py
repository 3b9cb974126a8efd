"""A run SIGKILLed after a checkpoint and started again with `resume: true` continues its step count
and its loss curve (the same losses as a run that was never interrupted).

The kill lands at a known point, not after a race with a timer: the child stops itself (SIGSTOP)
right after it saved checkpoint-10, the test sees it stopped, then kills it.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from train.config import load_config
from train.recipe import run

pytestmark = pytest.mark.slow

# `train run` in a child that freezes itself after its first checkpoint is saved (on_save runs
# after trainer_state.json is written), so the parent kills it at exactly that step.
STOP_AFTER_FIRST_CHECKPOINT = """
import os, signal, sys
import transformers
from train.cli import app

class StopAfterSave(transformers.TrainerCallback):
    def on_save(self, args, state, control, **kwargs):
        os.kill(os.getpid(), signal.SIGSTOP)

init = transformers.Trainer.__init__
def patched_init(self, *args, **kwargs):
    init(self, *args, **kwargs)
    self.add_callback(StopAfterSave())
transformers.Trainer.__init__ = patched_init
sys.argv[0] = "train"
app()
"""


def config(base: Path, data: Path, out: Path) -> dict:
    return {
        "base_model": str(base), "output_dir": str(out), "data": [str(data)], "max_steps": 30,
        "lr": 1e-2, "scheduler": "cosine", "warmup": 0, "batch_size": 2, "grad_accum": 1,
        "logging_steps": 2, "save_steps": 10, "val_size": 0, "max_seq_len": 256,
        "gradient_checkpointing": False, "lora": {"dropout": 0.0}, "seed": 0,
    }  # fmt: skip


def metrics(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]


def wait_until_stopped(proc: subprocess.Popen, log: Path, deadline_s: float) -> None:
    """Block until the child has stopped itself; fail with its log if it exits or never stops."""
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        pid, status = os.waitpid(proc.pid, os.WUNTRACED | os.WNOHANG)
        if pid and os.WIFSTOPPED(status):
            return
        if pid:  # it exited (reaped here: Popen no longer can)
            pytest.fail(f"train run exited before its first checkpoint: {log.read_text()[-3000:]}")
        time.sleep(0.05)  # only observes: the stop point is fixed by the child itself
    proc.kill()
    pytest.fail(f"no checkpoint in {deadline_s:g} s: {log.read_text()[-3000:]}")


def test_sigkill_then_resume_continues(
    tmp_path: Path, learnable_llama: Path, small_dataset: Callable[..., Path]
) -> None:
    base = learnable_llama
    data = small_dataset(tmp_path / "data.jsonl", repeat=3)
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump(config(base, data, tmp_path / "out")))
    cmd = [sys.executable, "-m", "train.cli", "run", str(path)]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    log = tmp_path / "first.log"
    with log.open("w") as sink:
        proc = subprocess.Popen(
            [sys.executable, "-c", STOP_AFTER_FIRST_CHECKPOINT, "run", str(path)],
            stdout=sink,
            stderr=subprocess.STDOUT,
            env=env,
        )
    wait_until_stopped(proc, log, 240)
    first = tmp_path / "out" / "checkpoints" / "checkpoint-10" / "trainer_state.json"
    assert first.exists() and not (tmp_path / "out" / "checkpoints" / "checkpoint-20").exists()
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert not (tmp_path / "out" / "adapter").exists()  # it really died mid-run
    assert max(r["step"] for r in metrics(tmp_path / "out")) == 10

    resumed = subprocess.run(
        [*cmd, "--resume", "true"], capture_output=True, text=True, env=env, timeout=300
    )
    assert resumed.returncode == 0, resumed.stderr
    assert (
        "resume: continuing from" in resumed.stderr
        and "checkpoint-10" in resumed.stderr.replace("\n", "")
    )
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
