"""`curate convert`: any instruction format in, any out; malformed records to a rejects file."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from curate.io import AtomicFile, Reject, read_records, resolve_output, write_records
from curate.jsonout import dumps
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
    rejects = AtomicFile(rejects_path)
    n_rejected = 0

    def records() -> Iterator[Record]:
        nonlocal n_rejected
        for item in read_records(input, from_format, lang=lang, strict=strict):
            if isinstance(item, Reject):
                rejects.write(dumps(item.to_dict(), ensure_ascii=False) + "\n")
                n_rejected += 1
            else:
                yield item

    try:
        n_converted = write_records(output, records(), to)
    except BaseException:
        rejects.abort()
        raise
    if n_rejected:
        rejects.commit()
        return ConvertResult(n_converted, n_rejected, rejects_path)
    rejects.abort()
    rejects_path.unlink(missing_ok=True)  # a stale rejects file from an earlier run would mislead
    return ConvertResult(n_converted, 0, None)
