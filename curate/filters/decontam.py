"""Decontamination: drop records that share a long word n-gram with an evaluation item.

Words are ``curate.text.word_runs`` (the ``\\w+`` runs of the lowercased text). Every n-gram
(default 13 words, as GPT-3's contamination study) of every eval item's whole text (instruction,
input, output) is hashed into one dict; a record sharing any of them is rejected
``contaminated`` with the eval file, the eval item's id and the n-gram. Rule for short eval items:
an item with fewer than ``ngram`` words is indexed as one n-gram of its full length, so a record
containing the whole item word for word still matches.

The index holds one int per distinct n-gram (Python's hash of the tuple of UTF-8 encoded words,
64 bits). It is rebuilt in each process rather than pickled, because hashes differ between
processes.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from curate.config import option
from curate.filters.stage import Stage, StageContext
from curate.filters.verdict import KEEP, Verdict, drop
from curate.io import InputError, read_records
from curate.io.sources import container_of
from curate.records import Record
from curate.text import ngrams, word_runs

NAME = "decontam"


@dataclass
class DecontamConfig:
    enabled: bool = option(
        True,
        "Run this stage: drop a record sharing ngram words in a row with an eval item"
        " (reason contaminated); does nothing without eval_sets.",
    )
    eval_sets: list[str] = option(
        list,
        "Eval set to decontaminate against, in any format `curate convert` reads (repeatable).",
        flag="--eval-set",
    )
    ngram: int = option(
        13,
        "Words in a row shared with an eval item that count as contamination (GPT-3 used 13);"
        " a shorter eval item counts when it appears whole.",
        flag="--decontam-ngram",
    )
    min_short_words: int = option(
        3, "Eval items of fewer words are not indexed (too generic to count as a match)."
    )


# ASCII bytes of a word (\w in an ASCII text: letters, digits, underscore) kept, others → space
_ASCII_WORD = bytes(c if chr(c).isalnum() or c == 0x5F else 0x20 for c in range(128)) + bytes(
    range(128, 256)
)


def word_run_bytes(text: str) -> list[bytes]:
    """``word_runs(text)`` UTF-8 encoded; an ASCII text is split with ``bytes.translate`` (3x faster)."""
    low = text.lower()
    if low.isascii():
        return low.encode("ascii").translate(_ASCII_WORD).split()
    return [w.encode("utf-8", "surrogatepass") for w in word_runs(text)]


class EvalIndex:
    """Hashed n-grams of the eval items → (eval file, eval id)."""

    def __init__(self, eval_sets: list[str], n: int, min_short_words: int):
        self.n = n
        self.index: dict[int, tuple[str, str]] = {}
        self.vocab: set[bytes] = set()  # every word of every indexed n-gram
        self.short_lengths: set[int] = set()
        self.short_firsts: dict[int, set[bytes]] = {}  # length → first words of short items
        self.items: Counter[str] = Counter()
        for path in eval_sets:
            for item in read_records(path):
                if isinstance(item, Record):
                    self.add(path, item, min_short_words)

    def add(self, path: str, item: Record, min_short_words: int) -> None:
        words = word_run_bytes(item.text())
        if len(words) < min_short_words:
            return
        self.items[path] += 1
        self.vocab.update(words)
        if len(words) < self.n:
            self.short_lengths.add(len(words))
            self.short_firsts.setdefault(len(words), set()).add(words[0])
            self.index.setdefault(hash(tuple(words)), (path, item.id))
            return
        for g in ngrams(words, self.n):
            self.index.setdefault(hash(g), (path, item.id))

    def match(self, text: str) -> tuple[str, str, str] | None:
        """(eval file, eval id, n-gram) of the first shared n-gram in ``text``, or None.

        Only n-grams whose words are all in the eval vocabulary can be indexed: a byte per word
        (1 = in the vocabulary) and ``bytes.find`` of k ones locate them, so most records hash
        nothing at all.
        """
        words = word_run_bytes(text)
        known = bytes(map(self.vocab.__contains__, words))
        found = self._find(words, known, self.n, None)
        for k in sorted(self.short_lengths):
            if found is None:
                firsts = bytes(map(self.short_firsts[k].__contains__, words))
                found = self._find(words, known, k, firsts)
        if found is None:
            return None
        path, eval_id, i, k = found
        return path, eval_id, b" ".join(words[i : i + k]).decode("utf-8", "surrogatepass")

    def _find(
        self, words: list[bytes], known: bytes, k: int, firsts: bytes | None
    ) -> tuple[str, str, int, int] | None:
        """The first indexed k-gram: only where k known words follow each other (and, for the few
        short items, where one of their first words starts)."""
        run = b"\x01" * k
        i = known.find(run) if firsts is None else firsts.find(1)
        while i >= 0:
            if firsts is None or known.startswith(run, i):
                h = hash(tuple(words[i : i + k]))
                if h in self.index:
                    path, eval_id = self.index[h]
                    return path, eval_id, i, k
            i = known.find(run, i + 1) if firsts is None else firsts.find(1, i + 1)
        return None


def check_eval_sets(paths: list[str]) -> None:
    """A missing or unreadable eval set is one clear error naming the option, before any work."""
    for path in paths:
        try:
            container_of(path)
        except InputError as e:
            raise InputError(f"--eval-set {e}") from None


class DecontamStage(Stage):
    name = NAME

    def __init__(self, cfg: DecontamConfig, ctx: StageContext | None = None):
        if cfg.ngram < 1:
            raise ValueError(f"decontam.ngram: must be at least 1, got {cfg.ngram}")
        check_eval_sets(cfg.eval_sets)
        super().__init__(cfg, ctx)
        self._index: EvalIndex | None = None
        self.hits: Counter[str] = Counter()  # eval item → records it contaminated

    @property
    def index(self) -> EvalIndex:
        if self._index is None:
            self._index = EvalIndex(self.cfg.eval_sets, self.cfg.ngram, self.cfg.min_short_words)
        return self._index

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_index": None}

    def check(self, batch: list[Record]) -> list[Verdict]:
        if not self.cfg.eval_sets:
            return [KEEP] * len(batch)
        return [self._check(rec) for rec in batch]

    def _check(self, rec: Record) -> Verdict:
        found = self.index.match(rec.text())
        if found is None:
            return KEEP
        path, eval_id, ngram = found
        self.hits[f"{path}#{eval_id}"] += 1
        return drop("contaminated", NAME, eval_file=path, eval_id=eval_id, ngram=ngram)

    def summary(self) -> dict[str, Any]:
        idx = self._index
        return {
            "eval_sets": list(self.cfg.eval_sets),
            "ngram": self.cfg.ngram,
            "eval_items": dict(idx.items) if idx else {},
            "indexed_ngrams": len(idx.index) if idx else 0,
            "contaminated": sum(self.hits.values()),
            "top_eval_items": dict(self.hits.most_common(20)),
        }
