"""Each audit profile's reject rate per reason on every file of ../shared/data, with samples.

    python bench/profiles.py                       # the table (Markdown)
    python bench/profiles.py --examples 5          # + up to 5 rejected records per reason, to read
    python bench/profiles.py --files gsm8k --profiles human,generated

Every file is filtered in-process as `curate filter FILE --lang en --profile P` would (all the
default stages; toxicity offline: the alt-profanity-check fallback). A rate is that reason's
rejects over the file's records; a reason that rejects nothing in any profile is left out. The
false-positive figures in the README and the closing note come from reading the --examples
output (every reject of a reason when there are few, a sample when there are many).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # this checkout's curate before any installed one
SHARED = ROOT.parent / "shared" / "data"
FILES = {
    "toolformer": SHARED / "gpteacher" / "toolformer.json",
    "roleplay": SHARED / "gpteacher" / "roleplay.json",
    "gsm8k": SHARED / "gsm8k" / "gsm_8k_train.json",
    "seed_tasks": SHARED / "self-instruct" / "seed_tasks.jsonl",
    "user_oriented": SHARED / "self-instruct" / "user_oriented_instructions.jsonl",
}
PROFILES = ("generated", "human", "strict")


def audit(path: Path, profile: str, out: Path) -> tuple[dict, list[dict]]:
    """(stats.json, rejected rows) of `curate filter PATH --lang en --profile PROFILE`."""
    from curate.filters.command import resolve_config
    from curate.filters.pipeline import run_filter

    cfg = resolve_config([str(path)], flags={"profile": profile, "lang": "en"})
    result = run_filter([str(path)], out, cfg)
    rows = [json.loads(line) for line in (out / "rejected.jsonl").open(encoding="utf-8")]
    return result.stats, rows


def run(files: list[str], profiles: list[str], examples: int) -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    table: dict[tuple[str, str], tuple[int, Counter[str]]] = {}
    samples: dict[tuple[str, str, str], list[dict]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-profiles-") as tmp:
        for name in files:
            for profile in profiles:
                print(f"[profiles] {name} / {profile} …", file=sys.stderr, flush=True)
                stats, rows = audit(FILES[name], profile, Path(tmp) / f"{name}-{profile}")
                table[name, profile] = (stats["input"], Counter(stats["rejected_by_reason"]))
                for row in rows:
                    key = (name, profile, row["reject"]["reason"])
                    samples.setdefault(key, []).append(row)
                repaired = stats.get("stages", {}).get("cleaned", {}).get("tally", {})
                if repaired:
                    print(f"[profiles] {name} / {profile}: repaired {repaired}", file=sys.stderr)
    print_table(files, profiles, table)
    if examples:
        print_examples(samples, examples)


def print_table(files: list[str], profiles: list[str], table: dict) -> None:
    for name in files:
        reasons = sorted({r for p in profiles for r in table[name, p][1]})
        n = table[name, profiles[0]][0]
        print(f"\n### {name} ({n:,} records)\n")
        print("| reason | " + " | ".join(profiles) + " |")
        print("|---|" + "---:|" * len(profiles))
        for reason in reasons:
            cells = [_cell(table[name, p][1][reason], table[name, p][0]) for p in profiles]
            print(f"| {reason} | " + " | ".join(cells) + " |")
        totals = [_cell(sum(table[name, p][1].values()), table[name, p][0]) for p in profiles]
        print("| **all** | " + " | ".join(totals) + " |")


def _cell(count: int, total: int) -> str:
    return f"{count} ({100 * count / total:.2f} %)" if count else "-"


def print_examples(samples: dict, k: int) -> None:
    print("\n## Examples (first rejects per file, profile, reason)\n")
    for (name, profile, reason), rows in sorted(samples.items()):
        if reason in ("exact-duplicate", "near-duplicate"):
            continue
        print(f"\n#### {name} / {profile} / {reason} ({len(rows)})")
        for row in rows[:k]:
            text = " ".join((row.get("instruction") or "").split())[:160]
            ev = json.dumps(row["reject"]["evidence"], ensure_ascii=False)[:160]
            print(f"- {text!r}  {ev}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--files", default=",".join(FILES), help="comma-separated: " + ", ".join(FILES)
    )
    parser.add_argument("--profiles", default=",".join(PROFILES))
    parser.add_argument("--examples", type=int, default=0, help="rejected records shown per reason")
    args = parser.parse_args()
    files = [f.strip() for f in args.files.split(",") if f.strip()]
    unknown = [f for f in files if f not in FILES]
    if unknown:
        raise SystemExit(f"unknown file {unknown[0]!r}; known: {', '.join(FILES)}")
    if not SHARED.is_dir():
        raise SystemExit(f"{SHARED}: not found (the shared benchmark data)")
    run(files, [p.strip() for p in args.profiles.split(",") if p.strip()], args.examples)


if __name__ == "__main__":
    main()
