"""Language check: instruction and output must be in the expected language.

Every record gets ``meta["lang_detected"]``. With an expected language (the record's own ``lang``
— a ``lang`` field, or a Bactrian-X file name such as ``es.json`` — else ``LanguageConfig.lang``
from ``--lang``) a record whose instruction or output is confidently in another language is
rejected ``lang-mismatch:<detected>``; a field written in a script its language does not use is
that language however short it is, and a foreign-script fragment is ``mixed-script:<script>``
(curate.filters.language_script). Without one,
languages are only detected and stored. Short texts, names, numbers, code and math are never
classified; outputs of translation tasks are not checked.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

from curate.config import option
from curate.filters import language_detect as ld
from curate.filters.language_batch import batch_langid
from curate.filters.language_script import by_script, mixed_script
from curate.filters.stage import Stage, StageContext
from curate.filters.verdict import KEEP, Verdict, drop
from curate.records import Record
from curate.text import lang_code

NAME = "language"

# An instruction that asks for a translation (lowercased stems): its output is in another language
# on purpose.
TRANSLATION = (
    "translat",
    "traduc",
    "tradui",
    "traduç",
    "traduz",
    "übersetz",
    "uebersetz",
    "vertaal",
    "översätt",
    "oversæt",
    "oversett",
    "przetłumacz",
    "перевед",
    "перевод",
    "翻译",
    "翻譯",
    "翻訳",
    "번역",
    "çevir",
    "terjemah",
    "dịch",
    "ترجم",
    "תרגמ",
    "अनुवाद",
    "แปล",
)


_ASCII_STEMS = tuple(s for s in TRANSLATION if s.isascii())


def asks_translation(instruction: str) -> bool:
    low = instruction.lower()
    # a stem with a non-ASCII letter cannot be inside an ASCII text
    return any(stem in low for stem in (_ASCII_STEMS if low.isascii() else TRANSLATION))


@dataclass
class LanguageConfig:
    enabled: bool = option(
        True,
        "Run this stage: drop a record whose instruction or output is not in lang"
        " (reason lang-mismatch:<detected code>); the detected one goes to meta.lang_detected.",
    )
    lang: str | None = option(
        None,
        "Expected language (ISO 639-1, e.g. es); null: the run's lang (--lang or the input's"
        " name); with none, detect and record only, never drop.",
    )
    max_chars: int = option(
        300, "Characters of each field classified, after code, URLs and numbers are removed."
    )
    min_letters: int = option(
        15, "A field with fewer letters is not classified (too little to tell)."
    )
    min_words: int = option(
        4,
        "A field with fewer ordinary words (lowercase, or in a script without case) is not"
        " classified.",
    )
    confident: float = option(
        0.97,
        "py3langid probability (0-1) needed to drop a record on its word alone; below it, lingua"
        " decides (verify).",
    )
    verify: bool = option(
        True, "Ask lingua when py3langid disagrees with lang without being confident."
    )
    verify_threshold: float = option(
        0.8, "lingua confidence (0-1) needed to drop a record it finds in another language."
    )
    verify_candidates: list[str] = option(
        ["en", "es", "fr", "de", "it", "pt", "nl", "ru", "zh", "ja"],
        "Languages lingua chooses among, besides lang and py3langid's guess (ISO 639-1).",
    )
    skip_translation: bool = option(
        True, 'Leave the output of a "Translate …" instruction unchecked (it is meant to differ).'
    )
    batch_size: int = option(
        1024, "Texts classified together in one batch (speed only; verdicts do not change)."
    )
    script_evidence: bool = option(
        True,
        "Decide a field of any length by its writing system when 80%+ of its letters are in a"
        " script its language does not use (Cyrillic in a zh record: lang-mismatch:ru).",
    )
    mixed_script: bool = option(
        True,
        "Drop a record whose instruction or output mixes in letters of a script foreign to its"
        " language, or a word of Latin and Cyrillic letters (reason mixed-script:<script>).",
    )


class LanguageStage(Stage):
    name = NAME

    def __init__(self, cfg: LanguageConfig, ctx: StageContext | None = None):
        super().__init__(cfg, ctx)
        self.batch_size = cfg.batch_size  # texts classified together in one numpy batch
        self.expected = lang_code(cfg.lang)
        self.langs: Counter[str] = Counter()
        self.detectors: Counter[str] = Counter()
        self.texts = 0
        self.seconds = 0.0

    def expected_of(self, rec: Record) -> str | None:
        """The record's own language (a ``lang`` field, a Bactrian-X file name), else the run's."""
        return lang_code(rec.lang) or self.expected

    def _fields(self, rec: Record) -> list[tuple[str, str]]:
        fields = [("instruction", rec.instruction)]
        if not (self.cfg.skip_translation and asks_translation(rec.instruction)):
            fields.append(("output", rec.output))
        return fields

    def _prepare(
        self, rec: Record, exp: str | None
    ) -> list[tuple[str, str | None, ld.Detection | None]]:
        """(field, cleaned text or None when too short / not prose, the script's verdict or None)."""
        out: list[tuple[str, str | None, ld.Detection | None]] = []
        for name, text in self._fields(rec):
            clean = ld.clean_for_detection(text, self.cfg.max_chars)
            found = by_script(clean, exp) if self.cfg.script_evidence else None
            if found is not None:
                out.append((name, None, ld.Detection(found[0], found[1], "script")))
                continue
            enough = ld.enough_prose(clean, self.cfg.min_letters, self.cfg.min_words)
            out.append((name, clean if enough else None, None))
        return out

    def _decide(self, clean: str, first: ld.Detection, exp: str | None = None) -> ld.Detection:
        """py3langid's answer, or lingua's among a few candidates when it contradicts ``lang`` unsure."""
        exp = exp or self.expected
        if exp is None or first.lang in ld.NO_DETECTION or ld.same_language(exp, first.lang):
            return first
        if first.confidence >= self.cfg.confident or not self.cfg.verify:
            return first
        second = ld.lingua_detect(clean, {exp, first.lang, *self.cfg.verify_candidates})
        return second if second is not None else first

    def mismatch(self, det: ld.Detection, exp: str | None = None) -> bool:
        exp = exp or self.expected
        if exp is None or det.lang in ld.NO_DETECTION or ld.same_language(exp, det.lang):
            return False
        if det.detector == "script":
            return True  # its letters are in a script the expected language does not use
        threshold = self.cfg.verify_threshold if det.detector == "lingua" else self.cfg.confident
        return det.confidence >= threshold

    def detect_many(
        self, texts: list[str], expected: list[str | None] | None = None
    ) -> list[ld.Detection]:
        """Detections for cleaned texts: one numpy batch through py3langid, lingua on doubt
        (``expected``: each text's expected language; None: the stage's)."""
        start = time.perf_counter()
        firsts = [
            ld.Detection(lang_code(lang) or "und", conf, "py3langid")
            for lang, conf in batch_langid().classify(texts)
        ]
        exps = expected if expected is not None else [self.expected] * len(texts)
        found = [
            self._decide(text, first, exp)
            for text, first, exp in zip(texts, firsts, exps, strict=True)
        ]
        self.seconds += time.perf_counter() - start
        self.texts += len(texts)
        return found

    def check(self, recs: list[Record]) -> list[Verdict]:
        """Verdicts for a chunk of records (texts classified together), stored meta["lang_detected"]."""
        exps = [self.expected_of(rec) for rec in recs]
        prepared = [self._prepare(rec, exp) for rec, exp in zip(recs, exps, strict=True)]
        texts, text_exps = [], []
        for fields, exp in zip(prepared, exps, strict=True):
            for _, clean, _ in fields:
                if clean is not None:
                    texts.append(clean)
                    text_exps.append(exp)
        detections = iter(self.detect_many(texts, text_exps))
        skipped = ld.Detection("und", 0.0, "skipped")
        verdicts = []
        for rec, fields, exp in zip(recs, prepared, exps, strict=True):
            dets = [
                (name, pre or (next(detections) if clean is not None else skipped))
                for name, clean, pre in fields
            ]
            verdicts.append(self._verdict(rec, dets, exp))
        return verdicts

    def _verdict(
        self, rec: Record, dets: list[tuple[str, ld.Detection]], exp: str | None
    ) -> Verdict:
        for _, det in dets:
            self.detectors[det.detector] += 1
        for name, det in dets:
            if self.mismatch(det, exp):
                rec.meta["lang_detected"] = det.lang
                self.langs[det.lang] += 1
                conf = round(det.confidence, 3)
                return drop(
                    f"lang-mismatch:{det.lang}",
                    NAME,
                    field=name,
                    detected=det.lang,
                    confidence=conf,
                )
        lang = _record_language([d for _, d in dets], exp)
        rec.meta["lang_detected"] = lang
        self.langs[lang] += 1
        return self._mixed(rec, exp) if self.cfg.mixed_script else KEEP

    def _mixed(self, rec: Record, exp: str | None) -> Verdict:
        """A record in its language with a foreign-script fragment or a Latin+Cyrillic word."""
        if exp is None or asks_translation(rec.instruction):
            return KEEP
        for name, text in self._fields(rec):
            ev = mixed_script(text, exp)
            if ev is not None:
                return drop(f"mixed-script:{ev['script']}", NAME, field=name, **ev)
        return KEEP

    def summary(self) -> dict[str, Any]:
        return {
            "expected": self.expected,
            "detectors": "py3langid (numpy batch), lingua on doubt"
            if self.cfg.verify
            else "py3langid",
            "languages": dict(self.langs.most_common()),
            "texts_classified": self.texts,
            "texts_by_detector": dict(self.detectors),
            "texts_per_s": round(self.texts / self.seconds, 1) if self.seconds else None,
        }


def _record_language(found: list[ld.Detection], expected: str | None) -> str:
    """The record's language: the expected one if a field was in it, else the most confident."""
    langs = [d for d in found if d.lang not in ld.NO_DETECTION]
    if not langs:
        return "und"
    if expected is not None and any(ld.same_language(expected, d.lang) for d in langs):
        return expected
    return max(langs, key=lambda d: d.confidence).lang
