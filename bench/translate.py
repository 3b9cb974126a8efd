"""Benchmark `curate translate`: the mt backend (a seq2seq translation model) vs an LLM backend
(transformers, a causal LM prompted with prompts/translate/translate.txt) on the same records,
both through the whole run (masking, checks, language stage, logs), measured in one process.

    python bench/translate.py [--records 1000] [--max-tokens 32] [--mt-model DIR --llm-model DIR]

Without models, two tiny random-init models of similar size are built (tests/tiny_marian.py,
tests/tiny_models.py): a Marian model and a llama. Random weights never stop early, so every
field runs to --max-tokens on both sides (equal work per token) and most records end as
translate:truncated or lost-span rejects: the figures are speed, not quality. With real models
(a GPU, opus-mt-en-es / nllb-200-distilled-600M vs a 1B instruct LLM) kept counts mean something.
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
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
SHARED = ROOT.parent / "shared" / "data"


def sources(n: int, path: Path) -> Path:
    """The first ``n`` GPTeacher toolformer records (English, with inputs), as Record JSONL."""
    from curate.io import read_records
    from curate.records import Record

    rows = []
    for rec in read_records(str(SHARED / "gpteacher" / "toolformer.json")):
        if isinstance(rec, Record):
            rows.append(rec.to_json())
        if len(rows) == n:
            break
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def params(model_dir: str, seq2seq: bool) -> int:
    from transformers import AutoModelForCausalLM, AutoModelForSeq2SeqLM

    cls = AutoModelForSeq2SeqLM if seq2seq else AutoModelForCausalLM
    return sum(p.numel() for p in cls.from_pretrained(model_dir).parameters())


def run(backend: str, model: str, src: Path, out: Path, max_tokens: int, batch: int) -> dict:
    from curate.translate.command import open_backend
    from curate.translate.config import TranslateConfig
    from curate.translate.run import run_translate

    cfg = TranslateConfig(model=model, backend=backend, langs=["es"], batch_size=64)
    cfg.sampling.max_tokens = max_tokens
    cfg.mt.batch_size = batch
    cfg.transformers.batch_size = batch
    t0 = time.perf_counter()
    result = run_translate(cfg, [str(src)], out, open_backend)
    wall = time.perf_counter() - t0
    f = result.figures["es"]
    n = f["kept"] + f["rejected"]
    return {
        "backend": backend,
        "records": n,
        "kept": f["kept"],
        "seconds": round(wall, 2),
        "records_per_s": round(n / wall, 2),
        "completion_tokens": f["completion_tokens"],
        "tokens_per_s": round(f["completion_tokens"] / f["seconds"], 1) if f["seconds"] else None,
        "top_rejects": dict(list(f["rejected_by_reason"].items())[:3]),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--records", type=int, default=1000)
    ap.add_argument("--max-tokens", type=int, default=32)
    ap.add_argument("--batch", type=int, default=16, help="texts per model call, both backends")
    ap.add_argument("--mt-model", help="a Marian/NLLB/M2M100 dir; default: a tiny random one")
    ap.add_argument("--llm-model", help="a causal LM dir; default: a tiny random llama")
    ap.add_argument("--json", help="also write the rows here")
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="bench-translate-"))
    if args.mt_model is None:
        from tiny_marian import build_tiny_marian

        args.mt_model = str(build_tiny_marian(tmp / "marian", d_model=64, layers=2))
    if args.llm_model is None:
        from tiny_models import build_tiny_model

        args.llm_model = str(build_tiny_model(tmp / "llama", "llama", hidden=64))
    src = sources(args.records, tmp / "src.jsonl")
    sizes = {"mt": params(args.mt_model, True), "transformers": params(args.llm_model, False)}
    rows = [
        run("mt", args.mt_model, src, tmp / "out-mt", args.max_tokens, args.batch),
        run("transformers", args.llm_model, src, tmp / "out-llm", args.max_tokens, args.batch),
    ]
    print(f"\n{args.records} records of gpteacher/toolformer → es, --max-tokens {args.max_tokens},"
          f" {args.batch} texts per call, {os.cpu_count()} CPUs\n")  # fmt: skip
    head = ("backend", "params", "records", "kept", "seconds", "records/s", "tokens", "tokens/s")
    print("| " + " | ".join(head) + " |\n|" + "---|" * len(head))
    for r in rows:
        cells = (r["backend"], f"{sizes[r['backend']]:,}", r["records"], r["kept"], r["seconds"],
                 r["records_per_s"], r["completion_tokens"], r["tokens_per_s"])  # fmt: skip
        print("| " + " | ".join(str(c) for c in cells) + " |")
    mt, llm = rows
    print(f"\nmt / LLM: {mt['records_per_s'] / llm['records_per_s']:.2f}x records/s,"
          f" {(mt['tokens_per_s'] or 0) / (llm['tokens_per_s'] or 1):.2f}x tokens/s")  # fmt: skip
    for r in rows:
        print(f"{r['backend']} rejects (top 3): {r['top_rejects']}")
    if args.json:
        Path(args.json).write_text(json.dumps({"rows": rows, "params": sizes}, indent=2) + "\n")


if __name__ == "__main__":
    main()
