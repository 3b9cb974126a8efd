"""The golden cases (what bench/golden.py runs) and the digests of what each writes.

Everything that touches curate is here: filter cases through the CLI in-process, each in a fresh
temp dir holding copies of its inputs (so the paths recorded in the outputs are bare file names
whatever the checkout location); the generate case through ``drive_generate``, the one function
to adapt when the loop's entry points move.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "data"
EVAL_SET = SHARED / "self-instruct" / "user_oriented_instructions.jsonl"
OFFLINE = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}

# name → (input files, extra CLI args); paths are copied into the run dir, args name the copies.
# GPTeacher's sets are GPT-4 output: pinned to the generated profile (the default would be
# human: they carry no `curate generate` provenance); defects and GSM8K run the default (human).
GENERATED = ["--profile", "generated"]
FILTER_CASES: dict[str, tuple[list[Path], list[str]]] = {
    "defects": ([ROOT / "data" / "samples" / "defects.jsonl"], []),
    "toolformer": ([SHARED / "gpteacher" / "toolformer.json"], GENERATED),
    "toolformer-decontam": (
        [SHARED / "gpteacher" / "toolformer.json", EVAL_SET],
        ["--only", "decontam", "--eval-set", EVAL_SET.name, *GENERATED],
    ),
    "gsm8k": ([SHARED / "gsm8k" / "gsm_8k_train.json"], []),
    "roleplay": ([SHARED / "gpteacher" / "roleplay.json"], GENERATED),
}
LARGE_RECORDS = 100_000
LARGE_CASES = {f"synthetic-100k-w{w}": w for w in (1, 2)}
SMALL = [*FILTER_CASES, "generate"]


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def without_timings(obj: object) -> object:
    """The JSON value minus every key that holds a timing (or a rate derived from one)."""
    if isinstance(obj, dict):
        return {
            k: without_timings(v)
            for k, v in obj.items()
            if "seconds" not in k and not k.endswith("_per_s")
        }
    if isinstance(obj, list):
        return [without_timings(v) for v in obj]
    return obj


def hashed(out: Path, names: tuple[str, ...]) -> dict[str, dict]:
    """sha256 and line count of each named file, plus stats.json without its timings."""
    files = {}
    for name in names:
        data = (out / name).read_bytes()
        files[name] = {"sha256": sha256(data), "lines": data.count(b"\n")}
    stats = without_timings(json.loads((out / "stats.json").read_text(encoding="utf-8")))
    files["stats.json (timings removed)"] = {"sha256": sha256(json.dumps(stats).encode())}
    return files


@contextmanager
def run_dir(name: str) -> Iterator[Path]:
    """A fresh temp dir as the working directory for one case."""
    old = Path.cwd()
    with tempfile.TemporaryDirectory(prefix=f"golden-{name}-") as tmp:
        os.chdir(tmp)
        try:
            yield Path(tmp)
        finally:
            os.chdir(old)


def curate_filter(inputs: list[str], extra: list[str]) -> Path:
    """`curate filter INPUTS --out out --lang en -q EXTRA` in-process; returns the out dir."""
    from typer.testing import CliRunner

    from curate.cli import app

    args = ["filter", *inputs, "--out", "out", "--lang", "en", "-q", *extra]
    result = CliRunner().invoke(app, args)
    if result.exit_code != 0:
        raise RuntimeError(f"curate {' '.join(args)} failed: {result.output}{result.exception!r}")
    return Path("out").resolve()


def filter_digests(inputs: list[Path], out: Path) -> dict[str, dict]:
    files = {f"input {p.name}": {"sha256": sha256(p.read_bytes())} for p in inputs}
    files.update(hashed(out, ("kept.jsonl", "rejected.jsonl")))
    # with --workers 2 rejects interleave differently than with 1 (same rows): this row tells
    # a changed order from changed rows
    rows = sorted((out / "rejected.jsonl").read_bytes().splitlines(keepends=True))
    files["rejected.jsonl (lines sorted)"] = {"sha256": sha256(b"".join(rows))}
    return files


def run_filter_case(name: str) -> dict[str, dict]:
    paths, extra = FILTER_CASES[name]
    with run_dir(name) as tmp:
        for p in paths:
            shutil.copy(p, tmp / p.name)
        return filter_digests(paths, curate_filter([paths[0].name], extra))


def run_large_case(name: str) -> dict[str, dict]:
    """bench/filter_scale.py's deterministic records (seed 0), all stages + the eval set."""
    spec = importlib.util.spec_from_file_location(
        "bench_filter_scale", ROOT / "bench" / "filter_scale.py"
    )
    filter_scale = importlib.util.module_from_spec(spec)  # not via sys.path: see golden.beside
    spec.loader.exec_module(filter_scale)
    generate = filter_scale.generate

    with run_dir(name) as tmp:
        data = tmp / "synthetic-100k.jsonl"
        generate(data, LARGE_RECORDS, seed=0)
        shutil.copy(EVAL_SET, tmp / EVAL_SET.name)
        extra = ["--eval-set", EVAL_SET.name, "--workers", str(LARGE_CASES[name])]
        return filter_digests([data], curate_filter([data.name], extra))


def drive_generate(out: Path) -> None:
    """3 self-instruct rounds (seed 0, target 1000, rest: the shipped generate.yaml, so filters
    exact-dedup, quality, cleaned, toxicity: the offline profanity fallback) answered by
    tests/generate_fakes.py:respond, through the real CLI: the scripted backend is registered
    as ``--backend fake`` (its ``name`` "fake" is written into every record's
    meta.generation.backend), then `curate generate` runs in-process.
    """
    if str(ROOT / "tests") not in sys.path:
        sys.path.insert(0, str(ROOT / "tests"))
    from generate_fakes import fake_spec
    from typer.testing import CliRunner

    from curate.backends.registry import register_backend, unregister_backend
    from curate.cli import app

    spec = register_backend(fake_spec(), replace=True)
    try:
        args = ["generate", "--out", str(out), "--model", "scripted", "--backend", spec.name]
        args += ["--rounds", "3", "--target", "1000", "--seed", "0"]
        result = CliRunner().invoke(app, args)
        if result.exit_code != 0:
            raise RuntimeError(f"curate generate failed: {result.output}") from result.exception
    finally:
        unregister_backend(spec.name)


def run_generate_case(name: str) -> dict[str, dict]:
    with run_dir(name) as tmp:
        out = tmp / "out"
        drive_generate(out)
        return hashed(out, ("records.jsonl", "rejected.jsonl", "instructions.jsonl"))


RUNNERS = {
    **dict.fromkeys(FILTER_CASES, run_filter_case),
    **dict.fromkeys(LARGE_CASES, run_large_case),
    "generate": run_generate_case,
}
