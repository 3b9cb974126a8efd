"""The Ray engine's near-dedup steps, run here without Ray (one partition), decide as the local
stage does: keep longest, an --against reference set, chains and stars of near-duplicates."""

from __future__ import annotations

import json
import pickle
import random
from pathlib import Path

import numpy as np
import pyarrow as pa

from curate.engines.batches import RECORD, item_table
from curate.engines.dedup_batches import (
    band_batch,
    bucket_group,
    near_drops,
    sketch_batch,
    unique_pairs,
    verify_batch,
)
from curate.filters.near_dedup import NearDedupConfig, NearDedupStage
from curate.filters.stage import StageContext
from curate.io import read_records
from curate.records import Record

WORDS = [
    "alpha",
    "beta",
    "gamma",
    "delta",
    "epsilon",
    "zeta",
    "theta",
    "kappa",
    "lambda",
    "sigma",
    "omega",
    "river",
    "stone",
    "cloud",
    "market",
    "garden",
    "window",
    "engine",
    "paper",
    "silver",
    "bridge",
    "harbor",
    "lantern",
    "meadow",
    "orchard",
    "pepper",
    "quartz",
]


def near_duplicates(path: Path, n: int = 300, seed: int = 7) -> None:
    """Records of which about a third are one-word edits of an earlier one (some of an edit)."""
    rng = random.Random(seed)
    bases: list[str] = []
    with path.open("w", encoding="utf-8") as f:
        for k in range(n):
            if bases and rng.random() < 0.35:
                words = rng.choice(bases).split()
                words[rng.randrange(len(words))] = rng.choice(WORDS)
                text = " ".join(words)
            else:
                text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(25, 45)))
            bases.append(text)
            row = {
                "id": f"nd-{k:04d}",
                "instruction": "Explain the following sequence of words in plain English.",
                "output": text + ".",
            }
            f.write(json.dumps(row) + "\n")


def _table(records: list[Record], first_seq: int) -> pa.Table:
    rows = [(r.id, r.instruction, r.input, r.output, r.messages, r.lang, r.meta) for r in records]
    seqs = list(range(first_seq, first_seq + len(rows)))
    return item_table(seqs, [RECORD] * len(rows), [pickle.dumps(r) for r in rows])


def _numpy(table: pa.Table) -> dict[str, np.ndarray]:
    return {c: table.column(c).to_numpy(zero_copy_only=False) for c in table.column_names}


def test_near_dedup_steps_decide_as_the_local_stage(tmp_path: Path) -> None:
    near_duplicates(tmp_path / "near.jsonl", n=200, seed=3)
    records = [r for r in read_records(str(tmp_path / "near.jsonl")) if isinstance(r, Record)]
    reference = [
        Record(f"ref-{k}", r.instruction, r.input, r.output) for k, r in enumerate(records[:30])
    ]
    cfg = NearDedupConfig(keep="longest", lang="en")
    stage = NearDedupStage(cfg, StageContext(reference=lambda: reference))
    local = {rec.id: v for rec, v in stage(records) if not v.keep}

    n_ref, (bands, rows) = len(reference), cfg.band_params()
    sk = pa.concat_tables(
        [
            sketch_batch(_table(reference, -n_ref), cfg.spec(), n_ref, True),
            sketch_batch(_table(records, 0), cfg.spec(), n_ref, True),
        ]
    )
    keys = _numpy(band_batch(sk, bands, rows, cfg.num_perm, 1))
    pairs = unique_pairs(bucket_group(keys, cfg.max_bucket, 1))
    side = {c: sk.column(c).to_pylist() for c in ("node", "sig", "sh", "length", "id")}
    at = {node: k for k, node in enumerate(side["node"])}
    joined = {"i": pairs["i"], "j": pairs["j"], "capped": pairs["capped"]}
    for end, nodes in (("i", pairs["i"]), ("j", pairs["j"])):
        for c, name in (("sig", "sig"), ("sh", "sh"), ("length", "len"), ("id", "id")):
            joined[f"{name}_{end}"] = [side[c][at[int(n)]] for n in nodes]
    got = _numpy(verify_batch(pa.table(joined), cfg))
    dup = got["i"] >= 0
    verified = {k: got[k][dup] for k in ("i", "j", "jac", "len_i", "len_j", "id_i", "id_j")}
    assert got["counts"].sum() > 0  # (the engines count candidate work differently; verdicts below)
    seqs, verdicts, _, _ = near_drops(verified, n_ref, True)
    ray = {records[s].id: pickle.loads(v) for s, v in zip(seqs, verdicts, strict=True)}
    assert ray == local and len(local) > 40
    assert {v.evidence["scope"] for v in local.values()} == {"reference", "input"}
