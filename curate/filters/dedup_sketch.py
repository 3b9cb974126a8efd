"""Records → shingle sets and MinHash signatures, a chunk at a time (what a worker process runs)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from curate.filters import minhash as mh
from curate.filters.dedup_text import WORD_BYTE, uses_char_shingles, word_bytes
from curate.records import Record
from curate.text import chars

SHINGLE_MODES = ("auto", "word", "char")


@dataclass(frozen=True)
class ShingleSpec:
    """How a text becomes a set of shingles and a signature."""

    mode: str = (
        "auto"  # auto: char n-grams when the record's (or the configured) lang has no spaces
    )
    word_ngram: int = 5
    char_ngram: int = 5
    lang: str | None = None  # used for records without a lang of their own
    num_perm: int = 128
    seed: int = 1

    def char_mode(self, rec_lang: str | None) -> bool:
        if self.mode == "auto":
            return uses_char_shingles(rec_lang or self.lang)
        return self.mode == "char"

    def char_flags(self, records: list[Record]) -> list[bool]:
        """``char_mode`` of each record, decided once per distinct language."""
        if self.mode != "auto":
            return [self.mode == "char"] * len(records)
        langs = [rec.lang for rec in records]
        decided = {lang: self.char_mode(lang) for lang in set(langs)}
        return list(map(decided.__getitem__, langs))


@dataclass
class Sketch:
    shingles: np.ndarray  # uint32, sorted and distinct per document, flat
    offsets: np.ndarray  # int64, len = documents + 1
    sig: np.ndarray  # (documents × num_perm) uint32
    char_docs: int = 0

    @property
    def sizes(self) -> np.ndarray:
        return np.diff(self.offsets)


def sketch_records(records: list[Record], spec: ShingleSpec) -> Sketch:
    texts = [rec.text() for rec in records]
    return sketch_texts(texts, spec.char_flags(records), spec)


def sketch_texts(texts: list[str], char_flags: list[bool], spec: ShingleSpec) -> Sketch:
    """Shingles (word or character n-grams per document) and signatures of a chunk of texts."""
    char_idx = [k for k, flag in enumerate(char_flags) if flag]
    if not char_idx:
        sh, off = _word_shingles(texts, spec.word_ngram)
    elif len(char_idx) == len(texts):
        sh, off = _char_shingles(texts, spec.char_ngram)
    else:
        word_idx = [k for k, flag in enumerate(char_flags) if not flag]
        parts = [
            (np.array(word_idx), *_word_shingles([texts[k] for k in word_idx], spec.word_ngram)),
            (np.array(char_idx), *_char_shingles([texts[k] for k in char_idx], spec.char_ngram)),
        ]
        sh, off = _interleave(len(texts), parts)
    sig = mh.signatures(sh, off, spec.num_perm, spec.seed)
    return Sketch(sh, off, sig, len(char_idx))


def _word_shingles(texts: list[str], n: int) -> tuple[np.ndarray, np.ndarray]:
    data, starts = word_bytes(texts)
    tokens, offsets = mh.word_hashes(data, starts, WORD_BYTE)
    return mh.ngram_hashes(tokens, offsets, n)


def _char_shingles(texts: list[str], n: int) -> tuple[np.ndarray, np.ndarray]:
    tokens, offsets = mh.char_token_hashes([chars(t) for t in texts])
    return mh.ngram_hashes(tokens, offsets, n)


def _interleave(
    n_docs: int, parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]]
) -> tuple[np.ndarray, np.ndarray]:
    """Put the shingles of document subsets back into document order."""
    counts = np.zeros(n_docs, dtype=np.int64)
    for idx, _, off in parts:
        counts[idx] = np.diff(off)
    offsets = np.zeros(n_docs + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    flat = np.empty(int(offsets[-1]), dtype=np.uint32)
    for idx, sh, off in parts:
        lens = np.diff(off)
        flat[np.repeat(offsets[idx], lens) + mh.ragged_arange(lens)] = sh
    return flat, offsets
