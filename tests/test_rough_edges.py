"""What a new user hit first (issue 15): each error says what is wrong and what to do, a short
training run still logs its loss, and the offline toxicity fallback decides without stalling."""

from __future__ import annotations

import json
import socket
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from curate.backends.base import BackendError, SamplingParams
from curate.backends.openai_backend import OpenAIBackend, OpenAIConfig, _connection_hint
from curate.filters import toxicity_models as tm


def _dead_port() -> int:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_a_server_that_is_not_listening_is_named_with_what_to_check() -> None:
    cfg = OpenAIConfig(timeout_s=5.0, max_retries=0)
    backend = OpenAIBackend("m", f"http://127.0.0.1:{_dead_port()}/v1", config=cfg)
    with pytest.raises(BackendError) as info:
        backend.complete(["Hello"], SamplingParams())
    text = str(info.value)
    assert "nothing is listening there" in text and "--no-enable-chunked-prefill" in text
    assert "--base-url" in text and "crashed" not in text


def test_a_server_that_hangs_up_mid_request_is_said_to_have_crashed() -> None:
    error = RuntimeError("Connection error.")
    error.__cause__ = ConnectionError("Server disconnected without sending a response.")
    assert "closed the connection without answering" in _connection_hint(error, reached=False)


def test_the_toxicity_fallback_names_the_flag_that_exists() -> None:
    from curate.filters.command import resolve_config
    from curate.filters.toxicity import FIX_HINT

    assert "--toxicity-config DIR" in FIX_HINT and "--toxicity-config-dir" not in FIX_HINT
    with pytest.raises(Exception, match="^--toxicity-config /nowhere: no such directory"):
        tm.check_paths(None, "/nowhere")
    assert resolve_config  # the flag itself: tests/test_filter_cli.py checks both spellings


def test_offline_is_known_without_importing_torch_or_detoxify(tmp_path: Path) -> None:
    """The fallback decision reads the torch hub cache path and the route table, nothing else."""
    import subprocess

    code = (
        "import sys, os; os.environ.pop('HF_HUB_OFFLINE'); os.environ.pop('TRANSFORMERS_OFFLINE');"
        "from curate.filters.toxicity_models import detoxify_unavailable as d;"
        "tm = __import__('curate.filters.toxicity_models', fromlist=['x']);"
        "tm._no_default_route = lambda: True; print(d('original', None));"
        "print('torch' in sys.modules, 'detoxify' in sys.modules)"
    )
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    env |= {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TORCH_HOME": str(tmp_path)}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    ).stdout.splitlines()
    assert out == ["cannot download the original checkpoint (no network: no default route)"] + [
        "False False"
    ]


def test_the_checkpoint_cache_path_matches_torch_and_detoxify(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import torch
    from detoxify.detoxify import MODEL_URLS

    for model, name in tm.CHECKPOINT_FILES.items():
        assert MODEL_URLS[model].rsplit("/", 1)[-1] == name
    assert tm.torch_hub_dir() == Path(torch.hub.get_dir())
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    assert tm.torch_hub_dir() == tmp_path / "hub" == Path(torch.hub._get_torch_home()) / "hub"


def test_no_default_route_is_read_from_the_route_table(tmp_path: Path) -> None:
    head = "Iface\tDestination\tGateway\tFlags\n"
    table = tmp_path / "route"
    table.write_text(head + "eth0\t000200C0\t00000000\t0001\n")
    assert tm._no_default_route(str(table))
    table.write_text(head + "eth0\t00000000\t010200C0\t0003\n")
    assert not tm._no_default_route(str(table))
    assert not tm._no_default_route(str(tmp_path / "missing"))  # unknown: ask the network


def test_seeds_of_an_unknown_format_do_not_point_at_a_missing_flag(tmp_path: Path) -> None:
    from curate.generate.seeds import load_seeds
    from curate.io import InputError

    odd = tmp_path / "odd.jsonl"
    odd.write_text('{"prompt": "a", "answer": "b"}\n')
    with pytest.raises(InputError) as info:
        load_seeds(str(odd))
    assert "--from" not in str(info.value) and "instruction, input, output" in str(info.value)


def test_generate_help_shows_defaults_and_what_is_required() -> None:
    from typer.testing import CliRunner

    from curate.cli import app

    text = CliRunner().invoke(app, ["generate", "--help"], env={"COLUMNS": "220"}).output
    assert "[default: 100]" in text and "[default: vllm]" in text  # --target, --backend
    assert "[required: this flag or `model:` in --config]" in text


@pytest.mark.slow
def test_a_run_shorter_than_logging_steps_still_logs_its_last_step(
    tmp_path: Path, tiny_llama: Path, small_dataset: Callable[..., Path]
) -> None:
    from train.config import load_config
    from train.recipe import run

    flags = [
        "--base_model", str(tiny_llama), "--output_dir", str(tmp_path / "out"),
        "--data", str(small_dataset(tmp_path / "d.jsonl", repeat=1)), "--max_steps", "3",
        "--logging_steps", "10", "--batch_size", "2", "--val_size", "0", "--save_steps", "100",
        "--max_seq_len", "128", "--no-gradient_checkpointing",
    ]  # fmt: skip
    result = run(load_config(None, flags))
    rows = [json.loads(x) for x in (tmp_path / "out" / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows if "loss" in r] == [3]
    assert result.train_loss is not None and result.tokens_per_s > 0
    assert (tmp_path / "out" / "loss.png").stat().st_size > 1000


def test_generate_progress_shows_the_round_at_80_columns_and_updates_within_it() -> None:
    import io

    from rich.console import Console, Group

    from curate.backends.base import Completion
    from curate.generate.config import GenerateConfig
    from curate.generate.loop import new_counters
    from curate.generate.progress import RichProgress
    from curate.generate.state import Recovery

    class Model:
        name = "scripted"

        def complete(self, prompts: list[str], params: SamplingParams) -> list[list[Completion]]:
            return [[Completion("x", "stop", 3, 40)] for _ in prompts]

    console = Console(file=io.StringIO(), width=80, record=True)
    shown = RichProgress(console)
    cfg = GenerateConfig(model="m")
    shown.started(cfg, new_counters(), Recovery())
    shown.round_started(3)
    backend = shown.watch(Model())  # type: ignore[arg-type]
    assert backend.name == "scripted"
    backend.complete(["a", "b", "c"], SamplingParams())
    console.print(Group(*shown.progress.get_renderables()))
    shown.close()
    text = console.export_text()
    assert f"round 3/{cfg.rounds}" in text and "0/100 kept" in text and "ETA" in text
    assert "3 prompts done, 120 tokens" in text and "tok/s" in text
    assert all(len(row) <= 80 for row in text.splitlines())


def test_gguf_unknown_tokenizer_error_names_the_flag_and_the_choices() -> None:
    from train.export import _explain

    text = _explain("... BPE pre-tokenizer was not recognized ...", Path("m"))
    assert "--pre-tokenizer NAME" in text and "llama-bpe" in text and "\n" not in text


def test_filter_progress_knows_the_input_size_and_gives_an_eta(tmp_path: Path) -> None:
    from curate.filters.progress import PASS_1, StageProgress, count_lines

    data = tmp_path / "in.jsonl"
    data.write_text("".join(f'{{"instruction": "q{i}", "output": "a"}}\n' for i in range(400)))
    assert count_lines(data) == 400
    with StageProgress(["quality", "near-dedup"], inputs=[str(data)]) as bar:
        bar.advance("read", 100, f"{data}:100")
        left = bar.progress.tasks[bar.tasks["read"]].fields["left"]
        assert left.startswith(" 25% of input ETA 0:00:")
        first_pass = bar.callback("near-dedup")
        assert first_pass is not None and PASS_1 in bar.tasks
        first_pass(400)
        bar.advance("near-dedup", 200)
        left = bar.progress.tasks[bar.tasks["near-dedup"]].fields["left"]
        assert left.startswith(" 50% of pass 1 ETA")
        bar.advance("read", 300, bar.END)
        assert bar.progress.tasks[bar.tasks["read"]].fields["left"].startswith("100%")


def test_the_connection_test_overlaps_loading_the_fallback(monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(tm, "_cached_checkpoint", lambda model: None)
    monkeypatch.setattr(tm, "_no_default_route", lambda: False)
    monkeypatch.setattr(tm, "_reachable", lambda host, timeout: time.sleep(0.6) or False)
    loaded = []
    start = time.perf_counter()
    reason = tm.detoxify_unavailable(
        "original", None, 0.6, meanwhile=lambda: time.sleep(0.6) or loaded.append(1)
    )
    took = time.perf_counter() - start
    assert reason is not None and "github.com unreachable" in reason and loaded == [1]
    assert took < 1.1, took  # side by side, not one after the other (1.2 s)
