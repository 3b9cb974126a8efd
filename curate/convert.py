"""`curate convert`: any instruction format in, any out; malformed records to a rejects file.

A format without a place for a conversation (alpaca, bactrian, dolly, seed) gets each
multi-turn record as ``--multi-turn`` says (``curate.records.single_turn``): ``split`` (the
default) one record per reply, ``first`` / ``last`` one exchange with the conversation kept in
``meta._fields``. ``keep`` is the only mode of a format that holds conversations.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import chain
from pathlib import Path

from curate.io import AtomicFile, InputError, Reject, read_records, resolve_output, write_records
from curate.io.registry import get_format, single_turn_formats
from curate.io.sources import container_of
from curate.jsonout import dumps
from curate.records import MULTI_TURN, Record, single_turn


@dataclass
class ConvertResult:
    converted: int
    rejected: int
    rejects_path: Path | None
    multi_turn: str = "keep"
    conversations: int = 0  # multi-turn records read
    from_conversations: int = 0  # records written for them

    def turns_note(self) -> str:
        """What became of the conversations, for the summary line ("" when none was changed)."""
        if not self.conversations or self.multi_turn == "keep":
            return ""
        n = f"{self.conversations:,} conversation{'s' if self.conversations != 1 else ''}"
        if self.multi_turn == "split":
            return f"{n} split into {self.from_conversations:,} records (one per reply)"
        return (
            f"{n} → the {self.multi_turn} exchange of each (--multi-turn {self.multi_turn}; "
            "the whole conversation kept in meta._fields)"
        )


def rejects_path_for(output: str | Path) -> Path:
    out = Path(output)
    return out.with_name(f"{out.stem}.rejects.jsonl")


def multi_turn_mode(shape: str, mode: str | None) -> str:
    """The --multi-turn mode for a target format; ValueError for one it cannot take."""
    holds = get_format(shape).conversations
    if mode is None:
        return "keep" if holds else "split"
    key = mode.lower()
    if key not in MULTI_TURN:
        raise ValueError(f"--multi-turn {mode!r}: choose one of {', '.join(MULTI_TURN)}")
    if holds and key != "keep":
        raise ValueError(
            f"--multi-turn {key}: {shape} keeps conversations whole; the mode is for a format "
            f"without a place for them ({', '.join(single_turn_formats())})"
        )
    if not holds and key == "keep":
        raise ValueError(
            f"--multi-turn keep: {shape} has no place for a conversation; choose split, first "
            "or last, or --to sharegpt, chatml or record"
        )
    return key


def convert(
    input: str,
    output: str,
    *,
    from_format: str | None = None,
    to: str | None = None,
    lang: str | None = None,
    strict: bool = False,
    multi_turn: str | None = None,
) -> ConvertResult:
    # fail on a bad --to / extension / --multi-turn before reading anything
    shape, _ = resolve_output(output, to)
    mode = multi_turn_mode(shape, multi_turn)
    rejects_path = rejects_path_for(output)
    container_of(input)  # a missing or unreadable input is named before the outputs are checked
    check_outputs(input, [Path(output), rejects_path])
    rejects = AtomicFile(rejects_path)
    n_rejected = n_converted = n_conversations = n_from_conversations = 0
    first: Record | None = None

    def records() -> Iterator[Record]:
        nonlocal n_rejected, n_conversations, n_from_conversations
        for item in read_records(
            input,
            from_format,
            lang=lang,
            strict=strict,
            format_hint="pass --from (alpaca, dolly, seed, sharegpt, chatml)",
        ):
            if isinstance(item, Reject):
                rejects.write(dumps(item.to_dict(), ensure_ascii=False) + "\n")
                n_rejected += 1
            elif item.messages is None:
                yield item
            else:
                out = single_turn(item, mode)
                n_conversations += 1
                n_from_conversations += len(out)
                yield from out

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
    turns = {
        "multi_turn": mode,
        "conversations": n_conversations,
        "from_conversations": n_from_conversations,
    }
    if n_rejected:
        rejects.commit()
        return ConvertResult(n_converted, n_rejected, rejects_path, **turns)
    rejects.abort()
    rejects_path.unlink(missing_ok=True)  # a stale rejects file from an earlier run would mislead
    return ConvertResult(n_converted, 0, None, **turns)


def check_outputs(input: str, outputs: list[Path]) -> None:
    """Refuse, before anything is touched, an output that is the input (by any path to it: a
    symlink, a hard link, ``./x``) or an existing directory."""
    for out in outputs:
        if out.is_dir():
            raise InputError(f"{out}: Is a directory; a directory is there: give a file path")
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
