"""The shipped generate config loads; bad options and bad YAML are one clear line."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from curate.backends.base import BackendError
from curate.backends.vllm_backend import EngineConfig, engine_kwargs, lora_rank
from curate.cli import app
from curate.config.cli import parse
from curate.filters.config import ConfigError  # the old import path: the same class
from curate.generate.command import generate_command
from curate.generate.config import GenerateConfig, dump_config, load_config


def test_shipped_default_is_the_dataclass_default() -> None:
    cfg = load_config(None)
    assert dataclasses.asdict(cfg) == dataclasses.asdict(GenerateConfig())


def test_yaml_overrides_key_by_key_and_round_trips(tmp_path: Path) -> None:
    path = tmp_path / "g.yaml"
    path.write_text(
        "template: alpaca\nsampling:\n  temperature: 0.7\nengine: {max_model_len: 1024}\n"
    )
    cfg = load_config(path)
    assert (
        cfg.template == "alpaca" and cfg.sampling.temperature == 0.7 and cfg.sampling.top_p == 1.0
    )
    assert cfg.engine.max_model_len == 1024 and cfg.engine.dtype == "auto"
    again = tmp_path / "again.yaml"
    again.write_text(dump_config(cfg))
    assert load_config(again) == cfg


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "temprature: 1\n",
            "g.yaml:1: temprature: unknown key (did you mean 'sampling.temperature'?)",
        ),
        ("sampling: {top_p: high}\n", "g.yaml:1: sampling.top_p: expected a float, got 'high'"),
        (
            "seed: 1\ntemplate: dolly\n",
            "g.yaml:2: template: expected one of self-instruct, alpaca, got 'dolly'",
        ),
        ("rounds: [1\n", "g.yaml:2: not valid YAML"),
    ],
)
def test_bad_yaml_is_one_line(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "g.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert message in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "--model is required"),
        (
            ["--model", "m", "--backend", "tgi"],
            "--backend: expected one of vllm, openai, transformers, mt, got 'tgi'",
        ),
        (["--model", "m", "--backend", "openai"], "--backend openai needs --base-url"),
        (["--model", "m", "--top-p", "0"], "--top-p: expected in (0, 1], got 0.0"),
        (["--model", "m", "--target", "0"], "--target: expected at least 1, got 0"),
        (["--model", "m", "--rounds", "many"], "--rounds: expected an integer, got 'many'"),
        (
            ["--model", "m", "--set", "sampling.n=0"],
            "--set: sampling.n: expected at least 1, got 0",
        ),
        (
            ["--model", "m", "--set", "novelty.treshold=0.5"],
            "--set: novelty.treshold: unknown key (did you mean 'novelty.threshold'?)",
        ),
        (["--model", "m", "--batch_size", "x"], "--batch-size: expected an integer, got 'x'"),
        (
            ["--model", "m", "--backend", "transformers", "--structured"],
            "--structured needs --backend vllm or openai",
        ),
        (["--model", "m", "--seeds", "nope.jsonl"], "nope.jsonl: no such file"),
        (["--model", "m", "--config", "nope.yaml"], "--config: nope.yaml: no such file"),
        (
            ["--model", "m", "--set", "engine.extra={trust_remote_code: true}"],
            "engine.extra: 'trust_remote_code' is not an allowed vLLM argument",
        ),
        (
            ["--model", "m", "--set", "engine.extra={worker_cls: evil.Worker}"],
            "engine.extra: 'worker_cls' is not an allowed vLLM argument",
        ),
    ],
)
def test_cli_errors_are_one_line_before_any_work(
    tmp_path: Path, args: list[str], message: str
) -> None:
    result = CliRunner().invoke(app, ["generate", "--out", str(tmp_path / "o"), *args])
    assert result.exit_code == 1, result.output
    assert message in result.output and "Traceback" not in result.output
    assert not (tmp_path / "o" / "records.jsonl").exists()


def test_cli_errors_in_the_config_file_name_its_line(tmp_path: Path) -> None:
    path = tmp_path / "g.yaml"
    for text, message in (
        ("seed: 1\nrounds: many\n", "g.yaml:2: rounds: expected an integer, got 'many'"),
        ("seed: 1\nsampling:\n  n: 0\n", "g.yaml:3: sampling.n: expected at least 1, got 0"),
    ):
        path.write_text(text)
        args = ["generate", "--out", str(tmp_path / "o"), "--model", "m", "--config", str(path)]
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 1 and message in result.stderr, result.stderr
        assert len(result.stderr.strip().splitlines()) == 1


def test_file_then_flags_then_set(tmp_path: Path) -> None:
    path = tmp_path / "g.yaml"
    path.write_text("structured: true\nrounds: 3\nsampling: {temperature: 0.5, n: 2}\n")
    args = ["--out", "o", "--model", "0123", "--config", str(path), "--no-structured"]
    args += [
        "--temperature",
        "0.9",
        "--set",
        "sampling.temperature=0.2",
        "--set",
        "engine.extra={seed: 1}",
    ]
    cfg, _, own = parse(generate_command, args)
    assert own == {"out": Path("o"), "overwrite": False, "verbose": False}
    assert cfg.model == "0123" and cfg.structured is False and cfg.rounds == 3
    assert cfg.sampling.temperature == 0.2 and cfg.sampling.n == 2 and cfg.sampling.top_p == 1.0
    assert cfg.engine.extra == {"seed": 1}
    cfg, _, _ = parse(generate_command, ["--out", "o", "--model", "m", "--structured", "true"])
    assert cfg.structured is True


def test_help_lists_the_contract() -> None:
    result = CliRunner().invoke(app, ["generate", "--help"], env={"COLUMNS": "200"})
    for flag in ("--out", "--model", "--seeds", "--backend", "--base-url", "--adapter", "--target", "--rounds",
                 "--template", "--temperature", "--top-p", "--max-tokens", "--batch-size", "--filter-config",
                 "--config", "--structured", "--no-structured", "--seed", "--set", "--show-config"):  # fmt: skip
        assert flag in result.output
    listing = CliRunner().invoke(app, ["generate", "--show-config"]).output
    assert yaml.safe_load(listing) == dataclasses.asdict(GenerateConfig())


def test_engine_kwargs_without_cuda(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)  # the CPU defaults, anywhere
    (tmp_path / "adapter_config.json").write_text('{"r": 12}')
    kw = engine_kwargs("m", EngineConfig(max_model_len=256, extra={"seed": 1}), str(tmp_path))
    assert kw["enforce_eager"] is True and kw["enable_chunked_prefill"] is False
    assert kw["max_model_len"] == 256 and kw["seed"] == 1
    assert kw["enable_lora"] is True and kw["max_lora_rank"] == lora_rank(tmp_path) == 16
    with pytest.raises(BackendError, match="'trust_remote_code' is not an allowed"):
        engine_kwargs("m", EngineConfig(extra={"trust_remote_code": True}), None)
    kw = engine_kwargs("m", EngineConfig(enforce_eager=False, chunked_prefill=True), None)
    assert (
        kw["enforce_eager"] is False
        and "enable_chunked_prefill" not in kw
        and "enable_lora" not in kw
    )


def test_shipped_yaml_documents_every_key() -> None:
    from importlib.resources import files

    text = files("curate.configs").joinpath("generate.yaml").read_text()
    data = yaml.safe_load(text)
    from curate.backends.registry import SHIPPED

    backend_sections = {spec.section for spec in SHIPPED if spec.section}
    fields = {f.name for f in dataclasses.fields(GenerateConfig)}
    # every run-level key is documented; a backend's section may be (its config class owns it)
    assert fields - backend_sections <= set(data) <= fields
