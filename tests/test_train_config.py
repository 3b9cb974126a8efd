"""`train run` config: YAML + flags → one dataclass; bad input → one clear line before any model loads."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from curate.config import ConfigError as SharedConfigError
from curate.config import flag_name
from train.cli import app
from train.config import LEAVES, ConfigError, TrainConfig, load_config
from train.recipe import check_base_model

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = sorted((ROOT / "train" / "configs").glob("*.yaml"))


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_shipped_configs_load_and_validate(path: Path) -> None:
    cfg = load_config(path)
    check_base_model(cfg.base_model)  # hub ids are accepted without touching the network
    assert cfg.lora.target_modules == "auto"
    assert cfg.quantization == "4bit"


def test_shipped_configs_cover_the_seeds() -> None:
    names = {p.name for p in CONFIGS}
    assert {
        "tiny-cpu.yaml",
        "falcon-7b-qlora.yaml",
        "bactrian-x-es.yaml",
        "llama-chat.yaml",
    } <= names
    assert load_config(ROOT / "train/configs/falcon-7b-qlora.yaml").base_model == "tiiuae/falcon-7b"
    assert load_config(ROOT / "train/configs/bactrian-x-es.yaml").data == ["MBZUAI/Bactrian-X:es"]
    tiny = load_config(ROOT / "train/configs/tiny-cpu.yaml")
    assert all((ROOT / d).is_file() for d in tiny.data)


def test_flags_override_yaml(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("base_model: m\ndata: a.json\nlr: 2e-4\nlora:\n  r: 4\n")
    cfg = load_config(
        path,
        ["--lora.r", "8", "--lr=1e-3", "--no-packing", "--lora.target_modules", "[q_proj, v_proj]"],
    )
    assert cfg.data == ["a.json"] and cfg.lr == 1e-3 and cfg.lora.r == 8 and cfg.packing is False
    assert cfg.lora.target_modules == ["q_proj", "v_proj"]
    assert load_config(path).lr == 2e-4  # YAML 1.1 reads 2e-4 as a string: still a number


def test_kebab_case_flags_aliases_and_set(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("base_model: m\ndata: a.json\n")
    flags = ["--max-steps", "7", "--batch-size", "2", "--lora.target-modules", "q_proj,v_proj"]
    flags += ["--model", "other", "--out", "runs/x", "--resume", "true", "--packing=false"]
    flags += ["--set", "lora.alpha=64", "--set", "lr=3e-4", "--data", "b.json", "--data", "c.json"]
    cfg = load_config(path, flags)
    assert (cfg.max_steps, cfg.batch_size, cfg.lora.alpha, cfg.lr) == (7, 2, 64, 3e-4)
    assert cfg.lora.target_modules == ["q_proj", "v_proj"]
    assert cfg.base_model == "other" and cfg.output_dir == "runs/x"
    assert cfg.resume is True and cfg.packing is False
    assert cfg.data == ["b.json", "c.json"]
    snake = load_config(
        path, ["--base_model", "other", "--output_dir", "runs/x", "--max_steps", "7"]
    )
    assert (snake.base_model, snake.output_dir, snake.max_steps) == ("other", "runs/x", 7)
    assert SharedConfigError is ConfigError  # one error class for every command


@pytest.mark.parametrize(
    ("text", "flags", "message"),
    [
        (
            "base_model: m\ndata: [a]\nlearning_rate: 1\n",
            [],
            "c.yaml:3: learning_rate: unknown key",
        ),
        (
            "base_model: m\ndata: [a]\nlora:\n  rank: 8\n",
            [],
            "c.yaml:4: lora.rank: unknown key (did you mean 'lora.r'?)",
        ),
        (
            "base_model: m\ndata: [a]\n",
            ["--set", "lora.rank=8"],
            "--set: lora.rank: unknown key (did you mean 'lora.r'?)",
        ),
        ("base_model: m\ndata: [a]\n", ["--set", "lr=fast"], "--set: lr: expected a float"),
        (
            "base_model: m\ndata: [a]\nlr: fast\n",
            [],
            "c.yaml:3: lr: expected a float, got 'fast'",
        ),
        ("base_model: m\ndata: [a]\nlora: {r: 0}\n", [], "c.yaml:3: lora.r: lora.r and lora.alpha"),
        (
            "base_model: m\ndata: [a]\nlora:\n  r: eight\n",
            [],
            "c.yaml:4: lora.r: expected an integer",
        ),
        (
            "base_model: m\ndata: [a]\npacking: maybe\n",
            [],
            "c.yaml:3: packing: expected a boolean (true/false)",
        ),
        ("base_model: m\ndata: [a]\n", ["--lr", "fast"], "--lr: expected a float, got 'fast'"),
        (
            "base_model: m\ndata: [a]\n",
            ["--lora.rank", "8"],
            "--lora.rank: unknown option (did you mean --lora.r?)",
        ),
        (
            "base_model: m\ndata: [a]\nquantization: 3bit\n",
            [],
            "c.yaml:3: quantization: expected one of 4bit, 8bit, none, got '3bit'",
        ),
        ("data: [a]\n", [], "base_model: required"),
    ],
)
def test_bad_config_is_one_line(tmp_path: Path, text: str, flags: list[str], message: str) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as e:
        load_config(path, flags)
    assert message in str(e.value)
    assert "\n" not in str(e.value)


def test_help_lists_every_field() -> None:
    result = CliRunner().invoke(app, ["run", "--help"], env={"COLUMNS": "250"})
    assert result.exit_code == 0
    for name in LEAVES:
        assert flag_name(name) in result.output, name
    for alias in ("--model", "--out", "--no-packing", "--config", "--set", "--show-config"):
        assert alias in result.output
    assert (
        len(LEAVES) == len(json.loads(json.dumps(TrainConfig().to_dict()))) - 1 + 4
    )  # lora: 4 leaves
    listing = CliRunner().invoke(app, ["run", "--show-config"]).output
    assert yaml.safe_load(listing) == TrainConfig().to_dict()
    assert "  target_modules: auto  # str | list[str]; 'auto' = every linear layer" in listing


@pytest.fixture
def no_model_load(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kw: object) -> None:
        raise AssertionError("a model was loaded before the input was checked")

    monkeypatch.setattr("train.recipe.load_base", refuse)


def _run(args: list[str]) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["run", *args])
    return result.exit_code, result.stderr


@pytest.mark.usefixtures("no_model_load")
def test_cli_errors_before_any_model_loads(
    tmp_path: Path, tiny_llama: Path, project_data: Path
) -> None:
    alpaca = str(project_data / "samples" / "alpaca.json")
    out = ["--output_dir", str(tmp_path / "out")]
    empty = tmp_path / "empty.jsonl"
    empty.write_text('{"instruction": "x", "output": 5}\n')  # malformed: rejected, nothing left
    cases = [
        (["--base_model", str(tmp_path / "nope"), "--data", alpaca], "base_model: "),
        (["--base_model", "./models/missing", "--data", alpaca], "no such model directory"),
        (["--base_model", str(tiny_llama), "--data", str(tmp_path / "none.json")], "no such file"),
        (["--base_model", str(tiny_llama), "--data", str(empty)], "data: no training records"),
        (
            ["--base_model", str(tiny_llama), "--data", alpaca, "--max_seq_len", "8"],
            "max_seq_len: 8 is shorter",
        ),
        (
            ["--base_model", str(tiny_llama), "--data", alpaca, "--template", "chat"],
            "--template: expected one of alpaca, chatml, tokenizer, got 'chat'",
        ),
        (["--model", str(tmp_path / "nope"), "--data", alpaca], f"base_model: {tmp_path}/nope"),
        (["--base-model", str(tiny_llama), "--data", alpaca, "--max-steps", "x"], "--max-steps: "),
        (["--config", str(empty), str(empty)], "give one config file"),
        (  # a bad command line: exit 2, as click does
            ["--base-model", str(tiny_llama), "--data", alpaca, "--lora.rank", "8"],
            "error: --lora.rank: unknown option (did you mean --lora.r?)",
        ),
    ]
    for args, message in cases:
        code, stderr = _run([*args, *out])
        assert code == (2 if "unknown option" in message else 1), (args, stderr)
        assert message in stderr, (args, stderr)
        assert stderr.count("\n") == 1 and "Traceback" not in stderr, stderr


def test_cli_reads_config_file_lines_and_out_alias(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("base_model: m\ndata: [a.json]\nlr: fast\n")
    code, stderr = _run([str(path), "--out", str(tmp_path / "o")])
    assert code == 1 and stderr.strip() == f"error: {path}:3: lr: expected a float, got 'fast'"
