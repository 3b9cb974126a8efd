"""Audit profiles: every shipped profile loads; the default is chosen from the input (`curate
generate` output → generated, else human) and said in the summary line, stats.json and report.md;
--profile, --config and --set override it; `curate generate` filters with `generated`."""

from __future__ import annotations

import json
from importlib.resources import files
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from curate.cli import app
from curate.config import ConfigError
from curate.filters.command import config_from_args
from curate.filters.config import FilterConfig, check_config, load_config
from curate.filters.profiles import PROFILES, apply_profile

ROWS = [
    {
        "instruction": "- Name three rivers in Europe.",
        "input": "N/A",
        "output": "Rhine, Danube, Seine.",
    },
    {
        "instruction": "Draw a picture of a cat.",
        "input": "",
        "output": "I will describe one instead.",
    },
    {"instruction": "3 boys share 12 apples. How many each?", "input": "", "output": "4 each."},
]


def _write(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.mark.parametrize("name", PROFILES)
def test_every_shipped_profile_loads_and_documents_its_keys(name: str) -> None:
    text = files("curate.configs").joinpath(f"profiles/{name}.yaml").read_text(encoding="utf-8")
    assert text.startswith(f'# Audit profile "{name}"')
    cfg = FilterConfig()
    apply_profile(cfg, name)
    check_config(cfg, name)
    for line in text.splitlines():  # every setting says what it does
        if ":" in line and not line.lstrip().startswith("#") and not line.rstrip().endswith(":"):
            assert "#" in line or line.strip().startswith("mode:"), line
    assert yaml.safe_load(text)


def test_profiles_differ_where_they_should() -> None:
    human, generated, strict = FilterConfig(), FilterConfig(), FilterConfig()
    apply_profile(human, "human")
    apply_profile(generated, "generated")
    apply_profile(strict, "strict")
    assert generated == FilterConfig()  # the defaults are Self-Instruct's: generated data
    assert not human.quality.blacklist and human.cleaned.media_request
    assert human.quality.allow_digit_start and human.quality.allow_list_start
    assert set(human.cleaned.fix) == {"html-entity", "escape-sequence", "placeholder-input"}
    assert strict.pii.enabled and strict.quality.blacklist and not strict.cleaned.fix


def test_default_is_human_unless_the_input_is_generate_output(tmp_path: Path) -> None:
    plain = _write(tmp_path / "plain.jsonl", ROWS)
    cfg = config_from_args([str(plain), "--out", str(tmp_path / "o")])
    assert cfg.profile == "human" and "not `curate generate`" in cfg.profile_from
    assert not cfg.quality.blacklist

    generated_rows = [{**r, "meta": {"generation": {"round": 1, "backend": "fake"}}} for r in ROWS]
    gen = _write(tmp_path / "records.jsonl", generated_rows)
    cfg = config_from_args([str(gen), "--out", str(tmp_path / "o")])
    assert cfg.profile == "generated" and "`curate generate` output" in cfg.profile_from
    assert cfg.quality.blacklist and not cfg.cleaned.fix

    run_dir = tmp_path / "gen"  # a copy without meta, in a directory `curate generate` owns
    run_dir.mkdir()
    (run_dir / ".instructforge.json").write_text(json.dumps({"command": "generate"}))
    cfg = config_from_args([str(_write(run_dir / "records.jsonl", ROWS)), "--out", "o"])
    assert cfg.profile == "generated"


def test_profile_option_config_and_set_override(tmp_path: Path) -> None:
    plain = _write(tmp_path / "plain.jsonl", ROWS)
    args = [str(plain), "--out", str(tmp_path / "o")]
    cfg = config_from_args([*args, "--profile", "strict"])
    assert cfg.profile == "strict" and cfg.profile_from == "set by --profile"
    assert cfg.pii.enabled
    # a key set by the user wins over the profile's, whichever way it was set
    cfg = config_from_args([*args, "--profile", "human", "--set", "quality.blacklist=true"])
    assert cfg.quality.blacklist and cfg.quality.allow_digit_start
    own = tmp_path / "own.yaml"
    own.write_text("profile: generated\ncleaned:\n  fix: [placeholder-input]\n")
    cfg = config_from_args([*args, "--config", str(own)])
    assert cfg.profile == "generated" and cfg.profile_from == f"set by {own}:1"
    assert cfg.cleaned.fix == ["placeholder-input"] and cfg.quality.blacklist
    with pytest.raises(ConfigError, match="profile"):
        config_from_args([*args, "--profile", "lenient"])


def test_summary_line_stats_and_report_say_the_profile(tmp_path: Path) -> None:
    plain = _write(tmp_path / "plain.jsonl", ROWS)
    out = tmp_path / "out"
    args = [
        "filter",
        str(plain),
        "--out",
        str(out),
        "--lang",
        "en",
        "-q",
        "--only",
        "quality,cleaned",
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    line = result.stderr.strip().splitlines()[-1]
    assert "(profile human: input not `curate generate` output)" in line
    stats = json.loads((out / "stats.json").read_text())
    assert stats["profile"] == "human"
    assert "audit profile: human" in (out / "report.md").read_text()
    # a detected profile stays null in config.yaml (a rerun detects it again), with a comment
    config = (out / "config.yaml").read_text()
    assert yaml.safe_load(config)["profile"] is None
    assert "profile: null  # detected: human (input not `curate generate` output)" in config
    kept = [json.loads(x) for x in (out / "kept.jsonl").read_text().splitlines()]
    rejected = [json.loads(x) for x in (out / "rejected.jsonl").read_text().splitlines()]
    # human: the list dash and the digit start are kept, "N/A" repaired, the drawing rejected
    assert [r["reject"]["reason"] for r in rejected] == ["media-request"]
    assert kept[0]["input"] == "" and kept[0]["meta"]["repaired"][0]["kind"] == "placeholder-input"
    assert stats["stages"]["cleaned"]["tally"] == {"repaired:placeholder-input": 1}

    again = CliRunner().invoke(
        app, [*args[:3], str(tmp_path / "o2"), *args[4:], "--profile", "generated"]
    )
    assert again.exit_code == 0, again.output
    assert "(profile generated: set by --profile)" in again.stderr
    reasons = [json.loads(x)["reject"]["reason"] for x in (tmp_path / "o2/rejected.jsonl").open()]
    assert sorted(reasons) == ["bad-start", "bad-start", "blacklist:draw"]


def test_generate_filters_with_the_generated_profile(tmp_path: Path) -> None:
    cfg = load_config(None, profile="generated")
    assert cfg.profile == "generated" and cfg.quality.blacklist
    own = tmp_path / "f.yaml"
    own.write_text("quality:\n  blacklist: false\n")
    assert not load_config(own, profile="generated").quality.blacklist  # the file's key wins


def test_repairs_come_back_from_worker_processes(tmp_path: Path) -> None:
    from curate.filters.command import resolve_config
    from curate.filters.pipeline import run_filter

    rows = [{**r, "output": r["output"] + " It&#x27;s so."} for r in ROWS] * 3
    data = _write(tmp_path / "in.jsonl", rows)
    outs = []
    for workers in (1, 2):
        cfg = resolve_config([str(data)], flags={"workers": workers}, only=["quality", "cleaned"])
        cfg.chunk_size = 2
        out = tmp_path / f"w{workers}"
        run_filter([str(data)], out, cfg)
        outs.append((out / "kept.jsonl").read_text())
    assert outs[0] == outs[1] and "It's so." in outs[0] and '"repaired"' in outs[0]
