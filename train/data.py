"""Records → token ids and labels: render the template, mask all but the replies, end with EOS.

The masked and learned spans (the prompt, each assistant reply, the turns between them) are
tokenized separately and concatenated, so the boundary between masked and learned tokens is
exact. Every example ends with the tokenizer's EOS token, so the
model learns to stop (the seed alpaca-lora run never did).
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from curate.io import AtomicFile, InputError, Reject, read_records
from curate.io.sources import JSON_SUFFIXES, TABULAR_SUFFIXES
from curate.jsonout import dumps
from curate.records import Record
from curate.render import render_spans

IGNORE = -100  # the label value PyTorch's cross-entropy skips


class DataError(ValueError):
    """Bad training data: one line naming the field or file."""


@dataclass
class Example:
    input_ids: list[int]
    labels: list[int]
    source: str = ""

    def __len__(self) -> int:
        return len(self.input_ids)


@dataclass
class TrainingData:
    train: list[Example]
    val: list[Example]
    records: int = 0
    rejected: int = 0
    too_long: int = 0
    rejects_path: Path | None = None
    notes: list[str] = field(default_factory=list)


def expand_paths(paths: Iterable[str]) -> Iterator[str]:
    """Files as given; a plain directory → the data files inside it (a save_to_disk dir stays whole)."""
    known = JSON_SUFFIXES | TABULAR_SUFFIXES
    for path in paths:
        p = Path(path)
        is_saved = any(
            (p / n).exists() for n in ("dataset_info.json", "state.json", "dataset_dict.json")
        )
        if p.is_dir() and not is_saved:
            found = sorted(
                str(f) for f in p.rglob("*") if f.is_file() and f.suffix.lower() in known
            )
            if not found:
                raise DataError(
                    f"data: {path}: directory holds no .json/.jsonl/.parquet/.csv files"
                )
            yield from found
        else:
            yield path


def read_training_records(paths: list[str], fmt: str | None) -> tuple[list[Record], list[Reject]]:
    records: list[Record] = []
    rejects: list[Reject] = []
    for path in expand_paths(paths):
        try:
            for item in read_records(path, fmt):
                (rejects if isinstance(item, Reject) else records).append(item)  # type: ignore[arg-type]
        except InputError as e:
            raise DataError(f"data: {e}") from None
    return records, rejects


def check_tokenizer(tokenizer: Any, where: str) -> None:
    if tokenizer.eos_token_id is None:
        raise DataError(
            f"{where}: the tokenizer has no eos_token; set one in tokenizer_config.json"
        )


def tokenize(
    rec: Record,
    template: str,
    tokenizer: Any,
    completion_only: bool = True,
    train_on: str = "all_assistant",
) -> Example:
    """One record → ids and labels: -100 on the prompt, the user/system turns and any reply not
    learned (``train_on``, curate/render.py); the last token is EOS."""
    spans = render_spans(rec, template, tokenizer, train_on)
    eos = tokenizer.eos_token_id
    input_ids: list[int] = []
    labels: list[int] = []
    for i, (text, learned) in enumerate(spans):
        if i == 0:
            # the chat_template writes BOS itself; the plain templates let the tokenizer add it
            ids = tokenizer(text, add_special_tokens=template != "tokenizer")["input_ids"]
            if ids and ids[-1] == eos:  # a tokenizer that appends EOS to every text
                ids = ids[:-1]
        else:
            ids = tokenizer(text, add_special_tokens=False)["input_ids"]
        if i == len(spans) - 1 and (not ids or ids[-1] != eos):
            ids = [*ids, eos]
        input_ids += ids
        labels += ids if learned or not completion_only else [IGNORE] * len(ids)
    return Example(input_ids, labels, rec.meta.get("source", rec.id))


def split(
    examples: list[Example], val_size: float, seed: int
) -> tuple[list[Example], list[Example]]:
    """Shuffle once with ``seed``; hold out a share (<1) or a count (>=1), never every example."""
    order = list(examples)
    random.Random(seed).shuffle(order)
    n_val = round(len(order) * val_size) if val_size < 1 else int(val_size)
    n_val = min(n_val, len(order) - 1) if len(order) > 1 else 0
    return order[n_val:], order[:n_val]


def write_rejects(path: Path, rejects: list[Reject]) -> None:
    with AtomicFile(path) as f:
        for r in rejects:
            f.write(dumps(r.to_dict(), ensure_ascii=False) + "\n")


def build(cfg: Any, tokenizer: Any) -> TrainingData:
    """Read, render, tokenize, drop over-long examples and split; DataError before any model loads."""
    check_tokenizer(tokenizer, f"base_model: {cfg.base_model}")
    records, rejects = read_training_records(cfg.data, cfg.data_format)
    rejects_path = None
    if rejects:
        rejects_path = Path(cfg.output_dir) / "data_rejects.jsonl"
        write_rejects(rejects_path, rejects)
    if not records:
        extra = f" ({len(rejects)} malformed → {rejects_path})" if rejects else ""
        raise DataError(f"data: no training records in {', '.join(cfg.data)}{extra}")
    try:
        examples = [
            tokenize(r, cfg.template, tokenizer, cfg.completion_only, cfg.train_on) for r in records
        ]
    except ValueError as e:  # e.g. template 'tokenizer' without a chat_template
        raise DataError(f"template: {e}") from None
    fitting = [e for e in examples if len(e) <= cfg.max_seq_len]
    if not fitting:
        shortest = min(len(e) for e in examples)
        raise DataError(
            f"max_seq_len: {cfg.max_seq_len} is shorter than every example "
            f"(the shortest is {shortest} tokens); raise max_seq_len"
        )
    train, val = split(fitting, cfg.val_size, cfg.seed)
    data = TrainingData(
        train, val, len(records), len(rejects), len(examples) - len(fitting), rejects_path
    )
    if data.too_long:
        data.notes.append(
            f"{data.too_long} examples longer than max_seq_len={cfg.max_seq_len} skipped"
        )
    if rejects:
        data.notes.append(f"{len(rejects)} malformed records → {rejects_path}")
    return data
