"""One batch of source records → translated records and rejects, for one target language.

Per record: skip what must not be translated (curate.translate.skip); mask the protected spans of
every field (curate.translate.spans); translate all fields of the batch in one call; restore the
spans and check the result (empty, truncated, lost span, length ratio); in ``--outputs generate``
mode let the model write the output in the target language; finally the language stage of `curate
filter`, its language set to the target, rejects wrong-language translations. Every drop is a
Verdict with stage, reason and evidence.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from curate.backends.base import PROMPT_TOO_LONG, Completion
from curate.filters.language import LanguageStage
from curate.filters.verdict import Verdict, drop
from curate.records import Record
from curate.translate.config import TranslateConfig
from curate.translate.engines import EMPTY_LINE
from curate.translate.skip import skip_reason
from curate.translate.spans import Masked, mask, only_spans, restore

STAGE = "translate"
# Characters of a translation per character of English (FLORES-200 averages, rounded).
CHAR_RATIO = {"zh": 0.3, "ja": 0.4, "ko": 0.45, "yue": 0.3, "th": 1.0, "ar": 0.9, "he": 0.85}


@dataclass
class BatchResult:
    kept: list[Record] = field(default_factory=list)
    rejected: list[tuple[Record, Verdict]] = field(default_factory=list)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0


def fields_of(rec: Record, mode: str) -> list[tuple[str, str]]:
    """(key, text) of every non-empty field to translate: ``instruction``, ``messages.3`` …"""
    if rec.messages is not None:
        return [(f"messages.{i}", m.get("content", "")) for i, m in enumerate(rec.messages)]
    keys = ("instruction", "input", "output") if mode == "translate" else ("instruction", "input")
    return [(k, getattr(rec, k)) for k in keys if getattr(rec, k).strip()]


def set_field(rec: Record, key: str, text: str) -> None:
    if key.startswith("messages."):
        assert rec.messages is not None
        rec.messages[int(key.split(".")[1])]["content"] = text
    else:
        setattr(rec, key, text)


def expected_ratio(source: str, target: str) -> float:
    return CHAR_RATIO.get(target, 1.1) / CHAR_RATIO.get(source, 1.0)


class Translator:
    def __init__(self, cfg: TranslateConfig, engine: Any, target: str, provenance: dict[str, Any]):
        self.cfg, self.engine, self.target = cfg, engine, target
        self.provenance = provenance  # backend, model, prompt_sha256, mode, source_lang
        lang_cfg = _with_lang(cfg.language, target)
        self.language = LanguageStage(lang_cfg) if lang_cfg.enabled else None
        self.kinds = frozenset(cfg.checks.protect)

    def target_record(self, src: Record) -> Record:
        """A copy of ``src`` in the target language's file: same id, lang, meta.translation."""
        rec = _copy(src)
        rec.lang = self.target
        rec.meta["translation"] = {
            "source_id": src.id,
            "source_lang": self.cfg.source_lang,
            "target_lang": self.target,
            **self.provenance,
        }
        return rec

    def run(self, sources: list[Record], batch_seed: int) -> BatchResult:
        out = BatchResult()
        t0 = time.perf_counter()
        todo: list[tuple[Record, list[tuple[str, Masked]]]] = []
        for src in sources:
            rec = self.target_record(src)
            verdict = self._skip(src)
            if verdict is not None:
                out.rejected.append((rec, verdict))
                continue
            masked = [
                (key, mask(text, self.kinds)) for key, text in fields_of(src, self.cfg.outputs)
            ]
            todo.append((rec, masked))
        texts = [m.text for _, fields in todo for _, m in fields if not only_spans(m)]
        replies = iter(self.engine.translate(texts, batch_seed) if texts else [])
        done: list[Record] = []
        for rec, fields in todo:
            verdict = self._fill(rec, fields, replies, out)
            if verdict is None:
                done.append(rec)
            else:
                out.rejected.append((rec, verdict))
        if self.cfg.outputs == "generate" and done:
            done = self._generate(done, batch_seed, out)
        self._language(done, out)
        out.seconds = time.perf_counter() - t0
        return out

    def _skip(self, src: Record) -> Verdict | None:
        if self.cfg.outputs == "generate" and src.messages is not None:
            return drop("translate:skip-multi-turn", STAGE, turns=len(src.messages))
        found = skip_reason(src)
        if found is None:
            return None
        reason, evidence = found
        wanted = {
            "translate:skip-translation-task": self.cfg.checks.skip_translation_tasks,
            "translate:skip-english-task": self.cfg.checks.skip_english_tasks,
            "translate:skip-code-only": self.cfg.checks.skip_code_only,
        }
        return drop(reason, STAGE, **evidence) if wanted[reason] else None

    def _fill(
        self, rec: Record, fields: list[tuple[str, Masked]], replies: Any, out: BatchResult
    ) -> Verdict | None:
        """Each field's translation restored into ``rec``; the first failed check, else None."""
        first: Verdict | None = None
        for key, masked in fields:
            source = _restore_source(masked)
            if only_spans(masked):
                set_field(rec, key, source)
                continue
            reply: Completion = next(replies)
            out.prompt_tokens += reply.prompt_tokens
            out.completion_tokens += reply.completion_tokens
            text, lost = restore(reply.text, masked)
            set_field(rec, key, text)
            if first is None:
                first = self._check(key, source, text, reply, lost)
        if rec.messages is not None:  # instruction and output follow the translated turns
            chat = Record.from_messages(rec.id, rec.messages)
            rec.instruction, rec.output = chat.instruction, chat.output
        return first

    def _check(
        self, key: str, source: str, text: str, reply: Completion, lost: list[tuple[str, str]]
    ) -> Verdict | None:
        if not text.strip() or reply.finish_reason == EMPTY_LINE:
            return drop("translate:empty", STAGE, field=key, finish_reason=reply.finish_reason)
        if reply.finish_reason in ("length", PROMPT_TOO_LONG):
            return drop("translate:truncated", STAGE, field=key, finish_reason=reply.finish_reason)
        if lost:
            kind, span = lost[0]
            return drop(
                "translate:lost-span", STAGE, field=key, span=span, kind=kind, lost=len(lost)
            )
        c = self.cfg.checks
        if c.length_ratio and len(source) >= c.length_min_chars:
            expected = expected_ratio(self.cfg.source_lang, self.target)
            ratio = len(text) / len(source)
            if not expected / c.max_length_factor <= ratio <= expected * c.max_length_factor:
                return drop(
                    "translate:length-ratio",
                    STAGE,
                    field=key,
                    ratio=round(ratio, 3),
                    expected=round(expected, 3),
                )
        return None

    def _generate(self, recs: list[Record], batch_seed: int, out: BatchResult) -> list[Record]:
        replies = self.engine.generate([(r.instruction, r.input) for r in recs], batch_seed)
        kept = []
        for rec, reply in zip(recs, replies, strict=True):
            out.prompt_tokens += reply.prompt_tokens
            out.completion_tokens += reply.completion_tokens
            rec.output = reply.text
            rec.meta["translation"]["output_generated"] = True
            if not reply.text.strip():
                out.rejected.append((rec, drop("translate:empty", STAGE, field="output")))
            elif reply.finish_reason in ("length", PROMPT_TOO_LONG):
                verdict = drop(
                    "translate:truncated", STAGE, field="output", finish_reason=reply.finish_reason
                )
                out.rejected.append((rec, verdict))
            else:
                kept.append(rec)
        return kept

    def _language(self, recs: list[Record], out: BatchResult) -> None:
        if self.language is None:
            out.kept.extend(recs)
            return
        for rec, verdict in zip(recs, self.language.check(recs), strict=True):
            if verdict.keep:
                out.kept.append(rec)
            else:
                out.rejected.append((rec, verdict))


def _restore_source(masked: Masked) -> str:
    return restore(masked.text, masked)[0]


def _with_lang(cfg: Any, lang: str) -> Any:
    import dataclasses

    return dataclasses.replace(cfg, lang=lang)


def _copy(src: Record) -> Record:
    d = src.to_dict()
    return Record(
        id=d["id"],
        instruction=d["instruction"],
        input=d["input"],
        output=d["output"],
        messages=d.get("messages"),
        lang=d.get("lang"),
        meta=d["meta"],
    )
