"""`curate filter` at scale: 1,000,000 synthetic records through every stage but toxicity.

The records are deterministically mutated copies of ../shared/data (word swaps, drops and
insertions with a seeded RNG): some verbatim copies, some lightly edited (near-duplicates), most
heavily edited (new records). They are written to a temp JSONL and streamed through the real
pipeline (the same code path as the CLI), with the Self-Instruct human-eval set as --eval-set.

    python bench/filter_scale.py --records 1000000 --workers 2 [--data /tmp/syn1m.jsonl]

With ``--data`` the generated file is kept there and reused by the next run with the same path
and record count. The table shows CPU seconds of all processes and the load average, because
wall time on a shared machine says little by itself.

    python bench/filter_scale.py --records 3000000 --workers 1 --json runs.jsonl    # issue 14
    python bench/filter_scale.py --records 1000000 --only near-dedup --memory-limit none

``--only`` runs one stage (its memory and time alone); ``--memory-limit`` sets near-dedup's
spill threshold (none: all in RAM, 0: always spill).

Goals: issue 4, ≤ 5 minutes and ≤ 4 GB peak RSS on 2 cores at 1M; issue 14, peak RSS ≤ 2 GB at
1M and flat in N (≤ 2.5 GB at 3M).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "data"
sys.path.insert(0, str(ROOT))

from curate.filters.config import FilterConfig, apply_selection  # noqa: E402
from curate.filters.pipeline import run_filter  # noqa: E402
from curate.io import read_records  # noqa: E402
from curate.records import Record  # noqa: E402

SOURCES = [
    "gpteacher/toolformer.json",
    "gpteacher/roleplay.json",
    "gsm8k/gsm_8k_train.json",
    "self-instruct/seed_tasks.jsonl",
]
EVAL_SET = SHARED / "self-instruct" / "user_oriented_instructions.jsonl"
# share of generated records: verbatim copy, light edit (1-3 word edits), heavy edit (~35% of words)
MIX = (0.05, 0.20, 0.75)


def load_bases() -> list[Record]:
    bases = []
    for name in SOURCES:
        bases += [r for r in read_records(str(SHARED / name)) if isinstance(r, Record)]
    return bases


def mutate(words: list[str], edits: int, rng: random.Random, vocab: list[str]) -> list[str]:
    out = list(words)
    for _ in range(edits):
        op = rng.random()
        i = rng.randrange(len(out)) if out else 0
        if op < 0.34 and len(out) > 1:
            j = rng.randrange(len(out))
            out[i], out[j] = out[j], out[i]
        elif op < 0.67 and len(out) > 1:
            del out[i]
        else:
            out.insert(i, rng.choice(vocab))
    return out


def synth_row(n: int, base: Record, rng: random.Random, vocab: list[str]) -> dict[str, str]:
    kind = rng.random()
    row = {
        "id": f"syn-{n}",
        "instruction": base.instruction,
        "input": base.input,
        "output": base.output,
    }
    if kind < MIX[0]:
        return row
    for key in ("instruction", "output"):
        words = row[key].split()
        if not words:
            continue
        edits = rng.randint(1, 3) if kind < MIX[0] + MIX[1] else max(1, int(0.35 * len(words)))
        if key == "instruction" and kind < MIX[0] + MIX[1]:
            continue  # light edits touch the output only
        row[key] = " ".join(mutate(words, edits, rng, vocab))
    return row


def generate(path: Path, records: int, seed: int = 0) -> None:
    bases = load_bases()
    rng = random.Random(seed)
    vocab = sorted({w for b in bases[:2000] for w in b.output.split()})
    with path.open("w", encoding="utf-8") as f:
        for n in range(records):
            base = bases[rng.randrange(len(bases))]
            f.write(json.dumps(synth_row(n, base, rng, vocab), ensure_ascii=False) + "\n")


def peak_rss_mb() -> tuple[float, float]:
    """(this process, the largest child) peak resident set size in MB (Linux reports KB)."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return own, child


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Every option of this benchmark, in one place."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--keep-dir", type=Path, help="write the filter outputs here (default: a temp dir)"
    )
    parser.add_argument(
        "--data", type=Path, help="keep the generated JSONL here and reuse it (default: temp)"
    )
    parser.add_argument(
        "--engine",
        choices=["local", "ray"],
        default="local",
        help="ray: the local engine and --engine ray side by side (bench/filter_ray.py)",
    )
    parser.add_argument(
        "--memory-limit",
        default=None,
        help="near_dedup.memory_limit for the run (auto, none, 0, 2GB …; default: the config's)",
    )
    parser.add_argument(
        "--only",
        action="append",
        help="run only this stage (repeatable), e.g. --only near-dedup: one stage's memory and time",
    )
    parser.add_argument("--json", type=Path, help="append this run's figures to this JSONL file")
    return parser.parse_args(argv)


def main() -> None:
    args = parse_args()

    with tempfile.TemporaryDirectory(prefix="filter-scale-") as tmp:
        data = args.data or Path(tmp) / "synthetic.jsonl"
        t = time.perf_counter()
        if not _reusable(data, args.records):
            generate(data, args.records)
        gen_s = time.perf_counter() - t
        size_mb = data.stat().st_size / 1e6
        print(
            f"generated {args.records:,} records ({size_mb:,.0f} MB) in {gen_s:.1f} s",
            file=sys.stderr,
        )

        if args.engine == "ray":
            from filter_ray import compare

            return compare(data, args.keep_dir or Path(tmp) / "out", args.workers)
        cfg = FilterConfig(workers=args.workers, lang="en")
        cfg.toxicity.enabled = False
        if args.memory_limit is not None:
            cfg.near_dedup.memory_limit = args.memory_limit
        cfg.decontam.eval_sets = [str(EVAL_SET)]
        apply_selection(cfg, args.only, None)
        out = args.keep_dir or Path(tmp) / "out"
        load0, cpu0 = os.getloadavg()[0], cpu_seconds()
        t = time.perf_counter()
        result = run_filter([str(data)], out, cfg, progress=sys.stderr.isatty())
        wall = time.perf_counter() - t
        cpu = cpu_seconds() - cpu0
        own, child = peak_rss_mb()
        load = f"{load0:.1f} → {os.getloadavg()[0]:.1f} (1-min, {os.cpu_count()} cores)"
        print_table(result.stats, args, (wall, cpu), own, child, size_mb, load)
        if args.json:
            save_json(args.json, result.stats, args, (wall, cpu), own, child, load)


def save_json(
    path: Path,
    stats: dict,
    args: argparse.Namespace,
    times: tuple[float, float],
    own: float,
    child: float,
    load: str,
) -> None:
    """One line per run: what the before/after tables are made of."""
    nd = stats["stages"].get("near-dedup", {}).get("summary", {})
    row = {
        "records": stats["input"],
        "workers": args.workers,
        "memory_limit": args.memory_limit,
        "only": args.only,
        "wall_s": round(times[0], 1),
        "cpu_s": round(times[1], 1),
        "peak_rss_main_mb": round(own),
        "peak_rss_worker_mb": round(child),
        "load": load,
        "kept": stats["kept"],
        "rejected": stats["rejected"],
        "near_dedup_s": stats["stages"].get("near-dedup", {}).get("seconds"),
        **{
            k: nd[k]
            for k in ("candidate_pairs", "verified_pairs_checked", "spilled_to_disk")
            if k in nd
        },
    }
    with path.open("a", encoding="utf-8") as f:
        f.write(json.dumps(row) + "\n")


def _reusable(path: Path, records: int) -> bool:
    """A kept --data file with exactly ``records`` lines (generation is deterministic)."""
    if not path.is_file():
        return False
    with path.open("rb") as f:
        return sum(1 for _ in f) == records


def cpu_seconds() -> float:
    """User + system CPU of this process and of its finished children (the worker processes)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def print_table(
    stats: dict,
    args: argparse.Namespace,
    times: tuple[float, float],
    own: float,
    child: float,
    size_mb: float,
    load: str,
) -> None:
    wall, cpu = times
    total = own + args.workers * child
    rows = [
        ("records", f"{stats['input']:,}"),
        ("input size", f"{size_mb:,.0f} MB JSONL"),
        ("workers", str(args.workers)),
        ("wall", f"{wall:,.1f} s   (goal ≤ 300 s)"),
        ("records/s", f"{stats['input'] / wall:,.0f}"),
        ("CPU, all processes", f"{cpu:,.1f} s   ({cpu / stats['input'] * 1e6:,.0f} µs/record)"),
        ("load average", load),
        ("peak RSS main", f"{own:,.0f} MB"),
        ("peak RSS largest worker", f"{child:,.0f} MB"),
        ("peak RSS main + workers (bound)", f"{total:,.0f} MB   (goal ≤ 4,096 MB)"),
        ("stages", ", ".join(stats["stages"])),
        ("near-dedup memory_limit", str(args.memory_limit or "config default (auto)")),
        ("kept", f"{stats['kept']:,}"),
        ("rejected", f"{stats['rejected']:,}"),
    ]
    width = max(len(k) for k, _ in rows)
    print(f"\n| {'figure':<{width}} | value |\n|{'-' * (width + 2)}|-------|")
    for key, value in rows:
        print(f"| {key:<{width}} | {value} |")
    print(
        "\n| stage | records in | rejected | seconds | records/s | workers |\n|---|---:|---:|---:|---:|---:|"
    )
    for name, m in stats["stages"].items():
        rate = f"{m['records_per_s']:,.0f}" if m["records_per_s"] else "-"
        print(
            f"| {name} | {m['records_in']:,} | {m['rejected']:,} | {m['seconds']:,.1f} | {rate} | {m['workers']} |"
        )
    print("\n| reason | rejected |\n|---|---:|")
    for reason, n in stats["rejected_by_reason"].items():
        print(f"| {reason} | {n:,} |")


if __name__ == "__main__":
    main()
