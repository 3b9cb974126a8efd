"""`curate filter` options and config: the shipped default, clear one-line errors, overrides."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from curate.cli import app
from curate.config import leaves
from curate.filters.command import SPEC, config_from_args, resolve_config
from curate.filters.config import (  # the old import paths keep working
    ConfigError,
    FilterConfig,
    default_config_text,
    dump_config,
    load_config,
    parse_config,
    set_value,
)

runner = CliRunner()
SAMPLES = Path(__file__).resolve().parents[1] / "data" / "samples"
DEFECTS = str(SAMPLES / "defects.jsonl")
ALPACA, DOLLY = str(SAMPLES / "alpaca.jsonl"), str(SAMPLES / "dolly.jsonl")
ES = str(SAMPLES / "bactrian-x" / "es.json")


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
    defaults = dataclasses.asdict(FilterConfig())
    assert shipped == {k: defaults[k] for k in shipped}  # the run options; stages: their own
    assert load_config(None) == FilterConfig()
    assert parse_config(dump_config(FilterConfig()), "x") == FilterConfig()


FLAGS = {  # every dedicated flag `curate filter` has had, and the keys it sets
    "--lang": ("lang", "language.lang"),
    "--eval-set": ("decontam.eval_sets",),
    "--against": ("against",),
    "--to": ("to",),
    "--workers": ("workers",),
    "--strict": ("strict",),
    "--toxicity-checkpoint": ("toxicity.checkpoint",),
    "--toxicity-config": ("toxicity.huggingface_config_path",),
    "--toxicity-model": ("toxicity.model",),
    "--toxicity-threshold": (),  # every label: see below
    "--keep": ("exact_dedup.keep", "near_dedup.keep"),
    "--threshold": ("near_dedup.threshold",),
    "--ngram": ("near_dedup.ngram",),
    "--decontam-ngram": ("decontam.ngram",),
    "--min-words": ("quality.min_instruction_words",),
    "--max-words": ("quality.max_instruction_words",),
    "--profile": ("profile",),
    "--engine": ("engine",),
    "--memory-limit": ("near_dedup.memory_limit",),
    "--ray-address": ("ray_address",),
}


def test_every_flag_is_kept_and_sets_an_existing_config_key() -> None:
    flags = {flag.name: flag.keys for flag in SPEC.all_flags()}
    assert flags == FLAGS
    keys = {leaf.key for leaf in leaves(FilterConfig)}
    assert all(key in keys for ks in flags.values() for key in ks)
    help_text = runner.invoke(app, ["filter", "--help"], env={"COLUMNS": "200"}).output
    for name in [
        *FLAGS,
        "--toxicity-config-dir",
        "--config",
        "--set",
        "--only",
        "--skip",
        "--quiet",
    ]:
        assert name in help_text, name


def test_show_config_lists_every_key_with_its_default() -> None:
    result = runner.invoke(app, ["filter", "--show-config"])
    assert result.exit_code == 0, result.output
    listed = yaml.safe_load(result.output)  # valid YAML: a starting point for --config
    assert listed == dataclasses.asdict(FilterConfig())
    assert (
        "threshold: 0.7  # float; Jaccard similarity (0-1] of two records' shingle sets at or above"
        " which they are near-duplicates.; --threshold" in result.output
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "workers: 2\nnear_dedup:\n  threshold: high\n",
            "bad.yaml:3: near_dedup.threshold: expected a float, got 'high'",
        ),
        (
            "near_dedup:\n  treshold: 0.8\n",
            "bad.yaml:2: near_dedup.treshold: unknown key (did you mean 'near_dedup.threshold'?)",
        ),
        ("wokers: 2\n", "bad.yaml:1: wokers: unknown key (did you mean 'workers'?)"),
        ("workers: two\n", "bad.yaml:1: workers: expected an integer, got 'two'"),
        ("order: [quality, spelling]\n", "bad.yaml: order: unknown stage 'spelling'"),
        ("quality:\n  enabled: 3\n", "bad.yaml:2: quality.enabled: expected a boolean"),
        ("near_dedup: [1]\n", "bad.yaml:1: near_dedup: expected a section of keys"),
        (
            "toxicity:\n  thresholds:\n    insult: high\n",
            "bad.yaml:3: toxicity.thresholds.insult: expected a float, got 'high'",
        ),
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
        (
            ["--set", "near_dedup.num_perms=256"],
            "--set: near_dedup.num_perms: unknown key (did you mean 'near_dedup.num_perm'?)",
        ),
        (["--workers", "0"], "workers: expected at least 1"),
        (["--workers", "two"], "--workers: expected an integer, got 'two'"),
        (["--keep", "last"], "options: exact_dedup: keep must be first or longest"),
        (["--wokers", "2"], "--wokers: unknown option (did you mean --workers?)"),
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
    base.write_text(
        "near_dedup:\n  threshold: 0.6\n  num_perm: 64\nworkers: 2\nquality:\n  echo: false\n"
    )
    cfg = config_from_args(
        [DEFECTS, "--out", "o", "--config", str(base), "--threshold", "0.9", "--keep", "longest"]
        + ["--skip", "toxicity", "--set", "quality.min_instruction_words=5", "--set", "workers=3"]
        + ["--toxicity-threshold", "0.3", "--min-words", "4", "--eval-set", ALPACA]
        + ["--eval-set", DOLLY, "--decontam-ngram", "8", "--lang", "en"],
    )
    assert cfg.near_dedup.threshold == 0.9 and cfg.near_dedup.num_perm == 64  # merged key by key
    assert cfg.workers == 3  # --set comes after the file
    assert cfg.quality.min_instruction_words == 5  # … and after the flags
    assert cfg.quality.echo is False and cfg.quality.refusal is True
    assert cfg.exact_dedup.keep == cfg.near_dedup.keep == "longest"
    assert cfg.toxicity.enabled is False and cfg.quality.enabled is True
    assert cfg.toxicity.default_threshold == 0.3
    assert set(cfg.toxicity.thresholds.values()) == {0.3} and len(cfg.toxicity.thresholds) == 7
    assert cfg.decontam.eval_sets == [ALPACA, DOLLY] and cfg.decontam.ngram == 8
    assert cfg.lang == cfg.language.lang == "en"


def test_resolve_config_takes_the_options_as_arguments(tmp_path: Path) -> None:
    base = tmp_path / "base.yaml"
    base.write_text("near_dedup:\n  threshold: 0.6\nworkers: 2\n")
    cfg = resolve_config(
        [DEFECTS],
        base,
        {"threshold": 0.9, "toxicity_threshold": 0.4},
        keep="longest",
        skip=["toxicity"],
        sets=["quality.min_instruction_words=5"],
    )
    assert cfg.near_dedup.threshold == 0.9 and cfg.workers == 2
    assert cfg.quality.min_instruction_words == 5 and cfg.toxicity.thresholds["insult"] == 0.4
    assert cfg.exact_dedup.keep == cfg.near_dedup.keep == "longest"
    assert cfg.toxicity.enabled is False and cfg.quality.enabled is True


def test_lang_is_inferred_from_a_bactrian_file_name() -> None:
    cfg = config_from_args([ES, "--out", "o"])
    assert cfg.lang == "es"
    assert config_from_args([ES, "--out", "o", "--lang", "pt"]).lang == "pt"


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
    args = [ES, "--out", str(out), "--skip", "toxicity", "-q"]
    assert _invoke(*args).exit_code == 0
    written = yaml.safe_load((out / "config.yaml").read_text())
    assert written["lang"] == written["language"]["lang"] == written["near_dedup"]["lang"] == "es"
    stats = json.loads((out / "stats.json").read_text())
    assert stats["kept"] == 10 and stats["languages"] == {"es": 10}


def test_a_config_made_with_make_dataclass_works_like_a_declared_one(tmp_path: Path) -> None:
    """The shape a stage registry builds FilterConfig in: sections from make_dataclass."""
    from curate.config import ConfigSpec, dump, option
    from curate.config.cli import parse_args
    from curate.filters.near_dedup import NearDedupConfig
    from curate.filters.toxicity import ToxicityConfig

    cls = dataclasses.make_dataclass(
        "RegistryConfig",
        [
            ("workers", int, option(1, "Worker processes.", flag=True)),
            ("near_dedup", NearDedupConfig, dataclasses.field(default_factory=NearDedupConfig)),
            ("toxicity", ToxicityConfig, dataclasses.field(default_factory=ToxicityConfig)),
        ],
    )
    spec = ConfigSpec(cls)
    path = tmp_path / "r.yaml"
    path.write_text("near_dedup:\n  num_perm: 64\n  treshold: 0.5\n")
    with pytest.raises(ConfigError, match=r"r.yaml:3: near_dedup.treshold: unknown key \(did you"):
        spec.load(path)
    path.write_text("near_dedup:\n  num_perm: 64\n")
    args = ["--config", str(path), "--workers", "3", "--threshold", "0.8", "--keep", "longest"]
    cfg, origins = parse_args(spec, [*args, "--set", "toxicity.thresholds.insult=0.2"])
    assert (cfg.workers, cfg.near_dedup.num_perm, cfg.near_dedup.threshold) == (3, 64, 0.8)
    assert cfg.near_dedup.keep == "longest" and cfg.toxicity.thresholds["insult"] == 0.2
    assert origins.where("near_dedup.num_perm") == f"{path}:2: near_dedup.num_perm"
    assert yaml.safe_load(dump(cfg)) == dataclasses.asdict(cfg)
