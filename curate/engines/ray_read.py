"""The parsed input as a Ray dataset in a number of blocks that follows the cluster's CPUs.

The driver parses the inputs with the local readers (ray_engine._read) and puts them into Ray's
object store in chunks of ``PUT_ROWS`` items as it goes, so it never holds the whole corpus. The
dataset is then made with ``ray.data.read_datasource(..., override_num_blocks=k)``, k =
``READ_BLOCKS_PER_CPU`` × the cluster's CPUs: ``ParsedItems`` cuts the items, in input order,
into k contiguous slices of (nearly) equal rows, each read task fetching and slicing only the
chunks it overlaps. Blocks only decide how the work is cut: every row keeps its ``seq``, so the
outputs do not depend on k. No input at all is one empty table (ray_engine._read; a read
task's empty block is dropped, and its schema with it). Imported only when the Ray engine runs (it imports Ray).
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial
from itertools import accumulate
from typing import Any

import pyarrow as pa
import ray
from ray.data import Datasource, ReadTask
from ray.data.block import BlockMetadata

from curate.engines.batches import item_table

PUT_ROWS = 2000  # items per chunk the driver puts into the object store while parsing
# Blocks per cluster CPU when reading: Ray Data's advice is 2-4x the CPUs, so that every CPU has
# work while the slower blocks finish, without a fixed cost per block that outweighs it.
READ_BLOCKS_PER_CPU = 3


def read_blocks(cpus: float) -> int:
    """How many blocks the input is read in on a cluster with ``cpus`` CPUs."""
    return max(1, READ_BLOCKS_PER_CPU * int(cpus))


class ParsedItems(Datasource):
    """Chunks of parsed items already in the object store (refs and their row counts, in input
    order), read back as ``parallelism`` contiguous slices."""

    def __init__(self, refs: list[Any], rows: list[int]) -> None:
        self.refs, self.rows = refs, rows

    def estimate_inmemory_data_size(self) -> int | None:
        return None

    def get_read_tasks(
        self, parallelism: int, per_task_row_limit: int | None = None, data_context: Any = None
    ) -> list[ReadTask]:
        total = sum(self.rows)
        n = max(1, min(parallelism, total))
        bounds = [total * i // n for i in range(n + 1)]
        starts = [0, *accumulate(self.rows)][:-1]  # each chunk's first row
        schema = item_table([], [], []).schema
        tasks = []
        for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
            pieces = [
                (ref, max(lo, s) - s, min(hi, s + r) - max(lo, s))
                for ref, s, r in zip(self.refs, starts, self.rows, strict=True)
                if s < hi and s + r > lo
            ]
            meta = BlockMetadata(num_rows=hi - lo, size_bytes=None, exec_stats=None)
            tasks.append(ReadTask(partial(_slice, pieces), meta, schema, per_task_row_limit))
        return tasks


def _slice(pieces: list[tuple[Any, int, int]]) -> Iterable[pa.Table]:
    """One read task: the rows of its slice, from the chunks it overlaps."""
    tables = ray.get([ref for ref, _, _ in pieces])
    return [
        pa.concat_tables(
            [t.slice(offset, n) for t, (_, offset, n) in zip(tables, pieces, strict=True)]
        )
    ]
