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
from generate_fakes import respond

from curate.backends.fake import ScriptedBackend
from curate.generate.config import GenerateConfig
from curate.generate.loop import run_generate

TESTS = Path(__file__).resolve().parent
ARGS = [
    "--model",
    "scripted",
    "--backend",
    "transformers",
    "--target",
    "24",
    "--rounds",
    "50",
    "--batch-size",
    "1",
]
CONFIG = "filters: [exact-dedup, quality]\n"


def cli(out: Path, cfg: Path) -> subprocess.Popen:
    env = dict(os.environ, CURATE_GENERATE_TEST_RESPONDER="generate_fakes:slow_respond")
    env["PYTHONPATH"] = os.pathsep.join([str(TESTS), env.get("PYTHONPATH", "")])
    cmd = [
        str(Path(sys.executable).parent / "curate"),
        "generate",
        "--out",
        str(out),
        "--config",
        str(cfg),
        *ARGS,
    ]
    return subprocess.Popen(
        cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


def rounds_done(out: Path) -> int:
    try:
        return json.loads((out / "state.json").read_text())["rounds_done"]
    except (OSError, ValueError):
        return 0


@pytest.mark.slow
def test_kill_9_then_resume_reaches_the_target_with_no_duplicates(tmp_path: Path) -> None:
    cfg_file = tmp_path / "generate.yaml"
    cfg_file.write_text(CONFIG)
    out = tmp_path / "run"
    proc = cli(out, cfg_file)
    deadline = time.monotonic() + 60
    while rounds_done(out) < 2 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(0.07)  # into the next round
    assert proc.poll() is None, f"finished before the kill: {proc.stdout.read()}"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    killed_at = rounds_done(out)
    assert 2 <= killed_at < 6

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
    # the same run without the kill writes the very same bytes
    whole = tmp_path / "whole"
    cfg = GenerateConfig(
        model="scripted", backend="transformers", target=24, rounds=50, batch_size=1
    )
    cfg.filters = ["exact-dedup", "quality"]
    run_generate(cfg, whole, lambda _c: ScriptedBackend(respond, model="scripted"))
    for name in ("records.jsonl", "rejected.jsonl", "instructions.jsonl"):
        assert (out / name).read_bytes() == (whole / name).read_bytes(), name
