"""Toxicity throughput: the ToxicityStage with a tiny detoxify checkpoint and the profanity check.

    python bench/toxicity.py [--n 2000] [--json FILE]

Texts are real records of ../shared/data (gpteacher, gsm8k), all text of each record up to
2,000 characters, as the stage scores them. Baseline: detoxify's ``predict`` called one text at
a time (what a simple loop does), measured in the same process. The tiny model is random-init,
so its scores say nothing; the quality figure is the profanity check's on the planted defects
(toxic-1 caught, clean records and seed tasks flagged).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from curate.filters.stage import StageContext  # noqa: E402
from curate.filters.toxicity import ToxicityConfig, ToxicityStage  # noqa: E402
from curate.io import read_records  # noqa: E402
from curate.records import Record  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"
FILES = ("gpteacher/toolformer.json", "gpteacher/roleplay.json", "gsm8k/gsm_8k_train.json")


def load(n: int) -> list[Record]:
    recs: list[Record] = []
    for name in FILES:
        recs += [r for r in read_records(str(SHARED / name)) if isinstance(r, Record)][
            : n // len(FILES)
        ]
    return recs


def run_stage(cfg: ToxicityConfig, recs: list[Record]) -> float:
    stage = ToxicityStage(cfg, StageContext(log=lambda m: None))
    start = time.perf_counter()
    for _ in stage(recs):
        pass
    return len(recs) / (time.perf_counter() - start)


def baseline(ckpt: Path, config_dir: Path, recs: list[Record]) -> float:
    import torch
    from detoxify import Detoxify

    torch.set_num_threads(1)
    model = Detoxify("original", checkpoint=str(ckpt), huggingface_config_path=str(config_dir))
    start = time.perf_counter()
    for rec in recs:
        model.predict(rec.text()[:2000])
    return len(recs) / (time.perf_counter() - start)


def profanity_quality() -> str:
    stage = ToxicityStage(ToxicityConfig(), StageContext(log=lambda m: None))
    flagged = {
        r.id for r, v in stage(read_records(str(ROOT / "data/samples/defects.jsonl"))) if not v.keep
    }
    seeds = sum(not v.keep for _, v in stage(read_records(str(ROOT / "data/seed_tasks.jsonl"))))
    clean = len([f for f in flagged if f.startswith("clean-")])
    return f"toxic-1 caught: {'toxic-1' in flagged}; clean flagged: {clean}/24; seed tasks flagged: {seeds}/140"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    import torch
    from tiny_detoxify import build_tiny_detoxify_checkpoint

    recs = load(args.n)
    tmp = Path(tempfile.mkdtemp(prefix="tiny-detoxify-"))
    ckpt, config_dir = build_tiny_detoxify_checkpoint(tmp)
    base = baseline(ckpt, config_dir, recs[:300])
    rows = [("detoxify predict(), one text at a time", 1, 1, base)]
    for threads in (1, 2):
        for batch in (16, 64, 256):
            cfg = ToxicityConfig(
                checkpoint=str(ckpt),
                huggingface_config_path=str(config_dir),
                batch_size=batch,
                torch_threads=threads,
            )
            rows.append(("ToxicityStage tiny detoxify", batch, threads, run_stage(cfg, recs)))
    torch.set_num_threads(1)
    rows.append(
        (
            "ToxicityStage alt-profanity-check (offline)",
            64,
            1,
            run_stage(ToxicityConfig(batch_size=64), recs),
        )
    )
    rows.append(
        (
            "ToxicityStage alt-profanity-check (offline)",
            1024,
            1,
            run_stage(ToxicityConfig(batch_size=1024), recs),
        )
    )
    print(
        f"{len(recs)} records of ../shared/data, text up to 2,000 chars; tiny BERT (hidden 32, 1 layer, 128 tokens)"
    )
    print(
        f"| {'scorer':<44} | {'batch':>5} | {'threads':>7} | {'texts/s':>9} | {'vs baseline':>11} |"
    )
    print(f"|{'-' * 46}|{'-' * 7}|{'-' * 9}|{'-' * 11}|{'-' * 13}|")
    for name, batch, threads, rate in rows:
        print(f"| {name:<44} | {batch:>5} | {threads:>7} | {rate:>9,.0f} | {rate / base:>10.1f}x |")
    quality = profanity_quality()
    print(f"profanity check quality on data/samples: {quality}")
    if args.json:
        out = [
            {"scorer": n, "batch_size": b, "threads": t, "texts_per_s": r} for n, b, t, r in rows
        ]
        args.json.write_text(
            json.dumps({"rows": out, "baseline_texts_per_s": base, "quality": quality}, indent=2)
        )


if __name__ == "__main__":
    main()
