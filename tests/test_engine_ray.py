"""`curate filter --engine ray` on a local Ray cluster gives the local engine's outputs.

The test starts its own single-machine Ray (bound to 127.0.0.1, 2 CPUs, a small object store)
and stops exactly that one (never `ray stop`, which ends every Ray process on the machine); the
CLI joins it with --ray-address, as a user joins a cluster. kept.jsonl must be byte-identical;
rejected.jsonl holds the same lines in input order where the local engine writes each drop when
its stage makes it, so its lines are compared after a stable sort by id.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_engine_ray_batches import near_duplicates
from typer.testing import CliRunner

from curate.cli import app

# before Ray is imported: without it a single-node Ray listens on every interface
os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
ray = pytest.importorskip("ray", reason="the ray extra: pip install -e '.[ray]'")


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[str]:
    ctx = ray.init(
        address="local",
        num_cpus=2,
        include_dashboard=False,
        object_store_memory=150 << 20,
        _node_ip_address="127.0.0.1",
        log_to_driver=False,
    )
    address = ctx.address_info["gcs_address"]
    assert address.startswith("127.0.0.1:")
    try:
        yield address
    finally:
        ray.shutdown()  # stops the processes this init started, nothing else


def _sorted_by_id(path: Path) -> list[str]:
    lines = path.read_text(encoding="utf-8").split("\n")[:-1]
    return sorted(lines, key=lambda line: json.loads(line)["id"])


@pytest.mark.slow
def test_ray_engine_writes_what_the_local_engine_writes(
    tmp_path: Path, project_root: Path, ray_cluster: str
) -> None:
    near = tmp_path / "near.jsonl"
    near_duplicates(near)
    inputs = [str(project_root / "data/samples/defects.jsonl"), str(near)]
    local = CliRunner().invoke(
        app, ["filter", *inputs, "--out", str(tmp_path / "local"), "--lang", "en", "-q"]
    )
    assert local.exit_code == 0, local.output
    env = {**os.environ, "RAY_AUTH_MODE": "token"}
    cmd = [sys.executable, "-m", "curate.cli", "filter", *inputs, "--lang", "en", "-q"]
    cmd += ["--out", str(tmp_path / "ray"), "--engine", "ray", "--ray-address", ray_cluster]
    run = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]

    a, b = tmp_path / "local", tmp_path / "ray"
    assert (b / "kept.jsonl").read_bytes() == (a / "kept.jsonl").read_bytes()
    assert _sorted_by_id(b / "rejected.jsonl") == _sorted_by_id(a / "rejected.jsonl")
    stats_a = json.loads((a / "stats.json").read_text())
    stats_b = json.loads((b / "stats.json").read_text())
    near_a, near_b = (s["stages"]["near-dedup"]["summary"] for s in (stats_a, stats_b))
    assert near_b["removed"] == near_a["removed"] > 50  # the near-duplicates were there to find
    # the clusters are the same; the work is counted differently: the local stage counts bucket
    # pairs band by band and checks only those that can still join two clusters, Ray verifies each
    # distinct candidate pair once (so candidate/duplicate pair counts differ between engines)
    for key in ("cluster_sizes", "removed_by_scope"):
        assert near_b[key] == near_a[key], key
    for s in (stats_a, stats_b):
        s["stages"] = {
            n: {k: v[k] for k in ("records_in", "kept", "rejected_by_reason")}
            for n, v in s["stages"].items()
        }
    assert stats_b["stages"] == stats_a["stages"]
    assert (b / "report.md").is_file() and (b / "config.yaml").is_file()
    assert "engine: ray" in (b / "config.yaml").read_text()


def test_the_input_is_read_in_blocks_that_follow_the_cpus(ray_cluster: str) -> None:
    """ray_read: chunks put while parsing come back as k contiguous slices (override_num_blocks),
    in input order, whatever k."""
    from curate.engines.batches import RECORD, item_table
    from curate.engines.ray_read import READ_BLOCKS_PER_CPU, ParsedItems, read_blocks

    assert 2 <= READ_BLOCKS_PER_CPU <= 4 and read_blocks(2.0) == 2 * READ_BLOCKS_PER_CPU
    rows = [2000, 2000, 777]
    refs, seq = [], 0
    for n in rows:
        refs.append(ray.put(item_table(list(range(seq, seq + n)), [RECORD] * n, [b"x"] * n)))
        seq += n
    for k in (1, 5, read_blocks(ray.cluster_resources()["CPU"])):
        ds = ray.data.read_datasource(ParsedItems(refs, rows), override_num_blocks=k).materialize()
        assert ds.num_blocks() == k
        seqs = [s for b in ds.iter_batches(batch_format="pyarrow") for s in b["seq"].to_pylist()]
        assert seqs == list(range(sum(rows)))
