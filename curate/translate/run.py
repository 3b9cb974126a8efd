"""`curate translate`, top to bottom: read the sources, resume the run directory, then for each
target language translate batch after batch, committing every batch before the next starts."""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from curate.backends.base import Backend, redact_url
from curate.config import dump
from curate.filters.verdict import Verdict, rejected_row
from curate.io import AtomicFile, Reject, read_records, write_records
from curate.io.writers import resolve_output
from curate.jsonout import dumps
from curate.records import Record
from curate.text import lang_code
from curate.translate import state as st
from curate.translate.config import TranslateConfig
from curate.translate.engines import make_engine
from curate.translate.translator import Translator


class Listener:
    """What the run tells a progress display; the default says nothing."""

    def started(
        self, langs: list[str], total: int, done: dict[str, int], set_aside: dict
    ) -> None: ...
    def batch_done(self, lang: str, done: int, figures: dict[str, Any]) -> None: ...


@dataclass
class TranslateResult:
    out: Path
    figures: dict[str, dict[str, Any]]  # lang → kept, rejected, by reason, tokens, seconds
    sources: int
    parse_rejects: int = 0
    set_aside: dict[str, int] = field(default_factory=dict)
    exported: list[Path] = field(default_factory=list)


def read_sources(inputs: list[str], limit: int | None) -> tuple[list[Record], list[Reject]]:
    records: list[Record] = []
    rejects: list[Reject] = []
    for path in inputs:
        for item in read_records(path):
            (records if isinstance(item, Record) else rejects).append(item)
            if limit is not None and len(records) >= limit:
                return records, rejects
    return records, rejects


def new_figures() -> dict[str, Any]:
    return {
        "kept": 0,
        "rejected": 0,
        "rejected_by_reason": {},
        "prompt_tokens": 0,
        "completion_tokens": 0,
        "seconds": 0.0,
    }


def run_translate(
    cfg: TranslateConfig,
    inputs: list[str],
    out: Path,
    open_backend: Callable[[TranslateConfig], Backend],
    listener: Listener | None = None,
    hold: Callable[[], AbstractContextManager[Any]] = nullcontext,
) -> TranslateResult:
    listener = listener or Listener()
    if cfg.to:
        resolve_output(out / f"x.{_ext(cfg.to)}", cfg.to)  # a bad --to fails before any work
    sources, parse_rejects = read_sources(inputs, cfg.limit)
    with hold():
        return _run(cfg, inputs, out, open_backend, listener, sources, parse_rejects)


def _run(
    cfg: TranslateConfig,
    inputs: list[str],
    out: Path,
    open_backend: Callable[[TranslateConfig], Backend],
    listener: Listener,
    sources: list[Record],
    parse_rejects: list[Reject],
) -> TranslateResult:
    langs = [lang_code(code) or code for code in cfg.langs]  # ES, es-MX, spa → es
    cfg = dataclasses.replace(cfg, langs=langs, source_lang=lang_code(cfg.source_lang) or "en")
    # the inputs too: "done" counts index into the source list (a larger --limit extends it)
    state, set_aside = st.start_or_resume(out, {**cfg.identity(), "inputs": list(inputs)})
    with AtomicFile(out / "config.yaml") as f:
        f.write(dump(dataclasses.replace(cfg, base_url=redact_url(cfg.base_url))))
    listener.started(langs, len(sources), state.done, set_aside)
    logs = st.Logs(out)
    backend: Backend | None = None
    try:
        if not state.parse_rejects_written:
            logs.append(st.REJECTED, [_parse_row(r) for r in parse_rejects])
            state.parse_rejects_written = True
            logs.commit(state)
        for lang in langs:
            start = state.done.get(lang, 0)
            if start >= len(sources):
                continue
            if backend is None:
                backend = open_backend(cfg)
            translator = _translator(cfg, backend, lang)
            figures = state.counters.setdefault(lang, new_figures())
            for at in range(start, len(sources), cfg.batch_size):
                batch = sources[at : at + cfg.batch_size]
                result = translator.run(batch, cfg.seed * 1_000_003 + at)
                logs.append(f"{lang}.jsonl", [r.to_dict() for r in result.kept])
                logs.append(st.REJECTED, [rejected_row(r, v) for r, v in result.rejected])
                _add(figures, result.kept, result.rejected, result)
                state.done[lang] = at + len(batch)
                logs.commit(state)
                listener.batch_done(lang, state.done[lang], figures)
                _write_stats(out, cfg, state, len(sources), len(parse_rejects))
    finally:
        logs.close()
        if backend is not None:
            backend.close()
    _write_stats(out, cfg, state, len(sources), len(parse_rejects))
    exported = _export(out, cfg, langs)
    return TranslateResult(
        out, {k: state.counters.get(k, new_figures()) for k in langs}, len(sources),
        len(parse_rejects), set_aside, exported,
    )  # fmt: skip


def _translator(cfg: TranslateConfig, backend: Backend, lang: str) -> Translator:
    engine = make_engine(backend, cfg.source_lang, lang, cfg.sampling, cfg.seed)
    hashes = engine.prompt_hashes(cfg.outputs == "generate")
    provenance = {
        "backend": cfg.backend,
        "model": getattr(backend, "model", cfg.model),
        "prompt_sha256": hashes.get("translate/translate.txt"),
        "mode": cfg.outputs,
    }
    if "translate/generate.txt" in hashes:
        provenance["generate_prompt_sha256"] = {
            name: sha for name, sha in hashes.items() if "generate" in name
        }
    return Translator(cfg, engine, lang, provenance)


def _add(
    figures: dict[str, Any], kept: list, rejected: list[tuple[Record, Verdict]], result: Any
) -> None:
    figures["kept"] += len(kept)
    figures["rejected"] += len(rejected)
    reasons = Counter(figures["rejected_by_reason"])
    reasons.update(_reason_id(v) for _, v in rejected)
    figures["rejected_by_reason"] = dict(reasons.most_common())
    figures["prompt_tokens"] += result.prompt_tokens
    figures["completion_tokens"] += result.completion_tokens
    figures["seconds"] = round(figures["seconds"] + result.seconds, 3)


def _reason_id(v: Verdict) -> str:
    """``translate:lost-span`` as it is; another stage's reason with its stage: ``language:lang-mismatch:en``."""
    return v.reason if v.reason.startswith(f"{v.stage}:") else f"{v.stage}:{v.reason}"


def tokens_per_s(figures: dict[str, Any]) -> float | None:
    s = figures.get("seconds") or 0.0
    return round(figures.get("completion_tokens", 0) / s, 1) if s else None


def _parse_row(item: Reject) -> dict[str, Any]:
    return {
        "id": "",
        "source": item.source,
        "raw": item.raw,
        "reject": {
            "stage": "parse",
            "reason": "malformed",
            "evidence": {"source": item.source, "field": item.field, "error": item.error},
        },
    }


def _write_stats(
    out: Path, cfg: TranslateConfig, state: st.TranslateState, sources: int, parse_rejects: int
) -> None:
    langs = {
        lang: {**figs, "done": state.done.get(lang, 0), "tokens_per_s": tokens_per_s(figs)}
        for lang, figs in state.counters.items()
    }
    stats = {
        "sources": sources,
        "parse_rejects": parse_rejects,
        "mode": cfg.outputs,
        "backend": cfg.backend,
        "model": cfg.model,
        "source_lang": cfg.source_lang,
        "languages": langs,
    }
    with AtomicFile(out / "stats.json") as f:
        f.write(dumps(stats, ensure_ascii=False, indent=2) + "\n")


def _ext(to: str) -> str:
    return to if to in ("jsonl", "json", "parquet", "csv") else "json"


def _export(out: Path, cfg: TranslateConfig, langs: list[str]) -> list[Path]:
    """DIR/<lang>.<ext> in the --to format, from the committed DIR/<lang>.jsonl."""
    if not cfg.to:
        return []
    written = []
    for lang in langs:
        target = out / f"{lang}.{_ext(cfg.to)}"
        if target.suffix == ".jsonl" and cfg.to == "jsonl":
            continue  # the log already is that file
        if target.suffix == ".jsonl":
            target = out / f"{lang}.{cfg.to}.jsonl"
        records = (
            r for r in read_records(str(out / f"{lang}.jsonl"), "record") if isinstance(r, Record)
        )
        write_records(target, records, cfg.to)
        written.append(target)
    return written
