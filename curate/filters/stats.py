"""Compact figures collected while records stream past: counts, histograms, a few examples.

Nothing here holds records: lengths are counted per word count, toxicity scores per bin,
examples are the first few per reason (truncated), duplicate clusters a count per survivor.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import Counter, defaultdict
from typing import Any

from curate.filters.verdict import Verdict
from curate.io import Reject
from curate.records import Record

PARSE_STAGE = "parse"
PARSE_REASON = "malformed"
TOXICITY_BINS = 20
MAX_LENGTH = 5000  # word counts above this are counted as MAX_LENGTH
EXAMPLE_CHARS = 240
DEDUP_STAGES = ("exact-dedup", "near-dedup")
LENGTH_EDGES = [0, 1, 2, 3, 5, 9, 17, 33, 65, 129, 257, 513, 1025, 2049, 4097]


class RunStats:
    def __init__(self, examples_per_reason: int = 3):
        self.examples_per_reason = examples_per_reason
        self.inputs = 0
        self.kept = 0
        self.by_stage: Counter[str] = Counter()
        self.by_reason: Counter[str] = Counter()
        self.reason_stage: dict[str, str] = {}
        self.lengths: dict[str, Counter[int]] = {"kept": Counter(), "rejected": Counter()}
        self.toxicity: dict[str, list[int]] = {
            "kept": [0] * TOXICITY_BINS,
            "rejected": [0] * TOXICITY_BINS,
        }
        self.languages: Counter[str] = Counter()
        self.examples: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.duplicates: dict[str, Counter[str]] = {s: Counter() for s in DEDUP_STAGES}
        self.seconds: dict[str, float] = {}  # setup (stage and model loading), read_and_parse

    @property
    def rejected(self) -> int:
        return sum(self.by_stage.values())

    def add_kept(self, rec: Record) -> None:
        self.inputs += 1
        self.kept += 1
        self._observe(rec, "kept")

    def add_rejected(self, rec: Record, verdict: Verdict) -> None:
        self.inputs += 1
        self._count(verdict.stage, verdict.reason)
        self._observe(rec, "rejected")
        if verdict.stage in self.duplicates and verdict.evidence.get("scope", "input") == "input":
            ev = verdict.evidence
            target = ev.get("survivor", ev.get("duplicate_of"))
            if target is not None:
                self.duplicates[verdict.stage][str(target)] += 1
        self._example(
            verdict.reason, rec.id, rec.text(), dict(verdict.evidence), rec.meta.get("source")
        )

    def add_parse_reject(self, reject: Reject) -> None:
        self.inputs += 1
        self._count(PARSE_STAGE, PARSE_REASON)
        evidence = {"error": reject.error, "field": reject.field}
        self._example(PARSE_REASON, "", reject.raw, evidence, reject.source)

    def _count(self, stage: str, reason: str) -> None:
        self.by_stage[stage] += 1
        self.by_reason[reason] += 1
        self.reason_stage.setdefault(reason, stage)

    def _observe(self, rec: Record, side: str) -> None:
        words = len(rec.text().split())
        self.lengths[side][min(words, MAX_LENGTH)] += 1
        scores = rec.meta.get("toxicity")
        if isinstance(scores, dict) and scores:
            top = max(float(v) for v in scores.values() if isinstance(v, (int, float)))
            self.toxicity[side][min(int(top * TOXICITY_BINS), TOXICITY_BINS - 1)] += 1
        lang = rec.meta.get("lang_detected")
        if isinstance(lang, str):
            self.languages[lang] += 1

    def _example(self, reason: str, rid: str, text: str, evidence: dict, source: Any) -> None:
        bucket = self.examples[reason]
        if len(bucket) < self.examples_per_reason:
            short = text if len(text) <= EXAMPLE_CHARS else text[:EXAMPLE_CHARS] + "…"
            bucket.append({"id": rid, "source": source, "text": short, "evidence": evidence})

    def cluster_sizes(self, stage: str) -> dict[int, int]:
        """Duplicate cluster size (survivor + its dropped copies) → number of clusters."""
        sizes = Counter(n + 1 for n in self.duplicates[stage].values())
        return dict(sorted(sizes.items()))

    def to_dict(self) -> dict[str, Any]:
        return {
            "input": self.inputs,
            "kept": self.kept,
            "rejected": self.rejected,
            "rejected_by_stage": dict(self.by_stage.most_common()),
            "rejected_by_reason": dict(self.by_reason.most_common()),
            "reason_stage": dict(sorted(self.reason_stage.items())),
            "languages": dict(self.languages.most_common()),
            "duplicate_clusters": {
                s: _cluster_summary(self.cluster_sizes(s)) for s in DEDUP_STAGES
            },
            "lengths_words": {k: _length_summary(v) for k, v in self.lengths.items()},
            "length_histogram": self.length_histogram(),
            "toxicity_histogram": {"bins": TOXICITY_BINS, **self.toxicity},
            "examples": dict(sorted(self.examples.items())),
        }

    def length_histogram(self) -> dict[str, Any]:
        """Word counts in log-spaced bins (0, 1, 2, 3-4, 5-8 … ≥ 4097), kept vs rejected."""
        hist: dict[str, Any] = {"edges": LENGTH_EDGES}
        for side, per_len in self.lengths.items():
            bins = [0] * len(LENGTH_EDGES)
            for words, n in per_len.items():
                bins[bisect_right(LENGTH_EDGES, words) - 1] += n
            hist[side] = bins
        return hist


def _cluster_summary(sizes: dict[int, int]) -> dict[str, Any]:
    clusters = sum(sizes.values())
    return {
        "clusters": clusters,
        "records_removed": sum((size - 1) * n for size, n in sizes.items()),
        "largest": max(sizes, default=0),
        "sizes": {str(k): v for k, v in sizes.items()},
    }


def _length_summary(counts: Counter[int]) -> dict[str, Any]:
    n = sum(counts.values())
    if not n:
        return {"records": 0}
    ordered = sorted(counts.items())
    return {
        "records": n,
        "mean": round(sum(k * v for k, v in ordered) / n, 1),
        "median": _quantile(ordered, n, 0.5),
        "p95": _quantile(ordered, n, 0.95),
        "max": ordered[-1][0],
    }


def _quantile(ordered: list[tuple[int, int]], n: int, q: float) -> int:
    target, seen = q * (n - 1), 0
    for value, count in ordered:
        seen += count
        if seen > target:
            return value
    return ordered[-1][0]
