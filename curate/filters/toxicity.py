"""Toxicity: detoxify scores per label, batched; the bundled profanity check when offline.

A record is scored on all its text (instruction, input, output; every turn of a conversation),
truncated to ``max_chars``. Scores go to ``meta["toxicity"]`` ({label: score}) on every record,
kept or not; a record with a label at or above its threshold is rejected ``toxic:<label>``
(the highest-scoring such label). When detoxify cannot be had (offline, no checkpoint) the
stage says so once, before any work, and falls back to alt-profanity-check (``toxic:profanity``).
With ``prefilter`` the profanity check also runs in front of detoxify: what it flags is
rejected without a detoxify pass.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Any

from curate.config import option
from curate.filters import toxicity_models as tm
from curate.filters.stage import Stage, StageContext
from curate.filters.verdict import KEEP, Verdict, drop
from curate.records import Record

NAME = "toxicity"
HIST_BINS = 20
FIX_HINT = (
    "pass --toxicity-checkpoint PATH (a detoxify .ckpt) and --toxicity-config DIR "
    "(its tokenizer/config directory) to use detoxify offline"
)


def _default_thresholds() -> dict[str, float]:
    labels = ("toxicity", "severe_toxicity", "obscene", "threat", "insult", "identity_attack")
    return {label: 0.5 for label in (*labels, "sexual_explicit")}


def _innocent_phrases() -> list[str]:
    """alt-profanity-check reads character n-grams: "A vampire needs to suck 7 gallons of blood"
    scored 0.98 (GSM8K). Senses of "suck" that are about liquids, air and vacuum cleaners."""
    return [
        r"\bsuck(?:s|ed|ing)?\b(?=(?:\W+\w+){0,4}?\W+(?:blood|air|water|juice|nectar|sap|milk|dust|dirt))",
        r"\bblood-?suck\w*",
        r"\bvacuums?\b[^.?!]{0,40}?\bsuck(?:s|ed|ing)?\b",
    ]


@dataclass
class ToxicityConfig:
    enabled: bool = option(
        True,
        "Run this stage: drop a record a toxicity model scores at or above a label's threshold"
        " (reason toxic:<label>).",
    )
    model: str = option(
        "original",
        "Detoxify model: original, unbiased (both English) or multilingual.",
        flag="--toxicity-model",
    )
    checkpoint: str | None = option(
        None,
        "Local detoxify checkpoint (.ckpt), for offline use; without one detoxify downloads it.",
        flag="--toxicity-checkpoint",
    )
    huggingface_config_path: str | None = option(
        None,
        "Tokenizer/config directory for the checkpoint.",
        flag=("--toxicity-config", "--toxicity-config-dir"),
    )
    device: str = option("cpu", "Torch device detoxify runs on: cpu, cuda, cuda:1 …")
    # on 2 cores one thread was 10-50x faster than two for small models
    torch_threads: int = option(1, "Torch CPU threads for detoxify.")
    batch_size: int = option(64, "Texts scored together in one detoxify batch.")
    thresholds: dict[str, float] = option(
        _default_thresholds,
        "Score (0-1) at or above which a detoxify label drops a record, per label.",
    )
    default_threshold: float = option(0.5, "Threshold of a label missing from thresholds.")
    max_chars: int = option(2000, "Characters scored from the start of each record's text.")
    prefilter: bool = option(
        False,
        "Score every text with alt-profanity-check first; only those below profanity_threshold"
        " go to detoxify.",
    )
    profanity_threshold: float = option(
        0.85,
        "alt-profanity-check score (0-1) that drops a record as toxic:profanity (prefilter, or"
        " the fallback when detoxify is unavailable).",
    )
    profanity_innocent: list[str] = option(
        _innocent_phrases,
        "Regular expressions (any case) of innocent uses of words alt-profanity-check scores as"
        " profanity (a vampire sucks blood): blanked out before it scores a text.",
    )
    connect_timeout: float = option(
        3.0,
        "Seconds to wait when checking that detoxify's checkpoint can be downloaded; else"
        " alt-profanity-check is used.",
    )


class ToxicityStage(Stage):
    name = NAME

    def __init__(self, cfg: ToxicityConfig, ctx: StageContext | None = None):
        if cfg.model not in tm.DETOXIFY_MODELS:
            raise ValueError(
                f"toxicity.model: {cfg.model!r} is not one of {', '.join(tm.DETOXIFY_MODELS)}"
            )
        super().__init__(cfg, ctx)
        self.batch_size = cfg.batch_size
        self.hist: dict[str, list[int]] = {}
        self.texts = 0
        self.seconds = 0.0
        self.detox: tm.DetoxifyScorer | None = None
        self.profanity: tm.ProfanityScorer | None = None
        self.fallback: str | None = None
        if cfg.enabled:
            self._load()

    def _load(self) -> None:
        cfg = self.cfg
        tm.check_paths(cfg.checkpoint, cfg.huggingface_config_path)
        self.fallback = tm.detoxify_unavailable(
            cfg.model, cfg.checkpoint, cfg.connect_timeout, meanwhile=self._load_profanity
        )
        if self.fallback is not None:
            self.ctx.log(
                f"toxicity: detoxify unavailable ({self.fallback}); using alt-profanity-check. {FIX_HINT}."
            )
        else:
            self.detox = tm.DetoxifyScorer(
                cfg.model,
                cfg.checkpoint,
                cfg.huggingface_config_path,
                cfg.device,
                cfg.torch_threads,
            )
        if self.detox is None or cfg.prefilter:
            self._load_profanity()
        else:
            self.profanity = None  # loaded while the connection was tested: not a prefilter

    def _load_profanity(self) -> None:
        """The bundled profanity check (≈1.5 s of sklearn imports), loaded once."""
        if self.profanity is None:
            self.profanity = tm.ProfanityScorer()

    @property
    def model_name(self) -> str:
        if self.detox is None:
            return f"alt-profanity-check (detoxify unavailable: {self.fallback})"
        return self.detox.name + (
            " behind alt-profanity-check prefilter" if self.cfg.prefilter else ""
        )

    def threshold(self, label: str) -> float:
        if label == "profanity":
            return self.cfg.profanity_threshold
        return self.cfg.thresholds.get(label, self.cfg.default_threshold)

    def verdict(self, scores: dict[str, float]) -> Verdict:
        over = [(s, label) for label, s in scores.items() if s >= self.threshold(label)]
        if not over:
            return KEEP
        score, label = max(over)
        return drop(f"toxic:{label}", NAME, toxicity=round(score, 4), label=label)

    def _innocent_blanked(self, texts: list[str]) -> list[str]:
        """The texts with profanity_innocent's matches blanked (others unchanged: same scores)."""
        if not self.cfg.profanity_innocent:
            return texts
        pattern = re.compile("|".join(f"(?:{p})" for p in self.cfg.profanity_innocent), re.I)
        return [pattern.sub(" ", t) if pattern.search(t) else t for t in texts]

    def score_batch(self, texts: list[str]) -> list[dict[str, float]]:
        """Scores per text: profanity (prefilter or fallback), detoxify for the rest."""
        start = time.perf_counter()
        scores: list[dict[str, float]] = [{} for _ in texts]
        todo = list(range(len(texts)))
        if self.profanity is not None:
            for i, s in enumerate(self.profanity.score(self._innocent_blanked(texts))):
                scores[i] = s
            if self.detox is not None:
                todo = [i for i in todo if scores[i]["profanity"] < self.cfg.profanity_threshold]
        if self.detox is not None:
            for i, s in zip(todo, self.detox.score([texts[i] for i in todo]), strict=True):
                scores[i] = {**scores[i], **s}
        self.seconds += time.perf_counter() - start
        self.texts += len(texts)
        return scores

    def _record(self, rec: Record, scores: dict[str, float]) -> Verdict:
        rec.meta["toxicity"] = {k: round(v, 4) for k, v in scores.items()}
        for label, s in scores.items():
            bins = self.hist.setdefault(label, [0] * HIST_BINS)
            bins[min(int(s * HIST_BINS), HIST_BINS - 1)] += 1
        return self.verdict(scores)

    def check(self, batch: list[Record]) -> list[Verdict]:
        texts = [rec.text()[: self.cfg.max_chars] for rec in batch]
        return [
            self._record(rec, scores)
            for rec, scores in zip(batch, self.score_batch(texts), strict=True)
        ]

    def summary(self) -> dict[str, Any]:
        edges = [round(i / HIST_BINS, 3) for i in range(HIST_BINS + 1)]
        return {
            "model": self.model_name,
            "thresholds": {label: self.threshold(label) for label in self.hist},
            "texts_scored": self.texts,
            "texts_per_s": round(self.texts / self.seconds, 1) if self.seconds else None,
            "batch_size": self.cfg.batch_size,
            "histogram": {"bin_edges": edges, "counts": self.hist},
        }
