"""PII detectors over real data: what lights up, with context to judge it, and what it costs.

    python bench/pii.py [--samples 10] [--context 40] [--code DIR] [--json FILE]

Every file of ../shared/data (gpteacher toolformer and roleplay, gsm8k, self-instruct), read with
``curate.io.read_records``. Prints, per file, the records and the hits per kind (every field the
stage looks at), then for each kind up to ``--samples`` matches with ``--context`` characters
either side, so a person can mark each true or false. ``--code DIR`` adds every ``*.py`` under
DIR, one text per file, as a stress set of code (hashes, versions, identifiers, test fixtures).
Speed: the pii stage (reject and redact mode) against the quality stage over the same records
in the same process (records/s, ratio). Recall: random tokens (base62, base64, URL-safe; 32–100
characters) that high_entropy should find, since the shared data holds no secret at all.
"""

from __future__ import annotations

import argparse
import copy
import json
import random
import string
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from curate.filters.pii import PiiConfig, PiiStage, record_texts  # noqa: E402
from curate.filters.pii_detect import KINDS, detect  # noqa: E402
from curate.filters.quality import QualityConfig, QualityStage  # noqa: E402
from curate.io import read_records  # noqa: E402
from curate.records import Record  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"
FILES = (
    "gpteacher/toolformer.json",
    "gpteacher/roleplay.json",
    "gsm8k/gsm_8k_train.json",
    "self-instruct/seed_tasks.jsonl",
    "self-instruct/user_oriented_instructions.jsonl",
)


def load(name: str) -> list[Record]:
    return [r for r in read_records(str(SHARED / name)) if isinstance(r, Record)]


def scan(name: str, recs: list[Record], samples: dict, n: int, context: int) -> dict:
    """Hits per kind and records with any hit; up to n samples per kind with context."""
    cfg, hits, flagged = PiiConfig(), Counter(), 0
    for rec in recs:
        found = False
        for field, text in record_texts(rec):
            for h in detect(text, cfg) if text else []:
                found = True
                hits[h.kind] += 1
                if len(samples[h.kind]) < n:
                    left = text[max(0, h.start - context) : h.start]
                    right = text[h.end : h.end + context]
                    snippet = f"{left}[[{text[h.start : h.end]}]]{right}"
                    samples[h.kind].append(f"{name} {rec.id} {field}: {' '.join(snippet.split())}")
        flagged += found
    return {"records": len(recs), "flagged": flagged, "hits": dict(hits)}


def code_texts(root: Path) -> list[Record]:
    """Every *.py under root as one record (its text as the input), named by its path."""
    out = []
    for path in sorted(root.rglob("*.py")):
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        out.append(Record(str(path.relative_to(root)), "", text))
    return out


def entropy_recall(per_cell: int = 500) -> dict[str, float]:
    """Share of random tokens found, per alphabet and length (the token alone in a sentence)."""
    rng, cfg, out = random.Random(3), PiiConfig(), {}
    base = string.ascii_letters + string.digits
    for name, alphabet in (("base62", base), ("base64", base + "+/"), ("url-safe", base + "-_")):
        for n in (32, 40, 64, 100):
            tokens = ["".join(rng.choice(alphabet) for _ in range(n)) for _ in range(per_cell)]
            tokens = [t for t in tokens if t[0] not in "+/-_" and t[-1] not in "+/-_"]
            found = sum(bool(detect(f"key: {t} end", cfg)) for t in tokens)
            out[f"{name} {n}"] = found / len(tokens)
    return out


def rate(stage_cls: type, cfg: object, recs: list[Record], repeat: int = 3) -> float:
    """Best of ``repeat`` runs, records/s (redact mode works on copies: it rewrites records)."""
    best = 0.0
    for _ in range(repeat):
        batch = copy.deepcopy(recs)
        stage = stage_cls(cfg)
        start = time.perf_counter()
        for _pair in stage(batch):
            pass
        best = max(best, len(batch) / (time.perf_counter() - start))
    return best


def print_hits(table: dict[str, dict], samples: dict[str, list[str]], title: str) -> None:
    """The per-file table, a total row, then each kind's samples to judge."""
    print(f"{title:<48} {'records':>8} {'flagged':>8}  hits per kind")
    total: Counter[str] = Counter()
    for name, row in table.items():
        total.update(row["hits"])
        kinds = ", ".join(f"{k} {v}" for k, v in sorted(row["hits"].items())) or "-"
        print(f"{name:<48} {row['records']:>8,} {row['flagged']:>8,}  {kinds}")
    if len(table) > 1:
        records, flagged = (sum(r[k] for r in table.values()) for k in ("records", "flagged"))
        kinds = ", ".join(f"{k} {v}" for k, v in sorted(total.items())) or "-"
        print(f"{'all':<48} {records:>8,} {flagged:>8,}  {kinds}")
    for kind in KINDS:
        if samples[kind]:
            print(f"\n## {kind}: {total[kind]} hits, {len(samples[kind])} shown")
            for line in samples[kind]:
                print(f"  - {line}")
    print()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--samples", type=int, default=10)
    ap.add_argument("--context", type=int, default=40)
    ap.add_argument("--code", type=Path, help="also every *.py under this directory")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    samples: dict[str, list[str]] = defaultdict(list)
    table, everything = {}, []
    for name in FILES:
        recs = load(name)
        everything += recs
        table[name] = scan(name, recs, samples, args.samples, args.context)
    print_hits(table, samples, "file")
    figures: dict = {"files": table}
    if args.code:
        code_samples: dict[str, list[str]] = defaultdict(list)
        code = scan("code", code_texts(args.code), code_samples, args.samples, args.context)
        print_hits({str(args.code): code}, code_samples, "code (one record per *.py)")
        figures["code"] = code
    quality = rate(QualityStage, QualityConfig(), everything)
    speeds = {
        "quality": quality,
        "pii (reject)": rate(PiiStage, PiiConfig(enabled=True), everything),
        "pii (redact)": rate(PiiStage, PiiConfig(enabled=True, mode="redact"), everything),
    }
    print(f"{'stage':<14} {'records/s':>10} {'vs quality':>10}   ({len(everything):,} records)")
    for stage, r in speeds.items():
        print(f"{stage:<14} {r:>10,.0f} {r / quality:>10.2f}")
    recall = entropy_recall()
    found = ", ".join(f"{k} {v:.1%}" for k, v in recall.items())
    print(f"\nhigh_entropy recall on random tokens: {found}")
    if args.json:
        figures |= {"records_per_s": speeds, "high_entropy_recall": recall}
        args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
