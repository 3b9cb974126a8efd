"""The judge stage with a scripted backend: ratings read, cached (a rerun asks nothing), retried,
rejected when unreadable, and drawn in report.md."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from generate_fakes import ScriptedBackend

from curate.backends.base import BackendOptions, SamplingParams
from curate.backends.registry import BackendSpec, register_backend, unregister_backend
from curate.filters.config import FilterConfig, apply_selection, check_config
from curate.filters.judge import JudgeConfig, JudgeStage, parse_rating
from curate.filters.pipeline import FilterResult, run_filter
from curate.records import Record

RECORDS = [
    Record("a", "Name a primary color.", "", "Red is a primary color."),
    Record("b", "What is 2 + 2?", "", "5"),
    Record("c", "Summarise the text.", "The cat sat on the mat.", "A cat sat on a mat."),
]


def rate(prompt: str, j: int, params: SamplingParams) -> str:
    if "Red is" in prompt:
        return '{"score": 5, "reason": "Correct and complete."}'
    if "\n5\n" in prompt:
        return "Score: 1\nReason: The sum is wrong. Four is right."
    return "4.5/5 - accurate summary."


class Judges:
    """A registered scripted backend that remembers every instance it opened."""

    def __init__(self, respond=rate):
        self.opened: list[ScriptedBackend] = []
        self.respond = respond

    def factory(self, opts: BackendOptions) -> ScriptedBackend:
        backend = ScriptedBackend(self.respond, model=opts.model)
        self.opened.append(backend)
        return backend

    @property
    def calls(self) -> int:
        return sum(len(b.calls) for b in self.opened)


@pytest.fixture
def judges() -> Iterator[Judges]:
    j = Judges()
    register_backend(BackendSpec("scripted-judge", j.factory, "tests", structured=True))
    try:
        yield j
    finally:
        unregister_backend("scripted-judge")


def config(tmp_path: Path, **kw) -> JudgeConfig:
    base = dict(enabled=True, backend="scripted-judge", model="judge-m", cache_dir=str(tmp_path))
    return JudgeConfig(**{**base, **kw})


def fresh() -> list[Record]:
    return [Record(r.id, r.instruction, r.input, r.output) for r in RECORDS]


def test_parse_rating_reads_json_labels_and_leading_numbers() -> None:
    assert parse_rating('{"score": 4.5, "reason": "Good. Very."}') == (4.5, "Good.")
    assert parse_rating('sure: {"rating": "3", "explanation": "ok"}') == (3.0, "ok")
    assert parse_rating("Score: 2\nReason: wrong unit.") == (2.0, "wrong unit.")
    assert parse_rating("4/5 because it is mostly right.") == (4.0, "it is mostly right.")
    assert parse_rating("I cannot rate this.") is None
    assert parse_rating('{"score": 9, "reason": "x"}') is None  # out of range
    assert parse_rating("Score: 7") is None


def test_scores_kept_by_threshold_with_meta(tmp_path: Path, judges: Judges) -> None:
    stage = JudgeStage(config(tmp_path, min_score=4.5, batch_size=8))
    recs = fresh()
    verdicts = stage.check(recs)
    assert [v.keep for v in verdicts] == [True, False, True]
    assert verdicts[1].reason == "judge:low_score" and verdicts[1].evidence["score"] == 1.0
    meta = recs[0].meta["judge"]
    assert meta["score"] == 5.0 and meta["reason"] == "Correct and complete."
    assert meta["model"] == "judge-m" and len(meta["prompt_sha256"]) == 64
    assert recs[2].meta["judge"]["score"] == 4.5
    assert judges.calls == 1  # one batched call for three records
    prompts, params = judges.opened[0].calls[0]
    assert len(prompts) == 3 and params.json_schema is not None and params.temperature == 0.0
    assert "Summarise the text." in prompts[2] and "The cat sat on the mat." in prompts[2]


def test_rerun_and_new_threshold_make_zero_backend_calls(tmp_path: Path, judges: Judges) -> None:
    JudgeStage(config(tmp_path)).check(fresh())
    assert judges.calls == 1
    again = JudgeStage(config(tmp_path, min_score=1.0))
    recs = fresh()
    assert all(v.keep for v in again.check(recs))
    assert judges.calls == 1 and len(judges.opened) == 1  # the backend was not even opened
    assert recs[1].meta["judge"]["score"] == 1.0
    assert again.summary()["cache_hits"] == 3 and again.summary()["backend_calls"] == 0
    # another model is another cache
    JudgeStage(config(tmp_path, model="other")).check(fresh())
    assert judges.calls == 2


def test_unparseable_is_retried_then_rejected(tmp_path: Path) -> None:
    answers = iter(["no idea", "still no idea", '{"score": 4, "reason": "Fine."}'])
    j = Judges(respond=lambda p, i, params: next(answers) if "Red" in p else "hmm")
    register_backend(BackendSpec("scripted-judge", j.factory, "tests"))
    try:
        stage = JudgeStage(config(tmp_path, retries=2, min_score=0, structured=False))
        recs = fresh()
        verdicts = stage.check(recs)
    finally:
        unregister_backend("scripted-judge")
    assert verdicts[0].keep and recs[0].meta["judge"]["score"] == 4.0  # read on the 3rd ask
    for v in verdicts[1:]:
        assert not v.keep and v.reason == "judge:unparseable"
        assert v.evidence == {"answer": "hmm", "attempts": 3}
    calls = j.opened[0].calls
    assert [len(p) for p, _ in calls] == [3, 3, 3]
    assert [c[1].temperature for c in calls] == [0.0, 0.7, 0.7]
    assert all(c[1].json_schema is None for c in calls)  # a backend without structured output


def run_judge_filter(tmp_path: Path, model: str = "judge-m") -> FilterResult:
    """`curate filter --only judge` on RECORDS with the scripted judge (the judges fixture),
    into tmp_path/out."""
    data = tmp_path / "in.jsonl"
    data.write_text("".join(json.dumps(r.to_dict()) + "\n" for r in RECORDS))
    cfg = FilterConfig()
    apply_selection(cfg, ["judge"], None)
    cfg.judge.backend, cfg.judge.model = "scripted-judge", model
    cfg.judge.cache_dir = str(tmp_path / "cache")
    check_config(cfg, "test")
    return run_filter([str(data)], tmp_path / "out", cfg)


def test_filter_run_reports_histogram(tmp_path: Path, judges: Judges) -> None:
    result = run_judge_filter(tmp_path)
    hist = result.stats["stages"]["judge"]["summary"]["score_histogram"]
    assert hist["threshold"] == 4.5 and sum(hist["kept"]) == 2 and sum(hist["rejected"]) == 1
    assert hist["kept"][10] == 1 and hist["kept"][9] == 1 and hist["rejected"][2] == 1
    report = (tmp_path / "out" / "report.md").read_text()
    assert "## Scores: judge" in report and (tmp_path / "out" / "scores-judge.png").is_file()
    rejected = [json.loads(line) for line in (tmp_path / "out" / "rejected.jsonl").open()]
    assert [r["reject"]["reason"] for r in rejected] == ["judge:low_score"]


def test_enabled_without_model_is_a_config_error() -> None:
    with pytest.raises(ValueError, match="model: required"):
        JudgeConfig(enabled=True).validate()
