"""`train run` config: YAML + flags → one dataclass; bad input → one clear line before any model loads."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

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


@pytest.mark.parametrize(
    ("text", "flags", "message"),
    [
        (
            "base_model: m\ndata: [a]\nlearning_rate: 1\n",
            [],
            "c.yaml:3: unknown field 'learning_rate'",
        ),
        (
            "base_model: m\ndata: [a]\nlora:\n  r: eight\n",
            [],
            "c.yaml:4: lora.r: expected an integer",
        ),
        (
            "base_model: m\ndata: [a]\npacking: maybe\n",
            [],
            "c.yaml:3: packing: expected true or false",
        ),
        ("base_model: m\ndata: [a]\n", ["--lr", "fast"], "--lr: expected a number, got 'fast'"),
        (
            "base_model: m\ndata: [a]\n",
            ["--lora.rank", "8"],
            "--lora.rank: unknown option (did you mean --lora.r?)",
        ),
        (
            "base_model: m\ndata: [a]\nquantization: 3bit\n",
            [],
            "c.yaml:3: quantization: '3bit' is not one of",
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
    result = CliRunner().invoke(app, ["run", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    for name in LEAVES:
        assert f"--{name} (" in result.output, name
    assert "--lora.target_modules (str | list[str], default auto)" in result.output
    assert (
        len(LEAVES) == len(json.loads(json.dumps(TrainConfig().to_dict()))) - 1 + 4
    )  # lora: 4 leaves


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
            "template: 'chat' is not one",
        ),
    ]
    for args, message in cases:
        code, stderr = _run([*args, *out])
        assert code == 1, (args, stderr)
        assert message in stderr, (args, stderr)
        assert stderr.count("\n") == 1 and "Traceback" not in stderr, stderr
