"""`curate filter` options and config: the shipped default, clear one-line errors, overrides."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from curate.cli import app
from curate.filters.command import FLAG_KEYS, KEEP_KEYS, resolve_config
from curate.filters.config import (
    ConfigError,
    FilterConfig,
    default_config_text,
    dump_config,
    load_config,
    parse_config,
    set_value,
)

runner = CliRunner()
DEFECTS = "data/samples/defects.jsonl"


def _invoke(*args: str):
    return runner.invoke(app, ["filter", *args])


def _one_clear_line(result) -> str:
    assert result.exit_code != 0
    assert result.exception is None or isinstance(result.exception, SystemExit)
    text = result.stderr.strip()
    assert "Traceback" not in result.output + result.stderr
    assert len(text.splitlines()) == 1, text
    return text


def test_shipped_default_config_is_valid_and_equals_the_dataclass_defaults() -> None:
    shipped = yaml.safe_load(default_config_text())
    assert shipped == dataclasses.asdict(FilterConfig())
    assert load_config(None) == FilterConfig()
    assert parse_config(dump_config(FilterConfig()), "x") == FilterConfig()


def test_every_flag_sets_an_existing_config_key() -> None:
    cfg = FilterConfig()
    for key in [*FLAG_KEYS.values(), *KEEP_KEYS]:
        obj = cfg
        for part in key.split("."):
            assert hasattr(obj, part), key
            obj = getattr(obj, part)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "near_dedup:\n  threshold: high\n",
            "bad.yaml: near_dedup.threshold: expected a float, got 'high'",
        ),
        ("near_dedup:\n  treshold: 0.8\n", "bad.yaml: near_dedup.treshold: unknown key"),
        ("wokers: 2\n", "bad.yaml: wokers: unknown key"),
        ("workers: two\n", "bad.yaml: workers: expected an integer, got 'two'"),
        ("order: [quality, spelling]\n", "bad.yaml: order: unknown stage 'spelling'"),
        ("quality:\n  enabled: 3\n", "bad.yaml: quality.enabled: expected a boolean"),
        ("near_dedup: [1]\n", "bad.yaml: near_dedup: expected a section of keys"),
        ("a: [\n", "bad.yaml:2: not valid YAML"),
    ],
)
def test_bad_config_is_one_clear_line_before_any_work(
    tmp_path: Path, text: str, message: str
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(text)
    out = tmp_path / "out"
    result = _invoke(DEFECTS, "--out", str(out), "--config", str(bad))
    line = _one_clear_line(result)
    assert message in line.replace(str(tmp_path) + "/", "")
    assert not out.exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--eval-set", "no/such/eval.jsonl"], "--eval-set: no/such/eval.jsonl: no such file"),
        (["--against", "no/such/pool.jsonl"], "--against: no/such/pool.jsonl: no such file"),
        (["--config", "no/such.yaml"], "--config: no/such.yaml: no such file"),
        (["--only", "quality,spelling"], "--only: unknown stage 'spelling'"),
        (["--threshold", "2"], None),
        (
            ["--set", "near_dedup.num_perm=many"],
            "--set: near_dedup.num_perm: expected an integer, got 'many'",
        ),
        (["--set", "nonsense"], "--set: 'nonsense': expected KEY=VALUE"),
        (["--workers", "0"], "workers: expected at least 1"),
    ],
)
def test_bad_option_is_one_clear_line(tmp_path: Path, args: list[str], message: str | None) -> None:
    out = tmp_path / "out"
    result = _invoke(DEFECTS, "--out", str(out), *args)
    line = _one_clear_line(result)
    if message:
        assert message in line
    else:
        assert "threshold" in line
    assert not (out / "kept.jsonl").exists()


def test_missing_input_names_the_option(tmp_path: Path) -> None:
    line = _one_clear_line(_invoke("no/such/data.jsonl", "--out", str(tmp_path / "o")))
    assert "INPUT: no/such/data.jsonl: no such file" in line


def test_flags_and_set_override_the_config_file(tmp_path: Path) -> None:
    base = tmp_path / "base.yaml"
    base.write_text("near_dedup:\n  threshold: 0.6\nworkers: 2\n")
    cfg = resolve_config(
        [DEFECTS],
        base,
        {"threshold": 0.9},
        keep="longest",
        skip=["toxicity"],
        sets=["quality.min_instruction_words=5"],
    )
    assert cfg.near_dedup.threshold == 0.9
    assert cfg.workers == 2
    assert cfg.quality.min_instruction_words == 5
    assert all(getattr(cfg, k.split(".")[0]).keep == "longest" for k in KEEP_KEYS)
    assert cfg.toxicity.enabled is False and cfg.quality.enabled is True


def test_lang_is_inferred_from_a_bactrian_file_name() -> None:
    cfg = resolve_config(["data/samples/bactrian-x/es.json"], None, {})
    assert cfg.lang == "es"
    assert resolve_config(["data/samples/bactrian-x/es.json"], None, {"lang": "pt"}).lang == "pt"


def test_set_value_checks_types_like_yaml() -> None:
    cfg = FilterConfig()
    set_value(cfg, "near_dedup.threshold", 1, "--set")
    assert cfg.near_dedup.threshold == 1.0 and isinstance(cfg.near_dedup.threshold, float)
    with pytest.raises(ConfigError, match="near_dedup.threshold: expected a float, got 'x'"):
        set_value(cfg, "near_dedup.threshold", "x", "--set")
    with pytest.raises(ConfigError, match="near_dedup.bogus: unknown key"):
        set_value(cfg, "near_dedup.bogus", 1, "--set")


def test_cli_run_writes_everything_and_a_summary_line(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = _invoke(DEFECTS, "--out", str(out), "--lang", "en", "--skip", "toxicity", "--quiet")
    assert result.exit_code == 0, result.output
    last = result.stderr.strip().splitlines()[-1]
    assert (
        last.startswith("42 records → ")
        and "rejected (" in last
        and last.endswith(f"{out}/report.md")
    )
    for name in ("kept.jsonl", "rejected.jsonl", "stats.json", "report.md", "config.yaml"):
        assert (out / name).is_file(), name
    stats = json.loads((out / "stats.json").read_text())
    assert "toxicity" not in stats["stages"] and stats["toxicity_model"] == "skipped"
    assert yaml.safe_load((out / "config.yaml").read_text())["toxicity"]["enabled"] is False


def test_strict_stops_at_the_first_malformed_record(tmp_path: Path) -> None:
    src = tmp_path / "broken.jsonl"
    src.write_text(
        '{"instruction": "Name three primary colors.", "output": "Red, yellow and blue."}\n{"instruction": \n'
    )
    out = tmp_path / "out"
    line = _one_clear_line(_invoke(str(src), "--out", str(out), "--strict", "--only", "quality"))
    assert f"{src}:2" in line and "invalid JSON" in line
    assert not (out / "kept.jsonl").exists()


def test_bactrian_language_comes_from_the_file_name(tmp_path: Path) -> None:
    out = tmp_path / "es"
    args = ["data/samples/bactrian-x/es.json", "--out", str(out), "--skip", "toxicity", "-q"]
    assert _invoke(*args).exit_code == 0
    written = yaml.safe_load((out / "config.yaml").read_text())
    assert written["lang"] == written["language"]["lang"] == written["near_dedup"]["lang"] == "es"
    stats = json.loads((out / "stats.json").read_text())
    assert stats["kept"] == 10 and stats["languages"] == {"es": 10}
