"""Bounded-memory holding areas for two-pass dedup: records and numpy arrays spill to temp files.

A two-pass stage (near dedup, ``keep: longest``) must see every record before it can answer for
the first one. ``RecordSpill`` keeps up to ``max_in_memory`` records in RAM and pickles the rest in
chunks to a private temp file (pickle, not JSON: ~5× faster, and the file never leaves the process);
``ArrayLog`` appends same-dtype arrays to a temp file and maps them back as one array.
"""

from __future__ import annotations

import pickle
import tempfile
from collections.abc import Iterable, Iterator
from typing import IO, Any

import numpy as np

from curate.records import Record


class RecordSpill:
    """Records in arrival order, in RAM up to ``max_in_memory``, on disk beyond."""

    def __init__(self, max_in_memory: int = 100_000, chunk: int = 4096) -> None:
        self.max_in_memory = max(1, max_in_memory)
        self.chunk = min(chunk, self.max_in_memory)  # the write buffer counts against the cap too
        self._mem: list[Record] = []
        self._file: IO[bytes] | None = None
        self.count = 0
        self.spilled = 0

    def extend(self, records: Iterable[Record]) -> None:
        fits = isinstance(records, list) and len(self._mem) + len(records) <= self.max_in_memory
        if fits and self._file is None:  # all stay in RAM: one extend
            self._mem.extend(records)
            self.count += len(records)
            return
        for rec in records:
            self._mem.append(rec)
            self.count += 1
            if self._file is not None and len(self._mem) >= self.chunk:
                self._flush()
            elif self._file is None and len(self._mem) > self.max_in_memory:
                self._file = tempfile.TemporaryFile(prefix="curate-dedup-", suffix=".pkl")  # noqa: SIM115 (closed after pass 2)
                self._flush()

    def _flush(self) -> None:
        assert self._file is not None
        pickle.dump(self._mem, self._file, protocol=pickle.HIGHEST_PROTOCOL)
        self.spilled += len(self._mem)
        self._mem = []

    def __iter__(self) -> Iterator[Record]:
        """Every record once, in order; the spill file is closed (deleted) afterwards."""
        if self._file is not None:
            self._file.seek(0)
            while True:
                try:
                    batch = pickle.load(self._file)
                except EOFError:
                    break
                yield from batch
            self._file.close()
            self._file = None
        yield from self._mem
        self._mem = []


class ArrayLog:
    """Append arrays of one dtype (and trailing shape) to a temp file; read them back as one."""

    def __init__(self, dtype: Any, row_shape: tuple[int, ...] = ()) -> None:
        self.dtype = np.dtype(dtype)
        self.row_shape = row_shape
        self._file = tempfile.TemporaryFile(prefix="curate-dedup-", suffix=".bin")  # noqa: SIM115 (closed by close())
        self.rows = 0

    def append(self, array: np.ndarray) -> None:
        array = np.ascontiguousarray(array, dtype=self.dtype)
        self._file.write(array.tobytes())
        self.rows += len(array)

    def array(self) -> np.ndarray:
        """All rows as one array (memory-mapped: the OS pages it in as needed)."""
        self._file.flush()
        if self.rows == 0:
            return np.zeros((0, *self.row_shape), dtype=self.dtype)
        mapped = np.memmap(
            self._file, dtype=self.dtype, mode="r", shape=(self.rows, *self.row_shape)
        )
        return np.asarray(mapped)  # a plain ndarray view: memmap's own __getitem__ is slow

    def close(self) -> None:
        self._file.close()
