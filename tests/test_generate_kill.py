"""kill -9 the real `curate generate` process mid-run, start it again: nothing lost, nothing twice."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from generate_fakes import ScriptedBackend, respond

from curate.generate.config import GenerateConfig
from curate.generate.loop import Listener, run_generate

LAUNCHER = Path(__file__).resolve().parent / "run_with_fake_backend.py"
ARGS = ["--model", "scripted", "--backend", "fake", "--target", "24", "--rounds", "50"]
ARGS += ["--batch-size", "1"]
CONFIG = "filters: [exact-dedup, quality]\n"
KILL_ROUND = 3  # killed inside this round: rounds 1-2 are committed, round 3 is not


def cli(out: Path, cfg: Path, *pause: str) -> subprocess.Popen:
    cmd = [sys.executable, str(LAUNCHER), *pause, "generate", "--out", str(out)]
    cmd += ["--config", str(cfg), *ARGS]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


class CallsAtRoundStart(Listener):
    """How many backend calls were made before each round started."""

    def __init__(self, backend: ScriptedBackend):
        self.backend, self.before = backend, {}

    def round_started(self, round_no: int) -> None:
        self.before[round_no] = len(self.backend.calls)


def uninterrupted(out: Path) -> dict[int, int]:
    cfg = GenerateConfig(model="scripted", backend="fake", target=24, rounds=50, batch_size=1)
    cfg.filters = ["exact-dedup", "quality"]
    backend = ScriptedBackend(respond, model="scripted")
    calls = CallsAtRoundStart(backend)
    run_generate(cfg, out, lambda _c: backend, calls)
    return calls.before


def wait_for(path: Path, proc: subprocess.Popen, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while not path.exists():
        assert proc.poll() is None, f"exited before the pause: {proc.stdout.read()}"
        assert time.monotonic() < deadline, "the fake backend never reached the pause"
        time.sleep(0.01)


@pytest.mark.slow
def test_kill_9_then_resume_reaches_the_target_with_no_duplicates(tmp_path: Path) -> None:
    whole = tmp_path / "whole"
    calls_before = uninterrupted(whole)
    assert calls_before[KILL_ROUND + 1] - calls_before[KILL_ROUND] >= 2
    pause_at = calls_before[KILL_ROUND] + 2  # the second backend call of round 3

    cfg_file = tmp_path / "generate.yaml"
    cfg_file.write_text(CONFIG)
    out, paused = tmp_path / "run", tmp_path / "paused"
    proc = cli(out, cfg_file, "--pause-at-call", str(pause_at), "--signal", str(paused))
    wait_for(paused, proc)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    assert json.loads((out / "state.json").read_text())["rounds_done"] == KILL_ROUND - 1

    again = cli(out, cfg_file)
    output, _ = again.communicate(timeout=120)
    assert again.returncode == 0, output
    assert "target reached: 24 kept" in output

    ids = [
        json.loads(line)["id"]
        for f in ("records.jsonl", "rejected.jsonl")
        for line in (out / f).open()
    ]
    assert len(ids) == len(set(ids))
    # the run that was killed writes the very same bytes as the one that was not
    for name in ("records.jsonl", "rejected.jsonl", "instructions.jsonl"):
        assert (out / name).read_bytes() == (whole / name).read_bytes(), name
