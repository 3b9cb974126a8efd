"""The judge's ratings on disk: one JSON Lines file per (model, prompt hash), keyed by record hash.

A line is appended (and flushed) as soon as a rating is read, so a run killed half way keeps
what it paid for; a torn last line is skipped when the file is read back. Two runs with the same
model and prompt share the file, whatever their thresholds.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from curate.jsonout import dumps
from curate.records import Record


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "instructforge" / "judge"


def record_hash(rec: Record) -> str:
    """sha256 of what the judge is shown: the record's text, not its id or meta."""
    content = [rec.instruction, rec.input, rec.output, rec.messages]
    return hashlib.sha256(json.dumps(content, ensure_ascii=False).encode("utf-8")).hexdigest()


class ScoreCache:
    def __init__(self, directory: Path, model: str, prompt_sha: str) -> None:
        name = hashlib.sha256(f"{model}\n{prompt_sha}".encode()).hexdigest()[:24]
        self.path = directory / f"{name}.jsonl"
        self.scores: dict[str, tuple[float, str]] = {}
        self.model, self.prompt_sha = model, prompt_sha
        self._file = None
        if self.path.is_file():
            with self.path.open(encoding="utf-8") as f:
                for line in f:
                    try:
                        row = json.loads(line)
                        self.scores[row["record"]] = (float(row["score"]), str(row["reason"]))
                    except (ValueError, KeyError, TypeError):
                        continue  # a torn last line (kill -9 mid-write)

    def __contains__(self, key: str) -> bool:
        return key in self.scores

    def __getitem__(self, key: str) -> tuple[float, str]:
        return self.scores[key]

    def __len__(self) -> int:
        return len(self.scores)

    def put(self, key: str, score: float, reason: str) -> None:
        self.scores[key] = (score, reason)
        if self._file is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = self.path.open("a", encoding="utf-8", buffering=1)
        row = {"record": key, "score": score, "reason": reason, "model": self.model}
        self._file.write(dumps(row, ensure_ascii=False) + "\n")
        self._file.flush()
