"""`curate convert`: any instruction format in, any out; malformed records to a rejects file."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import chain
from pathlib import Path

from curate.io import AtomicFile, InputError, Reject, read_records, resolve_output, write_records
from curate.io.sources import container_of
from curate.records import Record


@dataclass
class ConvertResult:
    converted: int
    rejected: int
    rejects_path: Path | None


def rejects_path_for(output: str | Path) -> Path:
    out = Path(output)
    return out.with_name(f"{out.stem}.rejects.jsonl")


def convert(
    input: str,
    output: str,
    *,
    from_format: str | None = None,
    to: str | None = None,
    lang: str | None = None,
    strict: bool = False,
) -> ConvertResult:
    resolve_output(output, to)  # fail on a bad --to / extension before reading anything
    rejects_path = rejects_path_for(output)
    container_of(input)  # a missing or unreadable input is named before the outputs are checked
    check_outputs(input, [Path(output), rejects_path])
    rejects = AtomicFile(rejects_path)
    n_rejected = n_converted = 0
    first: Record | None = None

    def records() -> Iterator[Record]:
        nonlocal n_rejected
        for item in read_records(input, from_format, lang=lang, strict=strict):
            if isinstance(item, Reject):
                rejects.file.write(json.dumps(item.to_dict(), ensure_ascii=False) + "\n")
                n_rejected += 1
            else:
                yield item

    try:
        items = records()
        first = next(items, None)  # nothing to convert: leave OUTPUT as it is
        if first is not None:
            n_converted = write_records(output, chain([first], items), to)
    except BaseException:
        rejects.abort()
        raise
    if first is None:
        if n_rejected:
            rejects.commit()
            raise InputError(
                f"{input}: 0 records converted: all {n_rejected:,} rejected "
                f"(file:line and reason of each in {rejects_path}); {output} not written"
            )
        rejects.abort()
        raise InputError(f"{input}: no records to convert; {output} not written")
    if n_rejected:
        rejects.commit()
        return ConvertResult(n_converted, n_rejected, rejects_path)
    rejects.abort()
    rejects_path.unlink(missing_ok=True)  # a stale rejects file from an earlier run would mislead
    return ConvertResult(n_converted, 0, None)


def check_outputs(input: str, outputs: list[Path]) -> None:
    """Refuse, before anything is touched, an output that is the input (by any path to it: a
    symlink, a hard link, ``./x``) or an existing directory."""
    for out in outputs:
        if out.is_dir():
            raise InputError(f"{out}: is a directory; give an output file name")
        if _same_file(input, out):
            raise InputError(
                f"{out}: is the input file {input}; convert never overwrites its input, "
                "write to another file"
            )


def _same_file(a: str | Path, b: str | Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist (or is a hub id, a symlink loop …)
        return os.path.realpath(a) == os.path.realpath(b)
