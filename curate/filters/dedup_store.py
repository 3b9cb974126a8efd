"""Bounded-memory holding areas for two-pass dedup: records and numpy arrays spill to temp files.

A two-pass stage (near dedup, ``keep: longest``) must see every record before it can answer for
the first one. ``RecordSpill`` keeps up to ``max_in_memory`` records in RAM and pickles the rest in
chunks to a private temp file (pickle, not JSON: ~5× faster, and the file never leaves the process);
``ArrayLog`` appends same-dtype arrays to a temp file and maps them back as one array; ``IdStore``
holds record ids as packed bytes.
"""

from __future__ import annotations

import os
import pickle
import tempfile
from array import array
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


class SpillBudget:
    """Bytes the arrays of one run may hold in RAM; past it every log of the run moves to disk.

    ``limit`` None: never spill (the in-memory path); 0: spill from the first row.
    """

    def __init__(self, limit: int | None) -> None:
        self.limit = limit
        self.logs: list[ArrayLog] = []
        self.in_memory = 0
        self.spilled = False

    def log(self, dtype: Any, row_shape: tuple[int, ...] = ()) -> ArrayLog:
        log = ArrayLog(dtype, row_shape, budget=self)
        self.logs.append(log)
        return log

    def grew(self, nbytes: int) -> None:
        self.in_memory += nbytes
        if not self.spilled and self.limit is not None and self.in_memory > self.limit:
            self.spilled = True
            for log in self.logs:
                log.to_disk()
            self.in_memory = 0

    def close(self) -> None:
        for log in self.logs:
            log.close()


class ArrayLog:
    """Append arrays of one dtype (and trailing shape); read them back as one array.

    Rows stay in RAM until the log's ``SpillBudget`` is exceeded (or from the start without a
    budget), then live in a private temp file that ``array()`` maps back: the OS pages in what a
    reader touches, and a fresh ``array()`` per pass lets the pages of the last one go.
    """

    def __init__(
        self, dtype: Any, row_shape: tuple[int, ...] = (), budget: SpillBudget | None = None
    ) -> None:
        self.dtype = np.dtype(dtype)
        self.row_shape = row_shape
        self.budget = budget
        self._parts: list[np.ndarray] = []
        self._joined: np.ndarray | None = None
        self._file: IO[bytes] | None = None
        self.rows = 0
        if budget is None:
            self.to_disk()

    @property
    def on_disk(self) -> bool:
        return self._file is not None

    def append(self, array: np.ndarray) -> None:
        array = np.ascontiguousarray(array, dtype=self.dtype)
        self.rows += len(array)
        if self._file is not None:
            self._file.write(array.tobytes())
            return
        self._parts.append(array)
        if self.budget is not None:
            self.budget.grew(array.nbytes)

    def to_disk(self) -> None:
        """Move the rows held in RAM to a temp file; later rows are written there."""
        if self._file is None:
            self._file = tempfile.TemporaryFile(prefix="curate-dedup-", suffix=".bin")  # noqa: SIM115 (closed by close())
        parts = [self._joined] if self._joined is not None else self._parts
        for part in parts:
            self._file.write(part.tobytes())
        self._parts, self._joined = [], None

    def array(self) -> np.ndarray:
        """All rows as one array (in RAM, or memory-mapped from the temp file)."""
        if self.rows == 0:
            return np.zeros((0, *self.row_shape), dtype=self.dtype)
        if self._file is None:
            if self._joined is None:
                self._joined = (
                    np.concatenate(self._parts) if len(self._parts) > 1 else self._parts[0]
                )
                self._parts = []
            return self._joined
        self._file.flush()
        mapped = np.memmap(
            self._file, dtype=self.dtype, mode="r", shape=(self.rows, *self.row_shape)
        )
        return np.asarray(mapped)  # a plain ndarray view: memmap's own __getitem__ is slow

    def read_ranges(self, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
        """Rows [starts[k], ends[k]) of every k (sorted, not overlapping), one after another.

        From a spilled log they are read with ``pread`` (ranges that touch read at once), not
        mapped: a mapping's resident pages would grow to the whole file under random reads (the
        kernel maps whole cached folios around each fault), these copies only to what was asked.
        """
        if self._file is None:
            whole = self.array()
            if len(starts) == 0:
                return whole[:0]
            return np.concatenate(
                [whole[a:b] for a, b in zip(starts.tolist(), ends.tolist(), strict=True)]
            )
        self._file.flush()
        joined = np.r_[True, starts[1:] != ends[:-1]] if len(starts) else np.zeros(0, bool)
        run_starts, run_ends = starts[joined], ends[np.r_[joined[1:], True]]
        row = self.dtype.itemsize * int(np.prod(self.row_shape, dtype=np.int64))
        fd = self._file.fileno()
        data = b"".join(
            os.pread(fd, (b - a) * row, a * row)
            for a, b in zip(run_starts.tolist(), run_ends.tolist(), strict=True)
        )
        return np.frombuffer(data, dtype=self.dtype).reshape(-1, *self.row_shape)

    def close(self) -> None:
        self._parts, self._joined = [], None
        if self._file is not None:
            self._file.close()


class IdStore:
    """Record ids by position, as UTF-8 bytes in one buffer plus an offset array: ~(len + 8)
    bytes an id, where a list of ``str`` costs ~70 (what a dedup stage must keep per record to
    name the record a duplicate points to)."""

    def __init__(self) -> None:
        self._buf = bytearray()
        self._ends = array("q")

    def extend(self, ids: Iterable[str]) -> None:
        for rid in ids:
            self._buf += rid.encode("utf-8", "surrogatepass")
            self._ends.append(len(self._buf))

    def __len__(self) -> int:
        return len(self._ends)

    def __getitem__(self, i: int) -> str:
        start = self._ends[i - 1] if i > 0 else 0
        return self._buf[start : self._ends[i]].decode("utf-8", "surrogatepass")
