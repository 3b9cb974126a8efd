"""`curate filter` local engine vs `--engine ray`, on the same synthetic file, in one run.

    python bench/filter_scale.py --engine ray --records 200000 [--data /tmp/syn200k.jsonl]

Each engine runs in a child process of its own (this file with ``--child``) with filter_scale.py's
settings (every stage but toxicity, the Self-Instruct eval set for decontam); the parent samples
the memory of the child's whole process tree every half second: for Ray the driver, GCS, raylet
and every worker. Memory is PSS (proportional set size: a page shared by N processes counts 1/N,
so Ray's shared-memory object store is not counted once per worker), the peak of the sum. The Ray
run starts a private single-machine Ray with as many CPUs as the machine has (2 here).

    python bench/filter_ray.py --driver-memory

measures what the Ray engine's driver holds for near dedup per million input records: the
verified pairs as they arrive from Ray, the clusters over their nodes (dedup_clusters.decide) and
the verdicts of the dropped records, for a share of near-duplicates (RSS growth of this process).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parent.parent
EVAL_SET = ROOT.parent / "shared" / "data" / "self-instruct" / "user_oriented_instructions.jsonl"


def _tree_pss_mb(root: psutil.Process) -> float:
    total = 0
    for p in [root, *root.children(recursive=True)]:
        with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
            total += p.memory_full_info().pss
    return total / 2**20


def measure(engine: str, data: Path, out: Path, workers: int) -> dict[str, Any]:
    """One engine in a child process: its stats, wall, CPU and the peak PSS of its tree."""
    cmd = [sys.executable, __file__, "--child", engine, str(data), str(out), str(workers)]
    load0 = os.getloadavg()[0]
    t = time.perf_counter()
    child = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    proc, peak, done = psutil.Process(child.pid), [0.0], threading.Event()
    cpu: dict[int, float] = {}

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], _tree_pss_mb(proc))
            for p in [proc, *proc.children(recursive=True)]:
                try:
                    times = p.cpu_times()
                    cpu[p.pid] = times.user + times.system
                except psutil.NoSuchProcess:
                    pass
            done.wait(0.5)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    stdout, _ = child.communicate()
    done.set()
    sampler.join()
    wall = time.perf_counter() - t
    if child.returncode != 0:
        raise SystemExit(f"{engine} run failed ({child.returncode})")
    stats = json.loads(stdout.strip().splitlines()[-1])
    near = stats["stages"]["near-dedup"]["summary"]
    return {
        "engine": engine,
        "wall_s": wall,
        "cpu_s": sum(cpu.values()),
        "peak_pss_mb": peak[0],
        "kept": stats["kept"],
        "candidate_pairs": near["candidate_pairs"],
        "duplicate_pairs": near["duplicate_pairs"],
        "near_removed": near["removed"],
        "load": f"{load0:.1f} → {os.getloadavg()[0]:.1f}",
    }


def compare(data: Path, out_root: Path, workers: int) -> None:
    rows = [measure("local", data, out_root / "local", workers)]
    rows.append(measure("ray", data, out_root / "ray", workers))
    same = (out_root / "local" / "kept.jsonl").read_bytes() == (
        out_root / "ray" / "kept.jsonl"
    ).read_bytes()
    print("| engine | wall s | CPU s (all processes) | peak PSS MB (whole tree) | kept |"
          " candidate pairs | duplicate pairs | load (1-min) |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['engine']} | {r['wall_s']:.1f} | {r['cpu_s']:.1f} | {r['peak_pss_mb']:,.0f} |"
            f" {r['kept']:,} | {r['candidate_pairs']:,} | {r['duplicate_pairs']:,} | {r['load']} |"
        )
    local, ray = rows
    print(
        f"\nray / local: wall {ray['wall_s'] / local['wall_s']:.2f}×, memory"
        f" {ray['peak_pss_mb'] / local['peak_pss_mb']:.1f}×; kept.jsonl byte-identical: {same};"
        f" {os.cpu_count()} cores"
    )


def _child(engine: str, data: str, out: str, workers: int) -> None:
    sys.path.insert(0, str(ROOT))
    from curate.engines import run_filter
    from curate.filters.config import FilterConfig
    from curate.jsonout import dumps

    cfg = FilterConfig(workers=workers, lang="en", engine=engine)
    cfg.toxicity.enabled = False
    cfg.decontam.eval_sets = [str(EVAL_SET)]
    result = run_filter([data], out, cfg)
    print(dumps(result.stats))


def driver_memory(records: int = 1_000_000) -> None:
    import numpy as np

    sys.path.insert(0, str(ROOT))
    from curate.engines.dedup_batches import near_drops

    print("| records | near-duplicates | verified pairs | driver RSS growth | seconds |")
    print("|---|---|---|---|---|")
    for share in (0.25, 0.5):
        rng = np.random.default_rng(0)
        rss0 = psutil.Process().memory_info().rss
        dups = rng.choice(records, int(records * share), replace=False)
        dups = dups[dups > 0]
        earlier = (rng.random(len(dups)) * dups).astype(np.int64)  # chains and stars
        i, j = np.minimum(earlier, dups), np.maximum(earlier, dups)
        pairs = {
            "i": i,
            "j": j,
            "jac": rng.random(len(i)) * 0.3 + 0.7,
            "len_i": np.zeros(len(i), np.int64),
            "len_j": np.zeros(len(i), np.int64),
            "id_i": np.array([f"syn-{k}" for k in i.tolist()], dtype=object),
            "id_j": np.array([f"syn-{k}" for k in j.tolist()], dtype=object),
        }
        t = time.perf_counter()
        seqs, verdicts, _, _ = near_drops(pairs, 0, False)
        seconds = time.perf_counter() - t
        grown = (psutil.Process().memory_info().rss - rss0) / 2**20
        print(f"| {records:,} | {share:.0%} | {len(i):,} | {grown:,.0f} MB | {seconds:.1f} |")
        del pairs, seqs, verdicts


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--child", nargs=4, metavar=("ENGINE", "DATA", "OUT", "WORKERS"))
    parser.add_argument("--driver-memory", action="store_true")
    args = parser.parse_args()
    if args.driver_memory:
        driver_memory()
    else:
        engine, data, out, workers = args.child
        _child(engine, data, out, int(workers))
