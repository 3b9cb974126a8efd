"""What report.html shows of the records: rejected ones per reason and the duplicate clusters.

Read back from ``rejected.jsonl`` (and ``kept.jsonl`` for the records a duplicate cluster kept),
streaming, under a budget so that a large audit's page stays small: at most ``MAX_RECORDS`` rows
in all, shared out between the reasons so a rare reason is shown whole (water-filling), each
field cut at ``FIELD_CHARS``, and no more than ``MAX_BYTES`` of embedded text in all (shared out
like the rows, so the first reasons in the file cannot use it up). The page
says how many of each reason it holds; rejected.jsonl holds them all. Without rejected.jsonl (a
report redrawn from stats.json alone) the examples in stats.json are shown.

Everything here is data, later embedded as JSON: ``printable`` strips control and bidi
characters; escaping for the page is report_html's job.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from curate.text import printable

MAX_RECORDS = 4000  # rejected records embedded in all
MAX_BYTES = 5_500_000  # rejected records' embedded text in all
MAX_CLUSTER_BYTES = 2_500_000  # duplicate clusters' (the page stays under 10 MB)
FIELD_CHARS = 600  # per field (instruction, input, output, raw); longer ones are cut
MAX_CLUSTERS = 300  # duplicate clusters shown (largest first)
MAX_MEMBERS = 12  # dropped records shown per cluster
DEDUP_STAGES = ("exact-dedup", "near-dedup")


def shares(counts: dict[str, int], total: int = MAX_RECORDS) -> dict[str, int]:
    """How many records of each reason to embed: every reason gets an equal share, a reason with
    fewer records than its share gives the rest to the others (sum ≤ ``total``)."""
    left, out = total, {}
    pending = sorted(counts.items(), key=lambda kv: kv[1])
    while pending:
        share = max(1, left // len(pending))
        reason, n = pending.pop(0)
        out[reason] = min(n, share)
        left = max(0, left - out[reason])
    return out


def _cut(value: Any, limit: int = FIELD_CHARS) -> tuple[str, int]:
    """``value`` as printable text cut at ``limit`` characters, and its full length."""
    text = printable(value if isinstance(value, str) else json.dumps(value, ensure_ascii=False))
    return (text if len(text) <= limit else text[:limit]), len(text)


def _row(line: dict[str, Any]) -> dict[str, Any]:
    """One rejected.jsonl row → what the page shows of it (short keys keep the page small)."""
    reject = line.get("reject") or {}
    meta = line.get("meta") if isinstance(line.get("meta"), dict) else {}
    row: dict[str, Any] = {
        "id": printable(str(line.get("id", ""))),
        "src": printable(str(meta.get("source") or line.get("source") or "")),
        "ev": printable(json.dumps(reject.get("evidence", {}), ensure_ascii=False)),
        "f": [],
    }
    fields: list[tuple[str, Any]] = []
    if "raw" in line:
        fields.append(("raw", line["raw"]))
    if line.get("messages"):
        fields.append(("messages", _conversation(line["messages"])))
    else:
        fields += [(k, line.get(k, "")) for k in ("instruction", "input", "output") if line.get(k)]
    for name, value in fields:
        text, full = _cut(value)
        row["f"].append([name, text, full])
    if meta.get("lang_detected"):
        row["lang"] = printable(str(meta["lang_detected"]))
    return row


def _conversation(messages: Any) -> str:
    if not isinstance(messages, list):
        return str(messages)
    turns = [
        f"{m.get('role', '?')}: {m.get('content', '')}" for m in messages if isinstance(m, dict)
    ]
    return "\n\n".join(turns)


def _size(row: dict[str, Any]) -> int:
    """The bytes ``row`` takes in the page: its JSON in UTF-8, with <, > and & written as
    6-character escapes (report_html._json)."""
    text = json.dumps(row, ensure_ascii=False, separators=(",", ":"))
    return len(text.encode("utf-8")) + 5 * (text.count("<") + text.count(">") + text.count("&"))


class ReportRecords:
    """The rejected records and the duplicate clusters report.html embeds."""

    def __init__(self) -> None:
        self.by_reason: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.clusters: dict[str, dict[str, Any]] = {}  # "stage\0survivor id" → cluster
        self.cluster_count = 0
        self.bytes = 0
        self.from_examples = False

    @classmethod
    def collect(cls, out: Path, stats: dict[str, Any]) -> ReportRecords:
        got = cls()
        rejected = out / "rejected.jsonl"
        if not rejected.is_file():
            got._from_examples(stats)
            return got
        sizes = got._read_rejected(rejected, shares(stats.get("rejected_by_reason", {})))
        if sizes:
            got._read_clusters(rejected, sizes)
            got._read_survivors(out / "kept.jsonl", rejected)
        return got

    def _read_rejected(self, path: Path, cap: dict[str, int]) -> Counter[str]:
        """Rows per reason, within their share; returns each duplicate cluster's size."""
        sizes: Counter[str] = Counter()
        total = sum(cap.values()) or 1
        budget = {reason: MAX_BYTES * n / total for reason, n in cap.items()}
        used: Counter[str] = Counter()
        for line in _lines(path):
            reject = line.get("reject") or {}
            reason = str(reject.get("reason", ""))
            key = _cluster_key(reject)
            if key is not None:
                sizes[key] += 1
            rows = self.by_reason[reason]
            if len(rows) < cap.get(reason, 1) and used[reason] < budget.get(reason, 0):
                row = _row(line)
                used[reason] += _size(row)
                rows.append(row)
        self.bytes += sum(used.values())
        return sizes

    def _read_clusters(self, path: Path, sizes: Counter[str]) -> None:
        """The largest clusters' dropped records (a second pass: only their keys are held)."""
        self.cluster_count = len(sizes)
        for key, n in sorted(sizes.items(), key=lambda kv: (-kv[1], kv[0]))[:MAX_CLUSTERS]:
            stage, survivor = key.split("\x00", 1)
            self.clusters[key] = {"stage": stage, "kept_id": survivor, "n": n, "dropped": []}
        used = 0
        for line in _lines(path, only=DEDUP_STAGES):
            reject = line.get("reject") or {}
            c = self.clusters.get(_cluster_key(reject) or "")
            if c is None or len(c["dropped"]) >= MAX_MEMBERS or used >= MAX_CLUSTER_BYTES:
                continue
            ev = reject.get("evidence") or {}
            row = _row(line)
            row["j"] = "exact" if reject["stage"] == "exact-dedup" else ev.get("jaccard")
            row["of"] = printable(str(ev.get("duplicate_of", c["kept_id"])))
            used += _size(row)
            c["dropped"].append(row)
        self.bytes += used

    def _read_survivors(self, kept: Path, rejected: Path) -> None:
        """The shown clusters' kept records, from kept.jsonl (or rejected.jsonl, when a later
        stage dropped the survivor)."""
        wanted = {c["kept_id"] for c in self.clusters.values()}
        for path in (kept, rejected):
            for line in _lines(path) if wanted else ():
                rid = printable(str(line.get("id", "")))
                if rid in wanted:
                    wanted.discard(rid)
                    self._attach(rid, line, kept=path == kept)

    def _attach(self, rid: str, line: dict[str, Any], *, kept: bool) -> None:
        row = _row(line)
        if not kept:
            row["later"] = printable(str((line.get("reject") or {}).get("reason", "")))
        for stage in DEDUP_STAGES:
            c = self.clusters.get(f"{stage}\x00{rid}")
            if c is not None and "kept" not in c:
                c["kept"] = row

    def _from_examples(self, stats: dict[str, Any]) -> None:
        self.from_examples = True
        for reason, examples in stats.get("examples", {}).items():
            for ex in examples:
                text, full = _cut(ex.get("text", ""))
                self.by_reason[reason].append(
                    {
                        "id": printable(str(ex.get("id", ""))),
                        "src": printable(str(ex.get("source") or "")),
                        "ev": printable(json.dumps(ex.get("evidence", {}), ensure_ascii=False)),
                        "f": [["text", text, full]],
                    }
                )

    def cluster_list(self) -> list[dict[str, Any]]:
        return list(self.clusters.values())


def _cluster_key(reject: dict[str, Any]) -> str | None:
    """The cluster key (stage, NUL, survivor id) of a duplicate dropped within the input; None for anything else."""
    ev = reject.get("evidence") or {}
    if reject.get("stage") not in DEDUP_STAGES or ev.get("scope", "input") != "input":
        return None
    survivor = ev.get("survivor", ev.get("duplicate_of"))
    return None if survivor is None else f"{reject['stage']}\x00{printable(str(survivor))}"


def _lines(path: Path, only: tuple[str, ...] = ()) -> Iterator[dict[str, Any]]:
    """The JSON objects of a JSONL file we wrote; with ``only``, just the lines naming one of
    those stages (a cheap test before parsing)."""
    if not path.is_file():
        return
    with path.open(encoding="utf-8") as f:
        for text in f:
            if only and not any(f'"{s}"' in text for s in only):
                continue
            try:
                line = json.loads(text)
            except ValueError:
                continue
            if isinstance(line, dict):
                yield line
