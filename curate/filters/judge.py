"""LLM judge: an AlpaGasus-style 0–5 rating of each record through any generation backend.

Opt-in (``judge.enabled`` is false by default). Each record is rendered into the prompt file
(``prompts/judge/rate.txt``: accuracy and helpfulness, 0–5 in half points, one-sentence reason)
and sent, a batch at a time, to the backend the config names (``vllm`` in process, ``openai``
for a server, ``transformers``, or any registered row). Where the backend can constrain its
output (``structured``) the answer is held to a JSON schema; otherwise ``parse_rating`` reads a
JSON object, ``Score: 4.5``, ``4/5`` or a leading number. An answer it cannot read is asked again
(``retries`` times, sampled at ``retry_temperature``); still unreadable, the record is rejected
``judge:unparseable`` with the last answer as evidence.

Every record gets ``meta.judge`` = {score, reason, model, prompt_sha256}; it is kept when
``score >= min_score`` (AlpaGasus kept ≥ 4.5), else rejected ``judge:low_score``. Ratings are
cached on disk (``judge_cache``) by (record hash, model, prompt hash): a rerun, or a run with
another ``min_score``, asks the backend nothing for records it has rated; the backend is not even
opened when every rating is cached. The score histogram and the threshold are in stats.json and
report.md.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from curate.config import option
from curate.filters.judge_cache import ScoreCache, default_cache_dir, record_hash
from curate.filters.stage import Stage, StageContext
from curate.filters.verdict import Verdict, drop
from curate.records import Record
from curate.templates import render_template, template_text

NAME = "judge"
MAX_SCORE = 5.0
BINS = [i / 2 for i in range(11)]  # 0, 0.5, … 5: one bin per half point
SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "score": {"type": "number", "minimum": 0, "maximum": MAX_SCORE},
        "reason": {"type": "string"},
    },
    "required": ["score", "reason"],
}


@dataclass
class JudgeConfig:
    enabled: bool = option(
        False,
        "Rate every record 0-5 with an LLM (AlpaGasus); keep those >= min_score (reasons judge:low_score,"
        " judge:unparseable). Off unless asked for (--set judge.enabled=true judge.model=M).",
    )
    backend: str = option(
        "vllm", "Generation backend that rates: vllm (in process), openai (a server), transformers."
    )
    model: str = option("", "Judge model: hub id, local directory, or the name a server serves.")
    base_url: str | None = option(None, "Server URL for the openai backend.")
    prompt: str = option(
        "judge/rate.txt",
        "Rating prompt: a file under prompts/ or a path; it names {instruction}, {input}, {output}.",
    )
    min_score: float = option(4.5, "Keep records rated at least this (0-5).")
    structured: bool = option(
        True, "Constrain the answer to JSON {score, reason} where the backend can."
    )
    max_tokens: int = option(128, "Tokens the judge may write per rating.")
    temperature: float = option(0.0, "Sampling temperature of the first ask.")
    retries: int = option(2, "Asks again this many times when an answer cannot be read.")
    retry_temperature: float = option(0.7, "Sampling temperature of a retry.")
    seed: int = option(0, "Sampling seed (a retry adds its attempt number).")
    batch_size: int = option(32, "Records rated per backend call.")
    max_chars: int = option(4000, "Characters of each field shown to the judge.")
    cache_dir: str | None = option(
        None,
        "Where ratings are cached; null: $XDG_CACHE_HOME/instructforge/judge"
        " (~/.cache/instructforge/judge).",
    )

    def validate(self) -> None:
        if self.enabled and not self.model:
            raise ValueError("judge: model: required when judge.enabled is true")
        if not 0 <= self.min_score <= MAX_SCORE:
            raise ValueError(f"judge: min_score: expected 0-5, got {self.min_score}")
        if self.retries < 0 or self.batch_size < 1 or self.max_tokens < 1:
            raise ValueError("judge: retries must be >= 0, batch_size and max_tokens >= 1")


# ---------------------------------------------------------------- reading a rating

_JSON = re.compile(r"\{[^{}]*\}", re.S)
_LABELLED = re.compile(r"(?:score|rating)\W{0,4}(\d+(?:\.\d+)?)", re.I)
_LEADING = re.compile(r"^\W{0,4}(\d+(?:\.\d+)?)\s*(?:/\s*5|out of 5)?\b", re.I)
_REASON = re.compile(r"(?:reason|because|explanation)\W{0,4}(.+)", re.I | re.S)


def _score(value: Any) -> float | None:
    try:
        s = float(value)
    except (TypeError, ValueError):
        return None
    return s if 0.0 <= s <= MAX_SCORE else None


def _sentence(text: str) -> str:
    text = " ".join(text.split()).strip(" \"'")
    m = re.match(r"(.+?[.!?])(\s|$)", text)
    return (m.group(1) if m else text)[:300]


def parse_rating(text: str) -> tuple[float, str] | None:
    """(score, one-sentence reason) from a judge's answer, or None when it holds no 0–5 score."""
    for m in _JSON.finditer(text):
        try:
            obj = json.loads(m.group(0))
        except ValueError:
            continue
        if isinstance(obj, dict):
            score = _score(obj.get("score", obj.get("rating")))
            if score is not None:
                return score, _sentence(str(obj.get("reason") or obj.get("explanation") or ""))
    m = _LABELLED.search(text) or _LEADING.search(text)
    score = _score(m.group(1)) if m else None
    if score is None or m is None:
        return None
    why = _REASON.search(text[m.end() :]) or _REASON.search(text)
    rest = why.group(1) if why else text[m.end() :].lstrip(" /5.:-\n")
    return score, _sentence(rest)


# ---------------------------------------------------------------- the stage


def load_prompt(name: str) -> tuple[str, str]:
    """(template text, sha256 of it) of a file under prompts/ or a path."""
    p = Path(name).expanduser()
    text = p.read_text(encoding="utf-8") if p.is_file() else template_text(name)
    return text, hashlib.sha256(text.encode("utf-8")).hexdigest()


def render(template_name: str, text: str, rec: Record, max_chars: int) -> str:
    values = {
        "instruction": rec.instruction[:max_chars],
        "input": (rec.input or "(none)")[:max_chars],
        "output": rec.output[:max_chars],
    }
    if not Path(template_name).expanduser().is_file():
        return render_template(template_name, values, final_newline=False)
    out = text.removesuffix("\n")
    for key, value in values.items():
        out = out.replace("{" + key + "}", value)
    return out


def histogram(edges: list[float], scores: list[float]) -> list[int]:
    """Counts per bin of ``edges`` (bin i: edges[i] <= s < edges[i+1]; the last bin takes the rest)."""
    counts = [0] * len(edges)
    for s in scores:
        i = max(j for j, e in enumerate(edges) if s >= e or j == 0)
        counts[i] += 1
    return counts


class JudgeStage(Stage):
    name = NAME

    def __init__(self, cfg: JudgeConfig, ctx: StageContext | None = None) -> None:
        cfg.validate()
        super().__init__(cfg, ctx)
        self.batch_size = cfg.batch_size
        self.backend: Any = None
        self.kept_scores: list[float] = []
        self.rejected_scores: list[float] = []
        self.calls = self.asked = self.cache_hits = self.unparseable = 0
        if cfg.enabled:
            from curate.backends.registry import get_backend

            self.spec = get_backend(cfg.backend)
            self.template, self.prompt_sha = load_prompt(cfg.prompt)
            self.cache = ScoreCache(
                Path(cfg.cache_dir or default_cache_dir()).expanduser(), cfg.model, self.prompt_sha
            )

    # the backend opens on the first record not in the cache (a cached rerun never loads it)
    def _open(self) -> Any:
        if self.backend is None:
            from curate.backends.base import BackendOptions

            spec = self.spec
            opts = BackendOptions(
                self.cfg.model, None, self.cfg.base_url, spec.config() if spec.config else None
            )
            spec.check(opts, structured=False)
            self.backend = spec.open(opts)
        return self.backend

    def _ask(self, prompts: list[str], attempt: int) -> list[str]:
        from curate.backends.base import SamplingParams

        cfg = self.cfg
        params = SamplingParams(
            temperature=cfg.temperature if attempt == 0 else cfg.retry_temperature,
            max_tokens=cfg.max_tokens,
            seed=cfg.seed + attempt * 1_000_003,
            json_schema=SCHEMA if cfg.structured and self.spec.structured else None,
        )
        self.calls += 1
        self.asked += len(prompts)
        return [c[0].text if c else "" for c in self._open().complete(prompts, params)]

    def check(self, batch: list[Record]) -> list[Verdict]:
        cfg = self.cfg
        keys = [record_hash(rec) for rec in batch]
        todo = [i for i, k in enumerate(keys) if k not in self.cache]
        self.cache_hits += len(batch) - len(todo)
        answers: dict[int, str] = {}
        for attempt in range(1 + cfg.retries):
            if not todo:
                break
            prompts = [render(cfg.prompt, self.template, batch[i], cfg.max_chars) for i in todo]
            still = []
            for i, text in zip(todo, self._ask(prompts, attempt), strict=True):
                parsed = parse_rating(text)
                if parsed is None:
                    still.append(i)
                    answers[i] = text
                else:
                    self.cache.put(keys[i], *parsed)
            todo = still
        unreadable = set(todo)
        return [
            self._unparseable(answers[i]) if i in unreadable else self._verdict(rec, keys[i])
            for i, rec in enumerate(batch)
        ]

    def _unparseable(self, answer: str) -> Verdict:
        self.unparseable += 1
        tries = 1 + self.cfg.retries
        return drop("judge:unparseable", NAME, answer=answer[:500], attempts=tries)

    def _verdict(self, rec: Record, key: str) -> Verdict:
        score, reason = self.cache[key]
        rec.meta["judge"] = {
            "score": score,
            "reason": reason,
            "model": self.cfg.model,
            "prompt_sha256": self.prompt_sha,
        }
        if score >= self.cfg.min_score:
            self.kept_scores.append(score)
            return Verdict(True)
        self.rejected_scores.append(score)
        return drop("judge:low_score", NAME, score=score, min_score=self.cfg.min_score, why=reason)

    def summary(self) -> dict[str, Any]:
        if not self.enabled:
            return {}
        if self.backend is not None:
            self.backend.close()
        return {
            "model": self.cfg.model,
            "backend": self.cfg.backend,
            "prompt": self.cfg.prompt,
            "prompt_sha256": self.prompt_sha,
            "cache": str(self.cache.path),
            "cache_hits": self.cache_hits,
            "backend_calls": self.calls,
            "prompts_sent": self.asked,
            "unparseable": self.unparseable,
            "score_histogram": {
                "label": "judge score (0-5)",
                "edges": BINS,
                "threshold": self.cfg.min_score,
                "kept": histogram(BINS, self.kept_scores),
                "rejected": histogram(BINS, self.rejected_scores),
            },
        }
