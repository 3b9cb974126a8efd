"""The defects AlpacaDataCleaned found in real Alpaca data, as checks: each its own reason, each
switchable, three of them repairable in place.

- ``html-entity``: ``&#x27;``, ``&amp;``, ``&quot;`` … left in the text (not in markup, code or
  text about entities). Repaired by ``html.unescape``.
- ``escape-sequence``: a backslash escape written out as text (``\\n``, ``\\u00e9``, ``\\"``), not
  in code. Repaired by decoding it.
- ``placeholder-input``: an input that says there is none ("N/A", "No input", "<noinput>",
  "none" …). Repaired by emptying the input.
- ``template-leak``: a prompt template's labels inside a field (``### Response:``,
  ``<|im_start|>``, ``[INST]``, a line ``Instruction: …``, an output opening ``Output:``).
- ``merged-instructions``: one instruction holding two numbered tasks ("1. Name three colours.
  2. Write a haiku.", "Task 1: … Task 2: …").
- ``missing-reference``: an output pointing at an image, link or attachment the record does not
  hold ("as shown in the image above", "click here", "[image]").
- ``media-request``: an instruction asking for an image, audio or video, or pointing at one
  (Self-Instruct's blacklist words, read in context; evidence: the word and the words around it).
  Unlike ``quality``'s word-anywhere blacklist it keeps "go to an amusement park" and "a music
  historian": the ``human`` profile uses this one, ``generated`` keeps Self-Instruct's.

Repairs (``cleaned.fix``) keep the record and list each in ``meta.repaired`` (``[{field, kind,
count}]``); stats.json and report.md count them per kind. Looked at: instruction, input and
output; for a conversation, input and every turn (as pii does).

A stage of its own rather than more of ``quality``: these checks repair as well as reject, need
their own switch for profiles, and quality is already at the size where a file splits.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

from curate.config import option
from curate.filters import cleaned_patterns as cp
from curate.filters.cleaned_checks import (
    escape_sequences,
    html_entities,
    is_placeholder_input,
    media_request,
    merged_tasks,
    missing_reference,
    template_leak,
    unescape_sequences,
)
from curate.filters.pii import record_texts
from curate.filters.stage import Stage, StageContext
from curate.filters.verdict import KEEP, Verdict, drop
from curate.records import Record

NAME = "cleaned"
FIXABLE = ("html-entity", "escape-sequence", "placeholder-input")
# the checks over every field, in order: (reason, switch, find, repair)
ESCAPE_CHECKS = (
    ("html-entity", "html_entities", html_entities, html.unescape),
    ("escape-sequence", "escape_sequences", escape_sequences, unescape_sequences),
)


# the help of each check's on/off switch, by reason: one table for the seven (CleanedConfig)
SWITCH_HELP = {
    "html-entity": (
        "Reject (or, with html-entity in fix, unescape) text holding HTML entities such as"
        " &#x27; or &amp; outside markup and code (reason html-entity)."
    ),
    "escape-sequence": (
        "Reject (or, with escape-sequence in fix, decode) backslash escapes written out as text,"
        " such as \\n or \\u00e9, outside code (reason escape-sequence)."
    ),
    "placeholder-input": (
        'Reject (or, with placeholder-input in fix, empty) an input that says there is none: "N/A",'
        ' "No input", "<noinput>" … (reason placeholder-input).'
    ),
    "template-leak": (
        "Reject a record with prompt-template labels inside a field: ### Response:, <|im_start|>,"
        " [INST], a line Instruction: …, an output opening Output: (reason template-leak)."
    ),
    "merged-instructions": (
        'Reject an instruction holding two numbered tasks ("1. … 2. …", "Task 1: … Task 2: …")'
        " (reason merged-instructions)."
    ),
    "missing-reference": (
        'Reject an output pointing at an image, link or attachment the record does not hold ("the'
        ' image above", "click here", "[image]") (reason missing-reference).'
    ),
    "media-request": (
        "Reject an instruction asking for an image, audio or video, or pointing at one (reason"
        " media-request, evidence the word): Self-Instruct's blacklist read in context."
    ),
}


@dataclass
class CleanedConfig:
    enabled: bool = option(
        True, "Run this stage: the AlpacaDataCleaned defect checks below, each its own reason."
    )
    html_entities: bool = option(True, SWITCH_HELP["html-entity"])
    escape_sequences: bool = option(True, SWITCH_HELP["escape-sequence"])
    placeholder_input: bool = option(True, SWITCH_HELP["placeholder-input"])
    placeholder_inputs: list[str] = option(
        list(cp.PLACEHOLDER_INPUTS),
        "Inputs that mean no input: the whole input, any case, outer punctuation ignored.",
    )
    template_leak: bool = option(True, SWITCH_HELP["template-leak"])
    template_markers: list[str] = option(
        list(cp.TEMPLATE_MARKERS),
        "Regular expressions (multi-line: ^ is a line start) of template-leak; any case.",
    )
    merged_instructions: bool = option(True, SWITCH_HELP["merged-instructions"])
    merged_min_words: int = option(
        3, "merged-instructions: words each numbered task has at least (shorter: a list of items)."
    )
    missing_reference: bool = option(True, SWITCH_HELP["missing-reference"])
    media_request: bool = option(True, SWITCH_HELP["media-request"])
    media_nouns: list[str] = option(
        list(cp.MEDIA_REQUEST_NOUNS),
        'media-request: media an instruction may not ask for ("Create a video …", "this image").',
    )
    media_verbs: list[str] = option(
        list(cp.MEDIA_REQUEST_VERBS),
        'media-request: verbs that ask for a picture where they open a clause ("Draw a cat").',
    )
    media_go_to: bool = option(
        True, 'media-request: also "go to the website / page / settings …" (word "go to").'
    )
    fix: list[str] = option(
        [],
        "Reasons repaired in place instead of rejected (listed in meta.repaired): "
        + ", ".join(FIXABLE)
        + ".",
    )

    def validate(self) -> None:
        unknown = [k for k in self.fix if k not in FIXABLE]
        if unknown:
            raise ValueError(f"fix: cannot repair {unknown[0]!r}; repairable: {', '.join(FIXABLE)}")
        for marker in self.template_markers:
            try:
                re.compile(marker)
            except re.error as e:
                raise ValueError(f"template_markers: {marker!r}: {e}") from None


class _Compiled(NamedTuple):
    placeholders: frozenset[str]
    markers: re.Pattern[str] | None
    media: re.Pattern[str] | None
    references: re.Pattern[str]
    marker_hints: tuple[str, ...] | None  # cleaned_checks.may_match: None where not known
    media_hints: tuple[str, ...] | None


@lru_cache(maxsize=16)
def _compile(
    placeholders: tuple[str, ...],
    markers: tuple[str, ...],
    nouns: tuple[str, ...],
    verbs: tuple[str, ...],
) -> _Compiled:
    union = "|".join(f"(?:{m})" for m in markers)
    words = (*nouns, *verbs)  # every match holds one, where neither list is empty
    literal = bool(nouns and verbs) and all(w and w.isascii() for w in words)
    return _Compiled(
        frozenset(p.strip().lower() for p in placeholders),
        re.compile(union, re.IGNORECASE | re.MULTILINE) if markers else None,
        cp.media_request_pattern(nouns, verbs) if nouns or verbs else None,
        re.compile("|".join(cp.REFERENCES), re.IGNORECASE),
        cp.TEMPLATE_HINTS if markers == cp.TEMPLATE_MARKERS else None,
        tuple(w.lower() for w in words) if literal else None,
    )


def _compiled(cfg: CleanedConfig) -> _Compiled:
    return _compile(
        tuple(cfg.placeholder_inputs),
        tuple(cfg.template_markers),
        tuple(cfg.media_nouns),
        tuple(cfg.media_verbs),
    )


# ---------------------------------------------------------------- the stage


class CleanedStage(Stage):
    name = NAME

    def __init__(self, cfg: CleanedConfig, ctx: StageContext | None = None) -> None:
        cfg.validate()
        super().__init__(cfg, ctx)

    def check(self, batch: list[Record]) -> list[Verdict]:
        c = _compiled(self.cfg)
        return [self._check(rec, c) for rec in batch]

    def _check(self, rec: Record, c: _Compiled) -> Verdict:
        cfg = self.cfg
        verdict = self._escapes(rec)
        if not verdict.keep:
            return verdict
        if cfg.placeholder_input and is_placeholder_input(rec.input, c.placeholders):
            if "placeholder-input" not in cfg.fix:
                return drop("placeholder-input", NAME, field="input", text=rec.input.strip()[:40])
            self._repaired(rec, "input", "placeholder-input", 1)
            rec.input = ""
        if cfg.template_leak:
            for name, text in record_texts(rec):
                label = template_leak(text, c.markers, _role(rec, name), c.marker_hints)
                if label is not None:
                    return drop("template-leak", NAME, field=name, label=label[:60])
        if cfg.merged_instructions:
            tasks = merged_tasks(rec.instruction, cfg.merged_min_words)
            if tasks is not None:
                return drop("merged-instructions", NAME, tasks=[t[:80] for t in tasks])
        if cfg.media_request:
            ev = media_request(rec.instruction, rec.input, c.media, cfg.media_go_to, c.media_hints)
            if ev is not None:
                return drop("media-request", NAME, **ev)
        if cfg.missing_reference:
            return self._references(rec, c)
        return KEEP

    def _escapes(self, rec: Record) -> Verdict:
        """html-entity and escape-sequence over every field: rejected, or repaired in place."""
        for kind, switch, find, repair in ESCAPE_CHECKS:
            if not getattr(self.cfg, switch):
                continue
            for name, text in record_texts(rec):
                found = find(text) if text else []
                if not found:
                    continue
                if kind not in self.cfg.fix:
                    return drop(kind, NAME, field=name, text=found[0], count=len(found))
                _set_text(rec, name, repair(text))
                self._repaired(rec, name, kind, len(found))
        return KEEP

    def _references(self, rec: Record, c: _Compiled) -> Verdict:
        for name, text in record_texts(rec):
            if _role(rec, name) != "output":
                continue
            phrase = missing_reference(text, rec.text, c.references, cp.REFERENCE_HINTS)
            if phrase is not None:
                return drop("missing-reference", NAME, field=name, phrase=phrase)
        return KEEP

    def _repaired(self, rec: Record, field: str, kind: str, count: int) -> None:
        rec.meta["repaired"] = [
            *rec.meta.get("repaired", []),
            {"field": field, "kind": kind, "count": count},
        ]
        self.meter.tally[f"repaired:{kind}"] += count


def _role(rec: Record, name: str) -> str:
    """instruction / input / output for a field name; a turn by its speaker."""
    if not name.startswith("messages[") or rec.messages is None:
        return name
    role = rec.messages[int(name[len("messages[") : -1])].get("role")
    return "output" if role == "assistant" else "instruction" if role == "user" else "system"


def _set_text(rec: Record, name: str, text: str) -> None:
    """A field rewritten; a turn through a new list (the reader's stays as read), with the
    instruction / output views following their turns."""
    if name.startswith("messages[") and rec.messages is not None:
        i, turns = int(name[len("messages[") : -1]), rec.messages
        old = turns[i].get("content") or ""
        rec.messages = [*turns[:i], {**turns[i], "content": text}, *turns[i + 1 :]]
        if rec.instruction == old:
            rec.instruction = text
        if rec.output == old:
            rec.output = text
    else:
        setattr(rec, name, text)
