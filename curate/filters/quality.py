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
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

from curate.config import option
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
from curate.filters.stage import Stage
from curate.filters.verdict import KEEP, Verdict, drop
from curate.records import Record
from curate.text import lang_code

NAME = "quality"


@dataclass
class QualityConfig:
    enabled: bool = option(
        True, "Run this stage: the heuristic checks below, each with its own reason id."
    )
    empty_output: bool = option(
        True,
        "Drop an output that is empty, only punctuation or a placeholder such as N/A or"
        " <nooutput> (reason empty-output).",
    )
    placeholders: list[str] = option(
        list(PLACEHOLDERS),
        "Outputs that count as empty: the whole output, in any case, surrounding punctuation"
        " ignored.",
    )
    instruction_length: bool = option(
        True,
        "Drop an instruction with fewer than min_instruction_words or more than"
        " max_instruction_words words (instruction-too-short / instruction-too-long).",
    )
    min_instruction_words: int = option(
        3,
        "Fewest words an instruction may have (Chinese, Japanese, Thai …: a few characters"
        " make a word).",
        flag="--min-words",
    )
    max_instruction_words: int = option(
        150, "Most words an instruction may have.", flag="--max-words"
    )
    blacklist: bool = option(
        True,
        "Drop an instruction naming something a text model cannot handle, such as an image or a"
        " video (reason blacklist:<word>); English records only (lang en, or none and a"
        " Latin-script instruction).",
    )
    blacklist_words: list[str] = option(
        list(BLACKLIST),
        "Words and phrases of the blacklist check: whole words, any case, plural s included.",
    )
    bad_start: bool = option(
        True,
        "Drop an instruction that does not start with a letter (reason bad-start); English"
        " records only, as the blacklist.",
    )
    allow_inverted_start: bool = option(
        True, 'bad_start accepts ¿ or ¡ before the first letter ("¿Qué …?", "¡Escribe …!").'
    )
    allow_digit_start: bool = option(
        False, 'bad_start accepts a digit first ("3 ways to …"); Self-Instruct rejects those.'
    )
    allow_list_start: bool = option(
        False,
        'bad_start accepts a list mark, quote or bracket before the first letter ("- Name …",'
        ' "“Hello” in French …", "(a) …"), as human-written sets open; Self-Instruct rejects those.',
    )
    refusal: bool = option(
        True,
        "Drop an output that opens with a refusal or an AI disclaimer, within its first"
        " refusal_window characters (reason refusal).",
    )
    refusal_phrases: list[str] = option(
        list(REFUSALS),
        "Refusal phrases, lowercase with ' as the apostrophe; looked for whatever the instruction.",
    )
    disclaimer_phrases: list[str] = option(
        list(DISCLAIMERS),
        "AI-disclaimer phrases (lowercase); not looked for when the instruction is about AI"
        ' ("Pretend to be an AI language model …").',
    )
    refusal_window: int = option(
        80, "A refusal or disclaimer phrase must begin within this many characters of the output."
    )
    echo: bool = option(
        True,
        "Drop an output that repeats the instruction (plus at most echo_max_extra_words words) or"
        " equals the input (reason echo).",
    )
    echo_max_extra_words: int = option(
        3, "Words an output may add to the repeated instruction and still count as an echo."
    )
    repetition: bool = option(
        True,
        "Drop an output stuck in a loop: too many repeated sentences, or too many characters"
        " inside repeated word n-grams as in Gopher (reason repetition).",
    )
    max_duplicate_sentences: float = option(
        0.4, "Largest share (0-1) of an output's sentences that may repeat an earlier one."
    )
    min_sentences: int = option(
        4, "The repeated-sentence test needs at least this many sentences (of 3 words or more)."
    )
    repetition_ngram: int = option(10, "Words per n-gram of the repeated n-gram test.")
    max_duplicate_ngram_chars: float = option(
        0.5, "Largest share (0-1) of an output's characters that may lie in repeated n-grams."
    )
    repetition_min_words: int = option(
        50, "The repeated n-gram test needs an output of at least this many words."
    )
    truncated: bool = option(
        True,
        "Drop a long prose output whose last line stops mid-sentence, on a lowercase word"
        " (reason truncated).",
    )
    truncated_min_words: int = option(
        20, "Outputs of fewer words are never called truncated (labels, numbers, short answers)."
    )
    truncated_min_last_line_words: int = option(
        5, "A last line of fewer words is never called truncated (sign-offs, names)."
    )
    truncated_dangling_only: bool = option(
        False,
        "Call an output truncated only when its last word is one no sentence ends on (the, and,"
        ' of …): people often leave out the final full stop ("… to pay all of her bills", a'
        " sign-off, a comma list), so a lowercase last word alone is no sign of a cut.",
    )
    missing_context: bool = option(
        True,
        "Drop a record whose category (Dolly's closed_qa …) is in context_categories but whose"
        " input is empty (reason missing-context).",
    )
    context_categories: list[str] = option(
        list(CONTEXT_CATEGORIES),
        "Record categories whose instruction needs an input text to work on.",
    )


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


def english_rules_apply(rec: Record) -> bool:
    """Whether the English-only instruction rules (blacklist, bad start) apply to ``rec``.

    They do for an English record and for one of unknown language unless its instruction is
    mostly in a script other than Latin; never for a record in another language: the blacklist is
    English words (German "Video", Spanish "mapa" mean what they say there), and a Chinese or
    Japanese instruction may open with a bracket (《红楼梦》…, 「…」).
    """
    lang = lang_code(rec.lang)
    if lang is not None:
        return lang == "en"
    text = rec.instruction
    if text.isascii():
        return True
    letters = [c for c in text if c.isalpha()]
    latin = sum(1 for c in letters if c.isascii() or "LATIN" in unicodedata.name(c, ""))
    return not letters or latin * 2 >= len(letters)


def _check_instruction(
    text: str, cfg: QualityConfig, c: _Compiled, english: bool = True
) -> Verdict:
    if cfg.instruction_length:
        n = qc.word_count(text)
        if n < cfg.min_instruction_words:
            return drop("instruction-too-short", NAME, words=n, min=cfg.min_instruction_words)
        if n > cfg.max_instruction_words:
            return drop("instruction-too-long", NAME, words=n, max=cfg.max_instruction_words)
    if cfg.blacklist and c.blacklist is not None and english:
        word = _blacklisted(text, c, cfg.blacklist_words)
        if word is not None:
            return drop(f"blacklist:{word}", NAME, word=word)
    if cfg.bad_start and english:
        ev = qc.bad_start(text, cfg.allow_inverted_start, cfg.allow_digit_start)
        if ev is not None and not _list_start_allowed(text, cfg):
            return drop("bad-start", NAME, **ev)
    return KEEP


def _list_start_allowed(text: str, cfg: QualityConfig) -> bool:
    """allow_list_start: "- Name …", "(a) …", "“Hello” …" begin as their letter (or digit) would."""
    return cfg.allow_list_start and qc.list_start(text, cfg.allow_digit_start)


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
        ev = qc.truncated(
            output,
            cfg.truncated_min_words,
            cfg.truncated_min_last_line_words,
            cfg.truncated_dangling_only,
        )
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
    verdict = _check_instruction(rec.instruction, cfg, c, english_rules_apply(rec))
    if not verdict.keep:
        return verdict
    for i, (prompt, reply, turn) in enumerate(exchanges):
        verdict = _check_output(reply, prompt, rec.input if i == 0 else "", cfg, c, turn)
        if not verdict.keep:
            return verdict
    return KEEP


class QualityStage(Stage):
    name = NAME

    def check(self, batch: list[Record]) -> list[Verdict]:
        compiled = _compiled(self.cfg)
        return [_check_record(rec, self.cfg, compiled) for rec in batch]
