"""Byte-identical before/after guard: sha256 of what `curate filter` and `curate generate` write.

    python bench/golden.py --write tests/golden/filter_outputs.json            # small cases
    python bench/golden.py --write tests/golden/large_outputs.json --large     # 100k synthetic
    python bench/golden.py --check tests/golden/filter_outputs.json [--cases defects,generate]

The cases are in bench/golden_cases.py. Filter cases run `curate filter INPUT --out DIR --lang en
-q` in-process with the shipped default config. Hashed: kept.jsonl, rejected.jsonl (bytes, and
rejected's lines sorted) and stats.json with every timing key (``*seconds*``, ``*_per_s``)
removed; generate: records/rejected/instructions.jsonl and stats.json likewise. The inputs are
hashed too, so changed data (or a changed synthetic generator) is told apart from changed code.
Toxicity runs offline (HF_HUB_OFFLINE set here), i.e. with the alt-profanity-check fallback.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
import time
from pathlib import Path
from types import ModuleType

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent))  # this checkout's curate before any installed one


def beside(name: str) -> ModuleType:
    """bench/NAME.py, imported without putting bench/ on sys.path (where pytest imports this
    module, bench/train.py would shadow the train package)."""
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCH / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


cases = beside("golden_cases")
LARGE_CASES, OFFLINE, RUNNERS, SMALL = cases.LARGE_CASES, cases.OFFLINE, cases.RUNNERS, cases.SMALL

# unpinned dependencies whose upgrade can change verdicts or scores (recorded, not compared)
PACKAGES = ("alt-profanity-check", "scikit-learn", "py3langid", "lingua-language-detector")
PACKAGES += ("numpy", "datasketch", "xxhash")


def versions() -> dict[str, str]:
    from importlib.metadata import distributions

    have = {d.metadata["Name"].lower().replace("_", "-"): d.version for d in distributions()}
    return {name: have.get(name, "missing") for name in PACKAGES}


def run_case(name: str) -> dict:
    if name not in RUNNERS:
        raise SystemExit(f"unknown case {name!r}; known: {', '.join(RUNNERS)}")
    os.environ.update(OFFLINE)  # before anything imports transformers: detoxify never probed
    print(f"[golden] {name} ...", file=sys.stderr, flush=True)
    t = time.perf_counter()
    files = RUNNERS[name](name)
    seconds = round(time.perf_counter() - t, 1)
    counts = ", ".join(f"{f} {v['lines']:,}" for f, v in files.items() if "lines" in v)
    print(f"[golden] {name}: {counts} ({seconds} s)", file=sys.stderr, flush=True)
    return {"seconds": seconds, "files": files}


def write(path: Path, names: list[str]) -> None:
    note = "bench/golden.py digests; seconds are informational, never compared"
    old = json.loads(path.read_text())["cases"] if path.exists() else {}
    golden = {"note": note, "versions": versions(), "cases": old}
    golden["cases"].update({name: run_case(name) for name in names})
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(golden, indent=2, ensure_ascii=False) + "\n")
    print(f"[golden] wrote {path}", file=sys.stderr)


def changed_versions(path: Path) -> dict[str, str]:
    """Recorded package versions that differ from the installed ones: a cause besides the code."""
    recorded, now = json.loads(path.read_text()).get("versions", {}), versions()
    return {k: f"{v} → {now.get(k)}" for k, v in recorded.items() if now.get(k) != v}


def check(path: Path, names: list[str] | None = None) -> list[tuple[str, str, str, str]]:
    """Re-run the cases; print a table; return (case, file, expected, got) for each difference."""
    cases = json.loads(path.read_text())["cases"]
    if changed := changed_versions(path):
        print(f"[golden] note: packages differ from when {path} was written: {changed}")
    missing = [n for n in names or [] if n not in cases]
    if missing:
        raise SystemExit(f"{path}: no digests for {', '.join(missing)}")
    rows = []
    for name in names or list(cases):
        got = run_case(name)["files"]
        for file, want in cases[name]["files"].items():
            rows.append((name, file, want["sha256"], got.get(file, {}).get("sha256", "missing")))
    print(f"\n| case | file | expected | got | same? |\n|{'---|' * 5}")
    for case, file, want, have in rows:
        same = "yes" if want == have else "NO"
        print(f"| {case} | {file} | {want[:12]} | {have[:12]} | {same} |")
    return [row for row in rows if row[2] != row[3]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--write", type=Path, help="run the cases, write their digests here")
    mode.add_argument("--check", type=Path, help="re-run the cases in this file, compare")
    parser.add_argument("--large", action="store_true", help="--write: the 100k synthetic cases")
    parser.add_argument("--cases", help="comma-separated subset of the cases")
    args = parser.parse_args()
    import curate

    print(f"[golden] curate from {Path(curate.__file__).parent}", file=sys.stderr)
    names = [c.strip() for c in args.cases.split(",") if c.strip()] if args.cases else None
    if args.write:
        write(args.write, names or (list(LARGE_CASES) if args.large else SMALL))
        return
    diffs = check(args.check, names)
    print(f"\n{len(diffs)} difference(s)" if diffs else "\nall identical")
    sys.exit(1 if diffs else 0)


if __name__ == "__main__":
    main()
