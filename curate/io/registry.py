"""Every instruction format, one row each: adding a format is its reader and writer (in
formats.py or a file of its own) plus one row here. Names, aliases, detection and the writers
`curate convert --to` knows all come from this table.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from curate.io.formats import (
    RESTORE_KEY,
    Reader,
    RowWriter,
    read_alpaca,
    read_chatml,
    read_dolly,
    read_seed,
    read_sharegpt,
    write_alpaca,
    write_chatml,
    write_dolly,
    write_record,
    write_seed_rows,
    write_sharegpt,
)
from curate.records import Record


@dataclass(frozen=True)
class FormatSpec:
    """One instruction format: how to read a row, how to write one, how to recognise it."""

    name: str
    read: Reader
    write: RowWriter | None  # one row per record …
    detect: Callable[[dict[str, Any]], bool] | None  # does a row of unknown format look like this?
    aliases: tuple[str, ...] = ()
    help: str = ""
    write_rows: Callable[[Iterable[Record]], Iterator[dict[str, Any]]] | None = None  # … or grouped
    priority: int = 0  # detection: higher is tried first (a seed task also has an "instruction")
    conversations: bool = False  # holds a multi-turn conversation whole (else: --multi-turn)


# fmt: off
FORMATS: dict[str, FormatSpec] = {f.name: f for f in [
    FormatSpec("alpaca", read_alpaca, write_alpaca, lambda d: "instruction" in d, ("bactrian", "bactrian-x"), "instruction, input, output (Bactrian-X: + id)"),
    FormatSpec("dolly", read_dolly, write_dolly, lambda d: "response" in d or "context" in d, (), "instruction, context, response, category", priority=1),
    FormatSpec("seed", read_seed, None, lambda d: "instances" in d, ("self-instruct",), "self-instruct seed tasks: instruction, instances[{input, output}]", write_rows=write_seed_rows, priority=4),
    FormatSpec("sharegpt", read_sharegpt, write_sharegpt, lambda d: "conversations" in d, (), "conversations[{from, value}]", priority=3, conversations=True),
    FormatSpec("chatml", read_chatml, write_chatml, lambda d: "messages" in d and "instruction" not in d, ("openai", "messages"), "messages[{role, content}]", priority=2, conversations=True),
    FormatSpec("record", read_alpaca, write_record, None, ("jsonl",), "this tool's lossless Record rows", conversations=True),
]}
# fmt: on


def format_names() -> list[str]:
    """Every name and alias a user may give, for help texts and errors."""
    return list(FORMATS) + sorted(a for f in FORMATS.values() for a in f.aliases)


def canonical_shape(name: str) -> str:
    key = name.lower()
    for spec in FORMATS.values():
        if key == spec.name or key in spec.aliases:
            return spec.name
    raise ValueError(f"unknown format {name!r}; choose one of: {', '.join(format_names())}")


def get_format(name: str) -> FormatSpec:
    return FORMATS[canonical_shape(name)]


def single_turn_formats() -> list[str]:
    """The formats without a place for a conversation (and their aliases), for help texts."""
    return [n for n in format_names() if not get_format(n).conversations]


def detect_shape(data: dict[str, Any]) -> str | None:
    """Guess the format of a row from its field names (None when nothing fits)."""
    for spec in sorted(FORMATS.values(), key=lambda f: -f.priority):
        if spec.detect is not None and spec.detect(data):
            return spec.name
    return None


def rows_from_records(shape: str, records: Iterable[Record]) -> Iterator[dict[str, Any]]:
    """Rows of the given shape; fields the shape loses are stored so reading them back restores them."""
    spec = get_format(shape)
    if spec.write_rows is not None:
        yield from spec.write_rows(records)
        return
    to_row, from_row = spec.write, spec.read
    assert to_row is not None, f"format {shape!r} has no writer"
    for rec in records:
        row = to_row(rec)
        _store_lost_fields(rec, row, from_row)
        yield row


def _store_lost_fields(
    rec: Record, row: dict[str, Any], from_row: Callable[..., list[Record]]
) -> None:
    """Read the row back; whatever differs from the record goes to meta["_fields"]."""
    meta = row.get("meta", {})
    back = from_row(row, meta.get("source", ""), rec.id, None)[0]
    lost = {
        key: getattr(rec, key)
        for key in ("instruction", "input", "output", "messages", "lang")
        if getattr(back, key) != getattr(rec, key)
    }
    if lost:
        row["meta"] = {**meta, RESTORE_KEY: {**meta.get(RESTORE_KEY, {}), **lost}}
