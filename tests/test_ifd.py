"""The ifd stage on a tiny random-init llama: the ratio equals a direct loss computation, padding in a
batch changes nothing, top_fraction keeps the highest, and report.md draws the histogram."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from curate.filters.config import FilterConfig, apply_selection, check_config
from curate.filters.ifd import IfdConfig, IfdStage
from curate.filters.pipeline import run_filter
from curate.records import Record
from curate.render import render

RECORDS = [
    Record("a", "Give three tips for staying healthy.", "", "Eat well, sleep enough and move."),
    Record("b", "What is 12 plus 30?", "", "12 + 30 = 42. The answer is 42."),
    Record("c", "Translate to Spanish.", "good morning", "Buenos días."),
    Record("d", "Write a short poem about the sea.", "", "The sea is wide and blue, it sings."),
    Record("e", "Classify the review.", "The food was great.", "Positive."),
]


def fresh() -> list[Record]:
    return [Record(r.id, r.instruction, r.input, r.output) for r in RECORDS]


def direct_ifd(model_dir: Path, rec: Record) -> float:
    """loss(output | prompt) / loss(output) by hand: HF's own mean loss over the output tokens."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32).eval()
    prompt, output = render(rec, "alpaca")
    p = [tok.bos_token_id, *tok(prompt, add_special_tokens=False)["input_ids"]]
    o = tok(output, add_special_tokens=False)["input_ids"]

    def loss(head: list[int]) -> float:
        ids = torch.tensor([head + o])
        labels = torch.tensor([[-100] * len(head) + o])
        with torch.no_grad():
            return model(input_ids=ids, labels=labels).loss.item()

    return loss(p) / loss([tok.bos_token_id])


def test_ifd_equals_direct_loss_computation(tiny_llama: Path) -> None:
    stage = IfdStage(IfdConfig(enabled=True, model=str(tiny_llama), batch_size=5))
    recs = fresh()
    infos = stage.score(recs)  # one padded batch of five records of different lengths
    for rec, info in zip(recs, infos, strict=True):
        assert info is not None and rec.meta["ifd"] is info
        assert info["ratio"] == pytest.approx(direct_ifd(tiny_llama, rec), rel=1e-4)
        assert info["ratio"] == pytest.approx(
            info["conditioned_loss"] / info["output_loss"], rel=1e-4
        )
        assert info["above_one"] == (info["ratio"] > 1) and info["model"] == str(tiny_llama)
    scorer = stage.scorer
    assert scorer is not None and str(scorer.dtype) == "torch.float32"  # CPU: fp32
    # over max_length: the prompt's head is cut, BOS and the whole output stay
    cond, plain, n = scorer._ids("one two three four five six seven eight", "Positive.", 6)
    assert len(cond) == 6 and cond[0] == scorer.start and cond[-n:] == plain[1:]


def test_top_fraction_keeps_the_highest_and_threshold_flags(tiny_llama: Path) -> None:
    cfg = IfdConfig(enabled=True, model=str(tiny_llama), mode="top_fraction", top_fraction=0.4)
    cfg.drop_above_one = False
    pairs = list(IfdStage(cfg)(fresh()))
    ratios = {r.id: r.meta["ifd"]["ratio"] for r, _ in pairs}
    kept = {r.id for r, v in pairs if v.keep}
    assert len(kept) == 2 and kept == set(sorted(ratios, key=ratios.get)[-2:])
    dropped = [v for _, v in pairs if not v.keep]
    assert {v.reason for v in dropped} == {"ifd:below_top_fraction"}
    # threshold mode at the median: the upper half kept, the above-one records (if any) flagged
    median = sorted(ratios.values())[2]
    stage = IfdStage(IfdConfig(enabled=True, model=str(tiny_llama), min_ifd=median))
    for rec, v in stage(fresh()):
        r = rec.meta["ifd"]["ratio"]
        if r > 1:
            assert v.reason == "ifd:above_one"
        else:
            assert v.keep == (r >= median)


def test_filter_run_reports_ifd_histogram(tmp_path: Path, tiny_llama: Path) -> None:
    data = tmp_path / "in.jsonl"
    data.write_text("".join(json.dumps(r.to_dict()) + "\n" for r in RECORDS))
    cfg = FilterConfig()
    apply_selection(cfg, ["ifd"], None)
    cfg.ifd.model, cfg.ifd.drop_above_one = str(tiny_llama), False
    check_config(cfg, "test")
    result = run_filter([str(data)], tmp_path / "out", cfg)
    hist = result.stats["stages"]["ifd"]["summary"]["score_histogram"]
    assert sum(hist["kept"]) == 5 and hist["threshold"] == 0.0
    assert "## Scores: ifd" in (tmp_path / "out" / "report.md").read_text()
    assert (tmp_path / "out" / "scores-ifd.png").is_file()
