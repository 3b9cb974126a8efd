"""The quality heuristics, one small function per defect, on plain text.

Each returns ``None`` when the text is fine, or the evidence (a dict, possibly empty) that
explains why it is not. ``curate.filters.quality`` turns them into Verdicts.
"""

from __future__ import annotations

import math
import unicodedata
from typing import Any

from curate.filters.quality_patterns import (
    CODE_CHARS,
    DANGLING,
    INVERTED_OPENERS,
    LIST_ITEM,
    LIST_OPENER,
    SENTENCE_SPLIT,
    SPACELESS_ANY,
    SPACELESS_SCRIPTS,
    SPACES,
    TERMINAL,
)
from curate.text import WORD_RUN, apostrophe_words, ngrams, word_runs

Evidence = dict[str, Any] | None


def word_count(text: str) -> int:
    """Words separated by spaces; in Chinese, Japanese, Thai … characters count as a fraction of a word."""
    if text.isascii() or not SPACELESS_ANY.search(text):
        return len(text.split())
    total = 0
    for token in text.split():
        spaceless = 0.0
        for pattern, chars_per_word in SPACELESS_SCRIPTS:
            n = len(pattern.findall(token))
            spaceless += n / chars_per_word
        total += max(1, math.ceil(spaceless)) if spaceless else 1
    return total


def placeholder(output: str, placeholders: frozenset[str]) -> Evidence:
    """Empty output, whitespace only, punctuation only, or a placeholder such as N/A or <nooutput>."""
    text = output.strip()
    low = text.lower()
    if (
        low.strip(" .!?\"'`") in placeholders
        or low in placeholders
        or not any(c.isalnum() or unicodedata.category(c) == "So" for c in text)  # emoji count
    ):
        return {"output": text[:40]}
    return None


def bad_start(text: str, allow_inverted: bool, allow_digit: bool) -> Evidence:
    """The instruction must begin with a letter (any script); ``¿Qué …`` and ``¡Hola …`` may be allowed."""
    text = text.lstrip()
    if not text:
        return {"first": ""}
    first = text[0]
    if first.isalpha() or (allow_digit and first.isdigit()):
        return None
    if allow_inverted and first in INVERTED_OPENERS and len(text) > 1:
        second = text[1:].lstrip(INVERTED_OPENERS)[:1]
        if second.isalpha():
            return None
    return {"first": first}


def list_start(text: str, allow_digit: bool) -> bool:
    """The instruction opens with a list mark, quote or bracket and then a letter (or a digit,
    when allowed): ``- Name three …``, ``(a) Explain …``, ``"Hello" in French is …``."""
    m = LIST_OPENER.match(text)
    rest = text[m.end() :] if m is not None else ""
    if not rest:
        return False
    return rest[0].isalpha() or (allow_digit and rest[0].isdigit())


def refusal(output: str, phrases: tuple[str, ...], window: int) -> Evidence:
    """A refusal or AI disclaimer beginning within the first ``window`` characters."""
    head = SPACES.sub(" ", output[: window + 60].lower().replace("’", "'"))
    for phrase in phrases:
        at = head.find(phrase)
        if 0 <= at <= window:
            return {"phrase": phrase}
    return None


def echo(output: str, instruction: str, input: str, max_extra_words: int) -> Evidence:
    """The output repeats the instruction (plus a few words) or is the input unchanged."""
    low = output.lower()
    if WORD_RUN.search(low) is None:  # nothing left after normalising
        return None
    inst_words = word_runs(instruction)
    # every word of the normalised instruction is a substring of the lowercased output, or the
    # normalised instruction cannot be inside the normalised output: one cheap test, usually False
    if inst_words and max(inst_words, key=len) in low:
        out_words = word_runs(output)
        extra = len(out_words) - len(inst_words)
        if extra <= max_extra_words and " ".join(inst_words) in " ".join(out_words):
            return {"field": "instruction"}
    if input.strip() and output.split() == input.split():  # equal after collapsing whitespace
        return {"field": "input"}
    return None


def _duplicate_pieces(pieces: list[str], min_sentence_words: int) -> tuple[float, int]:
    """(share of sentences that repeat an earlier one, number of sentences counted)."""
    sentences = []
    for piece in pieces:
        words = word_runs(piece)
        if len(words) >= min_sentence_words:
            sentences.append(" ".join(words))
    if not sentences:
        return 0.0, 0
    return 1 - len(set(sentences)) / len(sentences), len(sentences)


def duplicate_ngram_fraction(words: list[str], n: int) -> float:
    """Gopher's measure: share of characters inside word n-grams that occurred before."""
    if len(words) < 2 * n:
        return 0.0
    grams = list(ngrams(words, n))
    if len(set(grams)) == len(grams):
        return 0.0  # no n-gram occurs twice
    seen: set[tuple[str, ...]] = set()
    covered = [False] * len(words)
    for i, gram in enumerate(grams):
        if gram in seen:
            covered[i : i + n] = [True] * n
        else:
            seen.add(gram)
    total = sum(len(w) for w in words)
    return sum(len(w) for w, c in zip(words, covered, strict=True) if c) / total if total else 0.0


def repetition(
    output: str,
    max_sentence_dup: float,
    min_sentences: int,
    ngram: int,
    max_ngram_dup: float,
    min_words: int,
) -> Evidence:
    """Degenerate loops: many repeated sentences, or many characters inside repeated word n-grams."""
    pieces = SENTENCE_SPLIT.split(output)
    # fewer pieces than the sentences needed: the sentence test cannot fire
    frac, count = _duplicate_pieces(pieces, 3) if len(pieces) >= min_sentences else (0.0, 0)
    if count >= min_sentences and frac > max_sentence_dup:
        return {"duplicate_sentences": round(frac, 3), "sentences": count}
    words = apostrophe_words(output)
    if len(words) >= min_words:
        dup = duplicate_ngram_fraction(words, ngram)
        if dup > max_ngram_dup:
            return {"duplicate_ngram_chars": round(dup, 3), "n": ngram}
    return None


def truncated(
    output: str, min_words: int, min_last_line_words: int, dangling_only: bool = False
) -> Evidence:
    """A long prose output whose last line stops mid-sentence.

    Flagged: the last line ends on a word no sentence ends on ("the", "and", "of" …), or on a
    lowercase word in an output whose other lines end in punctuation. Not flagged: short outputs
    (labels, numbers), outputs ending in punctuation, a closing quote or bracket, a code fence, a
    list item or table row, code or formulas, short last lines such as sign-offs ("Warm wishes,
    \nThe Okafor family"), and outputs written without full stops line after line (gsm8k steps).
    With ``dangling_only`` (the human profile) only the first kind is flagged.
    """
    text = output.rstrip()
    if not text or text[-1] in TERMINAL or "```" in text or word_count(text) < min_words:
        return None
    lines = [line for line in text.split("\n") if line.strip()]
    last = lines[-1]
    if last[:1].isspace() or LIST_ITEM.match(last) or CODE_CHARS.search(last):
        return None
    words = last.split()
    if len(words) < min_last_line_words or not (words[-1].isalpha() and words[-1].islower()):
        return None
    if words[-1] in DANGLING:
        return {"ends_with": last[-40:], "dangling": words[-1]}
    if dangling_only:
        return None
    others = [line.rstrip() for line in lines[:-1]]
    if others and sum(line[-1] in TERMINAL for line in others) * 2 < len(others):
        return None  # a style without full stops, not a cut
    return {"ends_with": last[-40:]}
