"""An experiment's data: the pool, the held-out set, and every variant's records, built once.

``prepare`` reads the inputs into ``data/pool.jsonl`` and sets the held-out set aside
(``data/heldout.jsonl``): a given file, or ``heldout_size`` records split off the pool with
``data_seed`` and cleaned with ``heldout_filter``; exact copies of a held-out record (same
normalised text) leave the pool, so no variant trains on what it is scored on.

``build_variant`` writes ``variants/NAME/variant.json`` last (atomically): the data file, its
record count and sha256, the sha256 of the filter config it came from, and its statistics. A
rerun whose pool and config are unchanged finds it and reuses the data as it is.
"""

from __future__ import annotations

import hashlib
import json
import random
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from curate.experiment.config import (
    CONTROL_PREFIX,
    ExperimentConfig,
    canonical,
    filter_config,
    filtered,
    sha256_text,
    variant_config_text,
)
from curate.filters.config import FilterConfig, apply_selection
from curate.filters.pipeline import record_row, run_filter
from curate.io import AtomicFile, Reject, read_records
from curate.jsonout import dumps
from curate.records import Record


@dataclass
class Variant:
    name: str
    kind: str  # "full" (no filter) | "filtered" | "control" (random, the size of ``of``)
    data: str  # the records' file
    records: int
    sha256: str  # of the data file
    config_sha256: str  # of the filter config (or "filter: none")
    key: str  # what the data depends on: pool sha256 + config
    of: str | None = None
    stats: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Pool:
    pool: Path
    heldout: Path
    pool_sha256: str
    heldout_sha256: str
    pool_records: int
    heldout_records: int
    removed_overlap: int


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def text_key(rec: Record) -> str:
    return " ".join(rec.text().lower().split())


def read_all(paths: list[str]) -> list[Record]:
    out: list[Record] = []
    for path in paths:
        out += [r for r in read_records(path) if not isinstance(r, Reject)]
    return out


def write_jsonl(path: Path, records: list[Record]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with AtomicFile(path) as f:
        for rec in records:
            f.write(dumps(record_row(rec), ensure_ascii=False) + "\n")


def prepare(cfg: ExperimentConfig, out: Path) -> Pool:
    records = read_all(cfg.data)
    if not records:
        raise ValueError(f"data: no records in {', '.join(cfg.data)}")
    if cfg.heldout is not None:
        heldout = read_all([cfg.heldout])
    else:
        order = list(range(len(records)))
        random.Random(cfg.data_seed).shuffle(order)
        if cfg.heldout_size >= len(records):
            raise ValueError(
                f"heldout_size: {cfg.heldout_size} leaves no training records of {len(records)}"
            )
        taken = set(order[: cfg.heldout_size])
        heldout = clean(
            [records[i] for i in sorted(taken)], cfg.heldout_filter, out / "data" / "heldout-filter"
        )
        records = [r for i, r in enumerate(records) if i not in taken]
    if not heldout:
        raise ValueError("heldout: no held-out records (after cleaning)")
    seen = {text_key(r) for r in heldout}
    pool = [r for r in records if text_key(r) not in seen]
    write_jsonl(out / "data" / "pool.jsonl", pool)
    write_jsonl(out / "data" / "heldout.jsonl", heldout)
    return Pool(
        out / "data" / "pool.jsonl",
        out / "data" / "heldout.jsonl",
        file_sha256(out / "data" / "pool.jsonl"),
        file_sha256(out / "data" / "heldout.jsonl"),
        len(pool),
        len(heldout),
        len(records) - len(pool),
    )


def clean(records: list[Record], stages: list[str], work: Path) -> list[Record]:
    """The held-out records ``stages`` keep (a `curate filter` run in ``work``)."""
    if not stages:
        return records
    write_jsonl(work / "in.jsonl", records)
    cfg = FilterConfig()
    apply_selection(cfg, stages, None)
    run_filter([str(work / "in.jsonl")], work / "out", cfg)
    return read_all([str(work / "out" / "kept.jsonl")])


def text_stats(path: Path) -> dict[str, Any]:
    recs = read_all([str(path)])
    n = len(recs) or 1
    return {
        "records": len(recs),
        "instruction_words": round(sum(len(r.instruction.split()) for r in recs) / n, 1),
        "input_words": round(sum(len(r.input.split()) for r in recs) / n, 1),
        "output_words": round(sum(len(r.output.split()) for r in recs) / n, 1),
    }


def _done(directory: Path, key: str) -> Variant | None:
    try:
        found = Variant(**json.loads((directory / "variant.json").read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):
        return None
    data = Path(found.data)
    if found.key != key or not data.is_file() or file_sha256(data) != found.sha256:
        return None
    return found


def _save(directory: Path, v: Variant) -> Variant:
    with AtomicFile(directory / "variant.json") as f:
        f.write(dumps(v.to_dict(), ensure_ascii=False, indent=2) + "\n")
    return v


def build_variant(name: str, spec: dict[str, Any], pool: Pool, out: Path) -> tuple[Variant, bool]:
    """(the variant, whether it was reused as built by an earlier run)."""
    directory = out / "variants" / name
    config_text = variant_config_text(spec, f"variants.{name}")
    config_sha = sha256_text(config_text)
    key = sha256_text(canonical([pool.pool_sha256, config_sha]))
    found = _done(directory, key)
    if found is not None:
        return found, True
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "filter.yaml").write_text(config_text, encoding="utf-8")
    if not filtered(spec):
        data, stats = pool.pool, text_stats(pool.pool)
        kind = "full"
    else:
        result = run_filter([str(pool.pool)], directory / "filter", filter_config(spec, name))
        data, kind = directory / "filter" / "kept.jsonl", "filtered"
        stats = {**text_stats(data), "rejected_by_reason": result.stats["rejected_by_reason"]}
    v = Variant(name, kind, str(data), stats["records"], file_sha256(data), config_sha, key)
    v.stats = stats
    return _save(directory, v), False


def build_control(of: Variant, pool: Pool, seed: int, out: Path) -> tuple[Variant, bool]:
    """A random subset of the pool as large as ``of``: what filtering adds beyond shrinking."""
    name = CONTROL_PREFIX + of.name
    directory = out / "variants" / name
    config_text = f"random subset of the pool: {of.records} records, seed {seed}:{of.name}\n"
    config_sha = sha256_text(config_text)
    key = sha256_text(canonical([pool.pool_sha256, config_sha]))
    found = _done(directory, key)
    if found is not None:
        return found, True
    lines = pool.pool.read_text(encoding="utf-8").splitlines(keepends=True)
    picked = sorted(random.Random(f"{seed}:{of.name}").sample(range(len(lines)), of.records))
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "filter.yaml").write_text(config_text, encoding="utf-8")
    data = directory / "data.jsonl"
    with AtomicFile(data) as f:
        f.writelines(lines[i] for i in picked)
    v = Variant(name, "control", str(data), of.records, file_sha256(data), config_sha, key, of.name)
    v.stats = text_stats(data)
    return _save(directory, v), False


def build_all(cfg: ExperimentConfig, pool: Pool, out: Path) -> list[tuple[Variant, bool]]:
    """Every variant in config order, each filtered one followed by its control."""
    built: list[tuple[Variant, bool]] = []
    for name, spec in cfg.variants.items():
        v, reused = build_variant(name, spec, pool, out)
        built.append((v, reused))
        if v.kind == "filtered" and cfg.controls and spec.get("control", True):
            built.append(build_control(v, pool, cfg.data_seed, out))
    return built
