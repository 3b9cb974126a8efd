"""Quality heuristics: each one switchable, each with its own reason id.

Instruction checks (``check_instruction``, also used by the generate loop): word-count bounds,
self-instruct's keyword blacklist, a start that is not a letter. Output checks: empty or
placeholder, refusal / AI disclaimer, echo of the instruction or input, degenerate repetition,
cut off mid-sentence; and Dolly categories that need a context but have none.

A multi-turn record is checked on its first user turn as the instruction and on every
assistant turn as an output (echo against the user turn before it).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, NamedTuple

from curate.filters import quality_checks as qc
from curate.filters.quality_patterns import (
    ABOUT_AI,
    BLACKLIST,
    CONTEXT_CATEGORIES,
    DISCLAIMERS,
    PLACEHOLDERS,
    REFUSALS,
    blacklist_cores,
    blacklist_lower_pattern,
    blacklist_pattern,
    phrases_pattern,
)
from curate.filters.verdict import KEEP, Verdict, drop
from curate.records import Record

NAME = "quality"


@dataclass
class QualityConfig:
    enabled: bool = True
    # empty or placeholder output ("", "N/A", "<nooutput>", "none", whitespace …) → "empty-output"
    empty_output: bool = True
    placeholders: list[str] = field(default_factory=lambda: list(PLACEHOLDERS))
    # instruction word count outside [min, max] → "instruction-too-short" / "instruction-too-long"
    instruction_length: bool = True
    min_instruction_words: int = 3
    max_instruction_words: int = 150
    # a blacklisted word in the instruction → "blacklist:<word>"
    blacklist: bool = True
    blacklist_words: list[str] = field(default_factory=lambda: list(BLACKLIST))
    # instruction not starting with a letter → "bad-start"
    bad_start: bool = True
    allow_inverted_start: bool = True  # "¿Qué …?", "¡Escribe …!"
    allow_digit_start: bool = False  # self-instruct rejects "3 ways to …"
    # refusal or AI disclaimer starting within the first `refusal_window` characters → "refusal"
    refusal: bool = True
    refusal_phrases: list[str] = field(default_factory=lambda: list(REFUSALS))
    disclaimer_phrases: list[str] = field(
        default_factory=lambda: list(DISCLAIMERS)
    )  # skipped when the
    # instruction is about AI ("Pretend to be an AI language model …")
    refusal_window: int = 80
    # output = instruction (+ at most `echo_max_extra_words`), or output = input → "echo"
    echo: bool = True
    echo_max_extra_words: int = 3
    # repeated sentences / repeated word n-grams (Gopher) → "repetition"
    repetition: bool = True
    max_duplicate_sentences: float = 0.4
    min_sentences: int = 4
    repetition_ngram: int = 10
    max_duplicate_ngram_chars: float = 0.5
    repetition_min_words: int = 50
    # long prose output ending on a lowercase word → "truncated"
    truncated: bool = True
    truncated_min_words: int = 20
    truncated_min_last_line_words: int = 5
    # meta["category"] needs a context but the input is empty → "missing-context"
    missing_context: bool = True
    context_categories: list[str] = field(default_factory=lambda: list(CONTEXT_CATEGORIES))


class _Compiled(NamedTuple):
    """Lookups and patterns built once per distinct config (a worker process builds its own)."""

    placeholders: frozenset[str]
    blacklist: re.Pattern[str] | None
    refusals: tuple[str, ...]
    disclaimers: tuple[str, ...]
    categories: frozenset[str]
    # fast paths giving the same answers: the blacklist on lowercased ASCII text (None: not
    # available) behind a substring pre-check, and any refusal or disclaimer phrase at all
    blacklist_lower: re.Pattern[str] | None
    blacklist_cores: tuple[str, ...]
    any_refusal: re.Pattern[str]


@lru_cache(maxsize=16)
def _compile(
    placeholders: tuple[str, ...],
    blacklist: tuple[str, ...],
    refusals: tuple[str, ...],
    disclaimers: tuple[str, ...],
    cats: tuple[str, ...],
) -> _Compiled:
    refusal_phrases = tuple(p.lower().replace("’", "'") for p in refusals)
    disclaimer_phrases = tuple(p.lower().replace("’", "'") for p in disclaimers)
    return _Compiled(
        frozenset(p.strip().lower() for p in placeholders),
        blacklist_pattern(blacklist) if blacklist else None,
        refusal_phrases,
        disclaimer_phrases,
        frozenset(cats),
        blacklist_lower_pattern(blacklist) if blacklist else None,
        blacklist_cores(blacklist),
        phrases_pattern(refusal_phrases + disclaimer_phrases),
    )


def _compiled(cfg: QualityConfig) -> _Compiled:
    return _compile(
        tuple(cfg.placeholders),
        tuple(cfg.blacklist_words),
        tuple(cfg.refusal_phrases),
        tuple(cfg.disclaimer_phrases),
        tuple(cfg.context_categories),
    )


def first_blacklisted(text: str, pattern: re.Pattern[str], words: list[str]) -> str | None:
    """The first blacklisted word by position, in its listed (singular) form."""
    m = pattern.search(text)
    if m is None:
        return None
    return words[m.lastindex - 1] if m.lastindex else m.group(0).lower()


def _blacklisted(text: str, c: _Compiled, words: list[str]) -> str | None:
    """``first_blacklisted`` with its fast path: an ASCII text with none of the words' pieces in it
    cannot match; otherwise the lowercase pattern on the lowercased text finds the same word."""
    assert c.blacklist is not None
    if c.blacklist_lower is None or not text.isascii():
        return first_blacklisted(text, c.blacklist, words)
    low = text.lower()
    for core in c.blacklist_cores:
        if core in low:
            return first_blacklisted(low, c.blacklist_lower, words)
    return None


def check_instruction(text: str, cfg: QualityConfig) -> Verdict:
    """Instruction-only checks: length bounds, blacklist, bad start."""
    return _check_instruction(text, cfg, _compiled(cfg))


def _check_instruction(text: str, cfg: QualityConfig, c: _Compiled) -> Verdict:
    if cfg.instruction_length:
        n = qc.word_count(text)
        if n < cfg.min_instruction_words:
            return drop("instruction-too-short", NAME, words=n, min=cfg.min_instruction_words)
        if n > cfg.max_instruction_words:
            return drop("instruction-too-long", NAME, words=n, max=cfg.max_instruction_words)
    if cfg.blacklist and c.blacklist is not None:
        word = _blacklisted(text, c, cfg.blacklist_words)
        if word is not None:
            return drop(f"blacklist:{word}", NAME, word=word)
    if cfg.bad_start:
        ev = qc.bad_start(text, cfg.allow_inverted_start, cfg.allow_digit_start)
        if ev is not None:
            return drop("bad-start", NAME, **ev)
    return KEEP


def _exchanges(rec: Record) -> list[tuple[str, str, int | None]]:
    """(prompt, reply, turn index) for every assistant turn; one exchange for a single-turn record."""
    if rec.messages is None:
        return [(rec.instruction, rec.output, None)]
    out, prompt = [], ""
    for i, m in enumerate(rec.messages):
        if m["role"] == "user":
            prompt = m["content"]
        elif m["role"] == "assistant":
            out.append((prompt, m["content"], i))
    return out or [(rec.instruction, "", None)]


def _refusals(c: _Compiled, prompt: str) -> tuple[str, ...]:
    return c.refusals if ABOUT_AI.search(prompt) else c.refusals + c.disclaimers


def _output_evidence(
    output: str, prompt: str, input: str, cfg: QualityConfig, c: _Compiled
) -> tuple[str, qc.Evidence]:
    """(reason, evidence) of the first output check that fails, or ("", None)."""
    if cfg.empty_output:
        ev = qc.placeholder(output, c.placeholders)
        if ev is not None:
            return "empty-output", ev
    if cfg.refusal:
        head = output[: cfg.refusal_window + 60].lower().replace("’", "'")
        if c.any_refusal.search(head) is not None:  # else no phrase is anywhere in the head
            ev = qc.refusal(output, _refusals(c, prompt), cfg.refusal_window)
            if ev is not None:
                return "refusal", ev
    if cfg.echo:
        ev = qc.echo(output, prompt, input, cfg.echo_max_extra_words)
        if ev is not None:
            return "echo", ev
    if cfg.repetition:
        ev = qc.repetition(
            output,
            cfg.max_duplicate_sentences,
            cfg.min_sentences,
            cfg.repetition_ngram,
            cfg.max_duplicate_ngram_chars,
            cfg.repetition_min_words,
        )
        if ev is not None:
            return "repetition", ev
    if cfg.truncated:
        ev = qc.truncated(output, cfg.truncated_min_words, cfg.truncated_min_last_line_words)
        if ev is not None:
            return "truncated", ev
    return "", None


def _check_output(
    output: str, prompt: str, input: str, cfg: QualityConfig, c: _Compiled, turn: int | None
) -> Verdict:
    reason, ev = _output_evidence(output, prompt, input, cfg, c)
    if ev is None:
        return KEEP
    return drop(reason, NAME, **ev, **({} if turn is None else {"turn": turn}))


def check_record(rec: Record, cfg: QualityConfig) -> Verdict:
    """Every enabled heuristic, cheapest and most certain first; the first failure is the verdict."""
    return _check_record(rec, cfg, _compiled(cfg))


def _check_record(rec: Record, cfg: QualityConfig, c: _Compiled) -> Verdict:
    exchanges = _exchanges(rec)
    if cfg.empty_output:
        for _, reply, turn in exchanges:
            ev = qc.placeholder(reply, c.placeholders)
            if ev is not None:
                return drop("empty-output", NAME, **ev, **({} if turn is None else {"turn": turn}))
    if cfg.missing_context and not rec.input.strip():
        category = rec.meta.get("category")
        if isinstance(category, str) and category in c.categories:
            return drop("missing-context", NAME, category=category)
    verdict = _check_instruction(rec.instruction, cfg, c)
    if not verdict.keep:
        return verdict
    for i, (prompt, reply, turn) in enumerate(exchanges):
        verdict = _check_output(reply, prompt, rec.input if i == 0 else "", cfg, c, turn)
        if not verdict.keep:
            return verdict
    return KEEP


class QualityStage:
    name: str = NAME

    def __init__(self, cfg: QualityConfig, **runtime: Any):
        self.cfg = cfg
        self.counts: Counter[str] = Counter()
        self.seen = 0

    def __call__(self, records: Iterable[Record]) -> Iterator[tuple[Record, Verdict]]:
        compiled = _compiled(self.cfg)
        for rec in records:
            verdict = _check_record(rec, self.cfg, compiled) if self.cfg.enabled else KEEP
            self.seen += 1
            if not verdict.keep:
                self.counts[verdict.reason] += 1
            yield rec, verdict

    def summary(self) -> dict[str, Any]:
        return {"checked": self.seen, "rejected": dict(self.counts.most_common())}
