"""`curate experiment` on a tiny random-init llama: 3 variants (full, heuristics, its random
control) x 2 seeds, killed with SIGKILL after the first variant, resumed: only the unfinished runs
train again; the table, the plot and the hashes are written; a third run trains nothing."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from rich.console import Console

from curate.config import ConfigError
from curate.experiment.config import load
from curate.experiment.data import file_sha256, read_all
from curate.experiment.run import run_experiment

ROOT = Path(__file__).resolve().parents[1]


def write_config(tmp_path: Path, model: Path) -> Path:
    samples = ROOT / "data" / "samples"
    data = ", ".join(str(samples / f) for f in ("alpaca.jsonl", "dolly.jsonl", "defects.jsonl"))
    path = tmp_path / "experiment.yaml"
    path.write_text(
        f"data: [{data}]\n"
        "heldout_size: 6\n"
        f"base_model: {model}\n"
        "train: {quantization: none, max_seq_len: 256, batch_size: 2, grad_accum: 1,"
        " logging_steps: 1, save_steps: 1000, lora.r: 4, gradient_checkpointing: false,"
        " warmup: 0}\n"
        "seeds: [1, 2]\n"
        "budget: steps\n"
        "steps: 2\n"
        "variants:\n"
        "  full: {}\n"
        "  heuristics: {only: [quality]}\n"
    )
    return path


def wait_for(path: Path, proc: subprocess.Popen, limit: float = 120) -> None:
    end = time.monotonic() + limit
    while not path.exists():
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else "exited"
        assert time.monotonic() < end, f"{path} never appeared"
        time.sleep(0.05)


def test_experiment_table_plots_hashes_and_resume_after_kill(
    tmp_path: Path, tiny_llama: Path
) -> None:
    config = write_config(tmp_path, tiny_llama)
    out = tmp_path / "exp"
    cmd = [sys.executable, "-m", "curate.cli", "experiment", str(config), "--out", str(out)]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=os.environ.copy(), stderr=subprocess.PIPE, text=True)
    first = out / "runs" / "full" / "seed-2" / "result.json"
    try:
        wait_for(first, proc)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert not (out / "experiment.md").exists()
    done = {p: p.read_bytes() for p in (out / "runs" / "full").glob("seed-*/result.json")}
    assert len(done) == 2

    summary = run_experiment(load(config), out, Console(quiet=True))
    # only the unfinished variants trained again; the data of every variant was reused
    assert summary["runs_trained"] == [
        "heuristics/seed-1",
        "heuristics/seed-2",
        "random-heuristics/seed-1",
        "random-heuristics/seed-2",
    ]
    assert set(summary["variants_reused"]) >= {"full", "heuristics"}
    assert {p: p.read_bytes() for p in done} == done

    variants = summary["variants"]
    assert variants["random-heuristics"]["records"] == variants["heuristics"]["records"]
    assert variants["heuristics"]["records"] < variants["full"]["records"]
    control = read_all([variants["random-heuristics"]["data"]])
    assert len(control) == variants["heuristics"]["records"]
    heldout = {r.text() for r in read_all([str(out / "data" / "heldout.jsonl")])}
    assert heldout and not heldout & {r.text() for r in read_all([variants["full"]["data"]])}

    rows = list(csv.DictReader((out / "results.csv").open()))
    assert [r["variant"] for r in rows] == ["full", "heuristics", "random-heuristics"]
    for r in rows:
        v = variants[r["variant"]]
        assert r["seeds"] == "2" and float(r["eval_loss_mean"]) > 0 and r["eval_loss_std"] != ""
        assert r["data_sha256"] == v["sha256"] == file_sha256(Path(v["data"]))
        assert len(r["config_sha256"]) == 64
    runs = list(csv.DictReader((out / "runs.csv").open()))
    assert len(runs) == 6 and {r["steps"] for r in runs} == {"2"}
    report = (out / "experiment.md").read_text()
    assert "## Results" in report and "random-heuristics" in report and "± " in report
    assert "Kept by full, not in heuristics" in report and "quality: " in report
    assert (out / "loss_curves.png").stat().st_size > 1000

    again = run_experiment(load(config), out, Console(quiet=True))
    assert again["runs_trained"] == [] and len(again["variants_reused"]) == 3


def test_shipped_experiment_configs_load() -> None:
    for name in ("experiment-tiny.yaml", "experiment-gpu.yaml", "experiment-toolformer.yaml"):
        cfg = load(ROOT / "curate" / "configs" / name)
        assert cfg.variants and cfg.base_model and cfg.seeds
    from curate.config import leaves
    from curate.experiment.config import ExperimentConfig

    assert all(leaf.help and "\n" not in leaf.help for leaf in leaves(ExperimentConfig))


def test_config_errors_name_the_key(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("data: [x.jsonl]\nbase_model: m\nvariants:\n  full: {}\n  h: {onl: [quality]}\n")
    with pytest.raises(ConfigError, match=r"variants\.h.*unknown key 'onl'"):
        load(bad)
    bad.write_text("data: [x.jsonl]\nbase_model: m\nvariants:\n  h: {only: [qualty]}\n")
    with pytest.raises(ConfigError, match="unknown stage 'qualty'"):
        load(bad)
    bad.write_text("data: [x.jsonl]\nbase_model: m\nheldout_filter: [dedup]\n")
    with pytest.raises(ConfigError, match="heldout_filter: unknown stage 'dedup'"):
        load(bad)
    bad.write_text("data: [x.jsonl]\nbase_model: m\nbudget: flops\n")
    with pytest.raises(ConfigError, match="budget"):
        load(bad)


def test_judge_win_rate_against_the_baseline(tmp_path: Path, tiny_llama: Path) -> None:
    from generate_fakes import ScriptedBackend

    from curate.backends.registry import BackendSpec, register_backend, unregister_backend

    opened: list[ScriptedBackend] = []

    def factory(opts):  # a judge that always prefers the first answer: exactly 50 % both ways
        opened.append(ScriptedBackend(lambda prompt, j, params: "A", model=opts.model))
        return opened[-1]

    config = write_config(tmp_path, tiny_llama)
    text = config.read_text().replace("seeds: [1, 2]", "seeds: [1]").replace("steps: 2", "steps: 1")
    config.write_text(
        text + "controls: false\njudge_backend: scripted-judge\njudge_model: j\njudge_examples: 2\n"
    )
    register_backend(BackendSpec("scripted-judge", factory, "tests"))
    try:
        summary = run_experiment(load(config), tmp_path / "exp", Console(quiet=True))
    finally:
        unregister_backend("scripted-judge")
    assert summary["win_rates"] == {"heuristics": "0.5000 ± 0.0000"}
    assert [len(prompts) for b in opened for prompts, _ in b.calls] == [4]  # 2 pairs, both orders
    assert "win-rate vs full" in (tmp_path / "exp" / "experiment.md").read_text()
