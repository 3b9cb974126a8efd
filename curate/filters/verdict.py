"""What a filter answers: keep, or drop with a reason and the evidence for it."""

from __future__ import annotations

from typing import Any, NamedTuple

from curate.records import Record


class Verdict(NamedTuple):
    keep: bool
    reason: str = ""  # "near-duplicate", "toxic:insult", "blacklist:image" ...
    evidence: dict[str, Any] = {}  # {"duplicate_of": "rec-123", "jaccard": 0.83}
    stage: str = ""


KEEP = Verdict(True)


def drop(reason: str, stage: str = "", **evidence: Any) -> Verdict:
    return Verdict(False, reason, evidence, stage)


def rejected_row(rec: Record, verdict: Verdict) -> dict[str, Any]:
    """A dropped record, whole, plus why: one line of rejected.jsonl."""
    row = rec.to_dict()
    row["reject"] = {
        "stage": verdict.stage,
        "reason": verdict.reason,
        "evidence": dict(verdict.evidence),
    }
    return row
