"""Read any instruction set into Records; write Records into any format.

>>> for item in read_records("data/samples/dolly.jsonl"):
...     ...  # a Record, or a Reject naming file:line and field
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from curate.io.errors import FieldError, InputError, Reject, StrictError
from curate.io.registry import FORMATS, canonical_shape, detect_shape
from curate.io.sources import Row, container_of, iter_rows
from curate.io.writers import AtomicFile, resolve_output, write_jsonl_atomic, write_records
from curate.records import Record
from curate.text import lang_from_name

__all__ = [
    "AtomicFile",
    "InputError",
    "Reject",
    "StrictError",
    "lang_from_path",
    "read_records",
    "resolve_output",
    "write_jsonl_atomic",
    "write_records",
]


def lang_from_path(path: str) -> str | None:
    """The language a file is named after (``es.json`` → ``es``), or a hub id's ``:config``;
    only a Bactrian-X language code counts, and for a file not one that is also a common word
    (``my.jsonl`` is not Burmese): see curate.text.lang_from_name."""
    if container_of(path) == "hub":
        return lang_from_name(path.partition(":")[2], words_allowed=True)
    return lang_from_name(Path(path).stem)


# What to do about a file whose fields match no format, for commands without --from.
FORMAT_HINT = (
    "rename its fields to those of a format curate reads (alpaca: instruction, input, output; "
    "dolly: instruction, context, response; seed; sharegpt; chatml; record)"
)


def read_records(
    path: str,
    fmt: str | None = None,
    *,
    lang: str | None = None,
    strict: bool = False,
    split: str | None = None,
    format_hint: str | None = None,
) -> Iterator[Record | Reject]:
    """Every record of ``path`` as a Record, or as a Reject when it is malformed.

    ``fmt`` overrides the format detected from the first row's fields. ``lang`` (else the file
    name, as Bactrian-X names its files) sets Record.lang. With ``strict`` the first malformed
    record raises StrictError instead of being yielded as a Reject. ``format_hint`` ends the
    error for a file whose format cannot be told (a command with --from says so).
    """
    shape = canonical_shape(fmt) if fmt else None
    lang = lang or lang_from_path(path)
    stem = Path(path.partition(":")[0]).stem or "record"
    for count, row in enumerate(iter_rows(path, hub_config=lang, split=split), 1):
        if row.data is not None and shape is None:
            shape = detect_shape(row.data)
            if shape is None:
                raise InputError(
                    f"{row.source}: cannot tell the format from fields {sorted(row.data)}; "
                    + (format_hint or FORMAT_HINT)
                )
        for item in _records_of(row, shape, f"{stem}-{count}", lang):
            if strict and isinstance(item, Reject):
                raise StrictError(item)
            yield item


def _records_of(
    row: Row, shape: str | None, fallback_id: str, lang: str | None
) -> list[Record | Reject]:
    if row.reject is not None or row.data is None or shape is None:
        return [row.reject or Reject(row.source, "unreadable row", "", row.raw)]
    try:
        return list(FORMATS[shape].read(row.data, row.source, fallback_id, lang))
    except FieldError as e:
        return [Reject(row.source, e.message, e.field, row.raw or _dump(row.data))]


def _dump(data: dict) -> str:
    import json

    return json.dumps(data, ensure_ascii=False, default=str)
