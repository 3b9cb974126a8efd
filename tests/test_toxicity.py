"""Toxicity: detoxify itself loading a tiny checkpoint built here; the offline profanity fallback.

The whole suite runs with HF_HUB_OFFLINE=1 (conftest.py): detoxify never downloads.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from curate.filters.stage import StageContext
from curate.filters.toxicity import ToxicityConfig, ToxicityStage
from curate.io import InputError, read_records
from curate.records import Record


def _records(path: Path) -> list[Record]:
    return [r for r in read_records(str(path)) if isinstance(r, Record)]


def test_tiny_checkpoint_loads_through_detoxify(tiny_detoxify: tuple[Path, Path]) -> None:
    import torch
    from detoxify import Detoxify

    ckpt, config_dir = tiny_detoxify
    model = Detoxify("original", checkpoint=str(ckpt), huggingface_config_path=str(config_dir))
    saved = torch.load(ckpt, weights_only=False)["state_dict"]
    for key in ("classifier.weight", "bert.embeddings.word_embeddings.weight"):
        assert torch.equal(model.model.state_dict()[key], saved[key])
    one = model.predict("hello there")
    assert isinstance(one["toxicity"], float)
    assert len(model.predict(["a", "b", "c"])["insult"]) == 3


def test_stage_with_tiny_detoxify(tiny_detoxify: tuple[Path, Path], project_data: Path) -> None:
    ckpt, config_dir = tiny_detoxify
    recs = _records(project_data / "samples/defects.jsonl")
    cfg = ToxicityConfig(
        checkpoint=str(ckpt), huggingface_config_path=str(config_dir), batch_size=16
    )
    cfg.thresholds = {
        "toxicity": 0.0
    }  # the random model scores ~0.5: force rejections to test the plumbing
    cfg.default_threshold = 1.01
    stage = ToxicityStage(cfg, StageContext(log=pytest.fail))
    out = list(stage(iter(recs)))
    assert [r.id for r, _ in out] == [r.id for r in recs]
    assert all(v.reason == "toxic:toxicity" and 0 < v.evidence["toxicity"] < 1 for _, v in out)
    assert set(out[0][0].meta["toxicity"]) == {
        "toxicity",
        "severe_toxicity",
        "obscene",
        "threat",
        "insult",
        "identity_attack",
    }
    summary = stage.summary()
    assert summary["model"].startswith("detoxify:original (checkpoint ")
    assert (
        sum(summary["histogram"]["counts"]["toxicity"]) == len(recs) and summary["texts_per_s"] > 0
    )


def test_prefilter_in_front_of_detoxify(
    tiny_detoxify: tuple[Path, Path], project_data: Path
) -> None:
    ckpt, config_dir = tiny_detoxify
    cfg = ToxicityConfig(
        checkpoint=str(ckpt),
        huggingface_config_path=str(config_dir),
        prefilter=True,
        default_threshold=0.99,
    )
    cfg.thresholds = {}
    out = {r.id: v for r, v in ToxicityStage(cfg)(_records(project_data / "samples/defects.jsonl"))}
    assert [rid for rid, v in out.items() if not v.keep] == ["toxic-1"]
    assert out["toxic-1"].reason == "toxic:profanity"


def test_offline_fallback_says_so_once_and_catches_planted_toxic(project_data: Path) -> None:
    messages: list[str] = []
    stage = ToxicityStage(ToxicityConfig(), StageContext(log=messages.append))
    assert (
        len(messages) == 1
        and "--toxicity-checkpoint" in messages[0]
        and "HF_HUB_OFFLINE" in messages[0]
    )
    out = {r.id: v for r, v in stage(_records(project_data / "samples/defects.jsonl"))}
    assert [rid for rid, v in out.items() if not v.keep] == ["toxic-1"]
    assert (
        out["toxic-1"].evidence["label"] == "profanity"
        and out["toxic-1"].evidence["toxicity"] > 0.9
    )
    seeds = _records(project_data / "seed_tasks.jsonl")
    assert all(v.keep for _, v in stage(seeds))
    assert len(messages) == 1
    assert stage.summary()["model"].startswith("alt-profanity-check (detoxify unavailable: offline")


def test_bad_paths_and_foreign_checkpoint(tmp_path: Path, tiny_detoxify: tuple[Path, Path]) -> None:
    import torch

    with pytest.raises(InputError, match="--toxicity-checkpoint"):
        ToxicityStage(ToxicityConfig(checkpoint=str(tmp_path / "missing.ckpt")))
    ckpt, config_dir = tiny_detoxify
    loaded = torch.load(ckpt, weights_only=True)
    loaded["state_dict"] = {f"wrong.{k}": v for k, v in loaded["state_dict"].items()}
    bad = tmp_path / "renamed.ckpt"
    torch.save(loaded, bad)
    with pytest.raises(InputError, match="did not load"):
        ToxicityStage(ToxicityConfig(checkpoint=str(bad), huggingface_config_path=str(config_dir)))


class _Payload:
    """Unpickling this writes a marker file: what a malicious checkpoint would do."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (exec, (f"open({self.marker!r}, 'w').write('ran')",))


def test_pickle_checkpoint_is_refused_and_never_runs(
    tmp_path: Path, tiny_detoxify: tuple[Path, Path]
) -> None:
    import torch

    ckpt, config_dir = tiny_detoxify
    marker = tmp_path / "PWNED"
    loaded = torch.load(ckpt, weights_only=True)
    loaded["config"]["extra"] = _Payload(str(marker))
    evil = tmp_path / "evil.ckpt"
    torch.save(loaded, evil)
    (tmp_path / "junk.ckpt").write_bytes(b"not a checkpoint")
    for path, message in [(evil, "refused: it holds pickled"), (tmp_path / "junk.ckpt", "not a")]:
        with pytest.raises(InputError, match=message) as info:
            ToxicityStage(
                ToxicityConfig(checkpoint=str(path), huggingface_config_path=str(config_dir))
            )
        assert "\n" not in str(info.value)
    assert not marker.exists()
    # the legitimate checkpoint still loads (and scores) through the same path
    stage = ToxicityStage(
        ToxicityConfig(checkpoint=str(ckpt), huggingface_config_path=str(config_dir))
    )
    assert stage.detox is not None and len(stage.detox.score(["hello", "world"])) == 2
