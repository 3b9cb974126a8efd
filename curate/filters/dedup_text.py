"""Dedup's view of a record: the fields it compares, its shingle mode, and the batch word buffer.

The words themselves are ``curate.text.folded_words`` (NFKC, casefold, punctuation folded).
``word_bytes`` gives the same words for a whole batch at once as one UTF-8 byte buffer, for the
vectorised word hashing of near dedup: an ASCII text needs no NFKC and no Unicode tables (its
case is folded by ``bytes.lower`` and its separators are found by ``WORD_BYTE``); any other text
is replaced by its ``fold`` form (punctuation and whitespace turned into spaces), so that every
byte >= 0x80 left is part of a word. tests/test_minhash.py checks the split equals ``folded_words``.
"""

from __future__ import annotations

import unicodedata

import numpy as np

from curate.records import Record
from curate.text import fold, lang_code

# Languages written without spaces between words: near dedup shingles them by characters.
NO_SPACE_LANGS = frozenset({"zh", "ja", "th", "ko", "my", "km", "lo", "bo", "dz", "yue", "wuu"})


def _ascii_word_bytes() -> np.ndarray:
    """256 flags: True for a byte that belongs to a word in a folded text.

    A separator is ASCII whitespace (as ``str.split`` sees it) or ASCII punctuation (category P*);
    every byte >= 0x80 of a folded text is part of a non-space, non-punctuation character.
    """
    flags = np.ones(256, dtype=bool)
    for c in range(0x80):
        flags[c] = not (chr(c).isspace() or unicodedata.category(chr(c)).startswith("P"))
    return flags


WORD_BYTE = _ascii_word_bytes()


def word_bytes(texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """All texts as one uint8 buffer (joined by newlines) and each text's start offset in it.

    The runs of ``WORD_BYTE`` bytes in a text's span are exactly ``folded_words(text)``, UTF-8
    encoded.
    """
    parts = list(texts)
    sizes = list(map(len, texts))
    for k, text in enumerate(texts):
        if not text.isascii():  # NFKC + casefold + Unicode punctuation; sizes in UTF-8 bytes
            parts[k] = fold(text)
            sizes[k] = len(parts[k].encode("utf-8"))
    data = "\n".join(parts).encode("utf-8").lower()  # bytes.lower: ASCII letters only
    starts = np.zeros(len(texts), dtype=np.int64)
    if len(texts) > 1:
        np.cumsum(np.array(sizes[:-1], dtype=np.int64) + 1, out=starts[1:])
    return np.frombuffer(data, dtype=np.uint8), starts


def record_fields(rec: Record) -> list[str]:
    """The parts of a record that dedup compares: instruction/input/output, or every chat turn."""
    if rec.messages is not None:
        return [f"{m.get('role', '')}:{m.get('content', '')}" for m in rec.messages]
    return [rec.instruction, rec.input, rec.output]


def uses_char_shingles(lang: str | None) -> bool:
    """Whether ``lang`` (``zh``, ``ja-JP``, ``th`` …) is written without spaces between words."""
    return lang_code(lang, as_given=True) in NO_SPACE_LANGS
