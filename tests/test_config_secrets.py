"""Credentials never leave a run in what it prints or saves: --show-config, every config.yaml and
a loop's round identity mask a URL's user:password@ and an api_key/token value; the run itself
still uses them."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import yaml
from typer.testing import CliRunner

from curate.cli import app
from curate.config import ConfigSpec, dump, option
from curate.config.listing import config_listing
from curate.config.secrets import masked, redact_url
from curate.experiment.config import ExperimentConfig
from curate.filters.config import FilterConfig
from curate.generate.config import GenerateConfig
from curate.loop.config import LoopConfig, loop_id, round_identity

URL = "https://alice:s3cr3t-pw@llm.example.com:8443/v1"
SHOWN = "https://***@llm.example.com:8443/v1"
SAMPLES = Path(__file__).resolve().parents[1] / "data" / "samples"


def test_masked_hides_userinfo_and_secret_keys_and_leaves_the_rest() -> None:
    data = {
        "base_url": URL,
        "plain_url": "http://127.0.0.1:8000/v1",
        "api_key": "sk-live-123",
        "extra": {"hf_token": "hf_abc", "max_tokens": 64, "email_like": "a@b.c"},
        "servers": [URL, "x"],
        "empty_key": {"api_key": ""},
    }
    out = masked(data)
    assert out == {
        "base_url": SHOWN,
        "plain_url": "http://127.0.0.1:8000/v1",
        "api_key": "***",
        "extra": {"hf_token": "***", "max_tokens": 64, "email_like": "a@b.c"},
        "servers": [SHOWN, "x"],
        "empty_key": {"api_key": ""},
    }
    assert data["base_url"] == URL and data["extra"]["hf_token"] == "hf_abc"  # a copy
    assert redact_url("http://u@h/") == "http://***@h/"  # user only, no password


def test_every_saved_config_masks_credentials_and_the_run_keeps_them() -> None:
    gen = GenerateConfig(base_url=URL)
    flt = FilterConfig()
    flt.judge.base_url = URL
    exp = ExperimentConfig(judge_base_url=URL, variants={"v": {"set": {"judge.base_url": URL}}})
    for cfg in (gen, flt, exp):
        text = dump(cfg)
        assert "s3cr3t" not in text and "alice" not in text, text
        assert SHOWN in text
    assert yaml.safe_load(dump(gen))["base_url"] == SHOWN
    assert yaml.safe_load(dump(exp))["variants"]["v"]["set"]["judge.base_url"] == SHOWN
    # what the run uses is untouched
    assert gen.base_url == URL and flt.judge.base_url == URL and exp.judge_base_url == URL


def test_loop_round_identity_masks_credentials() -> None:
    cfg = LoopConfig()
    cfg.generate.base_url = URL
    ident = round_identity(cfg)
    assert ident["generate"]["base_url"] == SHOWN
    assert "s3cr3t" not in str(ident)
    assert cfg.generate.base_url == URL
    plain = LoopConfig()
    assert round_identity(plain) == round_identity(dataclasses.replace(plain))
    assert loop_id(plain) == loop_id(LoopConfig())


@dataclasses.dataclass
class _Server:
    base_url: str = option(URL, "Server.")
    api_key: str = option("sk-live-123", "Key.")
    max_tokens: int = option(16, "Tokens.")


def test_show_config_masks_credentials_in_defaults() -> None:
    text = config_listing(ConfigSpec(_Server, example="max_tokens=3"))
    assert "s3cr3t" not in text and "sk-live" not in text
    assert f"base_url: {SHOWN}" in text and "api_key: '***'" in text and "max_tokens: 16" in text


def test_filter_run_writes_a_masked_config_yaml(tmp_path: Path) -> None:
    out = tmp_path / "out"
    args = ["filter", str(SAMPLES / "alpaca.jsonl"), "--out", str(out), "--lang", "en"]
    args += ["--only", "exact-dedup", "--quiet", "--set", f"judge.base_url={URL}"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    text = (out / "config.yaml").read_text(encoding="utf-8")
    assert "s3cr3t" not in text and yaml.safe_load(text)["judge"]["base_url"] == SHOWN
