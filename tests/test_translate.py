"""`curate translate` with a scripted Spanish translator: spans, skips, rejects, layout, resume."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from translate_fakes import EXPECTED, SOURCES, translate_spec
from typer.testing import CliRunner

from curate.backends.registry import register_backend, unregister_backend
from curate.cli import app
from curate.records import Record
from curate.translate.skip import skip_reason
from curate.translate.spans import mask, restore

LAUNCHER = Path(__file__).resolve().parent / "translate_fakes.py"


@pytest.fixture
def fake_mt():
    spec = register_backend(translate_spec())
    try:
        yield spec
    finally:
        unregister_backend(spec.name)


@pytest.fixture
def sources(tmp_path: Path) -> Path:
    path = tmp_path / "alpaca.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in SOURCES), encoding="utf-8")
    return path


def translate(src: Path, out: Path, *args: str):
    argv = ["translate", str(src), "--langs", "es", "--backend", "fake-mt", "--model", "scripted"]
    return CliRunner().invoke(app, [*argv, "--out", str(out), "--batch-size", "4", *args])


def rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


# ---------------------------------------------------------------- protected spans


@pytest.mark.parametrize(
    "text",
    [
        "Run `pip install -U curate` and open https://example.com/docs?page=2.",
        "Mail {name} at ana.lopez@example.org, 15% off until 31/12, ref %s and <EMAIL>.",
        "Before:\n```python\nprint('hi 1')\n```\nAfter 2.5 s, use ${HOME} or %(count)d.",
    ],
)
def test_protected_spans_round_trip_verbatim(text: str) -> None:
    masked = mask(text)
    assert masked.spans and "[[1]]" in masked.text
    for _, span in masked.spans:
        assert span not in masked.text  # the model never sees it
    back, lost = restore(masked.text, masked)
    assert back == text and lost == []


def test_a_dropped_marker_is_a_lost_span_with_the_span() -> None:
    masked = mask("Write to bob@example.com by 5 pm.")
    back, lost = restore(masked.text.replace("[[1]]", ""), masked)
    assert lost == [("email", "bob@example.com")]
    assert "5" in back


def test_text_already_holding_markers_is_not_confused() -> None:
    masked = mask("Fill [[1]] with 42.")
    assert masked.spans == [("number", "42")] and "[[1]]" in masked.text
    assert restore(masked.text, masked) == ("Fill [[1]] with 42.", [])


# ---------------------------------------------------------------- skips


@pytest.mark.parametrize(
    ("instruction", "output", "reason"),
    [
        ("Translate the sentence into German.", "Guten Morgen.", "translate:skip-translation-task"),
        ("Correct the spelling of this word.", "necessary", "translate:skip-english-task"),
        ("Give a synonym of happy.", "glad", "translate:skip-english-task"),
        ("Write a SQL query listing users.", "```sql\nSELECT * FROM users;\n```", "translate:skip-code-only"),
        ("Write a cover letter for a nurse.", "Dear hiring manager, I am writing to apply.", None),
    ],
)  # fmt: skip
def test_do_not_translate_tasks_are_recognised(instruction, output, reason) -> None:
    found = skip_reason(Record("r", instruction, output=output))
    assert (found[0] if found else None) == reason


# ---------------------------------------------------------------- the command


def test_every_source_is_kept_or_rejected_with_its_reason(fake_mt, sources, tmp_path) -> None:
    out = tmp_path / "bx"
    result = translate(sources, out)
    assert result.exit_code == 0, result.output
    kept = rows(out / "es.jsonl")
    rejected = rows(out / "rejected.jsonl")
    got = {r["id"]: "" for r in kept} | {r["id"]: r["reject"]["reason"] for r in rejected}
    assert got == EXPECTED
    for r in rejected:
        assert r["reject"]["stage"] in ("translate", "language") and r["reject"]["evidence"]
    lost = next(r for r in rejected if r["id"] == "t06")
    assert lost["reject"]["evidence"]["span"] == "anna@example.org"
    # ids link back; lang and provenance on every record
    for r in kept:
        t = r["meta"]["translation"]
        assert r["lang"] == "es" and t["source_id"] == r["id"] and t["target_lang"] == "es"
        assert t["source_lang"] == "en" and t["backend"] == "fake-mt" and t["mode"] == "translate"
        assert t["model"] == "scripted" and len(t["prompt_sha256"]) == 64
    by_id = {r["id"]: r for r in kept}
    assert (
        "{name}" in by_id["t02"]["output"]
        and "https://meet.example.com/abc" in by_id["t02"]["output"]
    )
    assert "`ls -la`" in by_id["t10"]["instruction"]
    assert by_id["t01"]["output"].startswith("1. Come bien.\n2. ")
    stats = json.loads((out / "stats.json").read_text())["languages"]["es"]
    assert stats["kept"] == 3 and stats["rejected"] == 7
    assert stats["rejected_by_reason"]["translate:lost-span"] == 1
    assert "rejects by reason" in result.output and "tokens/s" in result.output


def test_generate_mode_writes_outputs_in_the_target_language(fake_mt, sources, tmp_path) -> None:
    out = tmp_path / "gen"
    result = translate(sources, out, "--outputs", "generate", "--to", "alpaca")
    assert result.exit_code == 0, result.output
    kept = rows(out / "es.jsonl")
    assert {r["id"] for r in kept} >= {"t01", "t06", "t07", "t08", "t09"}  # outputs not translated
    for r in kept:
        assert r["output"].startswith("Esta es una respuesta escrita directamente en español")
        assert r["meta"]["translation"]["mode"] == "generate"
        shas = r["meta"]["translation"]["generate_prompt_sha256"]
        assert set(shas) == {"translate/generate.txt", "translate/generate_no_input.txt"}
    alpaca = json.loads((out / "es.json").read_text(encoding="utf-8"))  # Bactrian-X's es.json
    assert [a["instruction"] for a in alpaca] == [r["instruction"] for r in kept]


def test_the_layout_reads_back_through_curate_filter_with_the_file_language(
    fake_mt, sources, tmp_path
) -> None:
    out = tmp_path / "bx"
    assert translate(sources, out).exit_code == 0
    audit = tmp_path / "audit"
    result = CliRunner().invoke(
        app, ["filter", str(out / "es.jsonl"), "--out", str(audit), "--skip", "toxicity,decontam"]
    )
    assert result.exit_code == 0, result.output
    stats = json.loads((audit / "stats.json").read_text())
    assert stats["lang"] == "es" and "es.jsonl" in stats["lang_from"]
    kept = rows(audit / "kept.jsonl")
    assert {r["lang"] for r in kept} == {"es"} and len(kept) == 3


def test_bad_options_are_one_line(tmp_path, sources) -> None:
    runner = CliRunner()
    base = ["translate", str(sources), "--out", str(tmp_path / "o"), "--model", "m"]
    result = runner.invoke(app, base)
    assert "--langs is required" in result.output and result.exit_code != 0
    result = runner.invoke(
        app, [*base, "--langs", "es", "--backend", "mt", "--outputs", "generate"]
    )
    assert "--backend mt only translates" in result.output
    result = runner.invoke(app, [*base, "--langs", "spanish"])
    assert "unknown language code 'spanish'" in result.output


# ---------------------------------------------------------------- kill -9, then resume


def cli(src: Path, out: Path, *pause: str) -> subprocess.Popen:
    cmd = [sys.executable, str(LAUNCHER), *pause, "translate", str(src), "--langs", "es,de"]
    cmd += ["--backend", "fake-mt", "--model", "scripted", "--out", str(out), "--batch-size", "3"]
    cmd += ["--set", "language.enabled=false"]  # de gets the Spanish fake: not a language test
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def test_kill_9_then_resume_writes_every_record_once(sources, tmp_path) -> None:
    whole = tmp_path / "whole"
    done = cli(sources, whole)
    assert done.wait(timeout=300) == 0, done.stdout.read()

    out, paused = tmp_path / "run", tmp_path / "paused"
    proc = cli(sources, out, "--pause-at-call", "3", "--signal", str(paused))
    deadline = time.monotonic() + 120
    while not paused.exists():
        assert proc.poll() is None, proc.stdout.read()
        assert time.monotonic() < deadline
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    state = json.loads((out / "state.json").read_text())
    assert 0 < state["done"]["es"] < len(SOURCES)
    with (out / "es.jsonl").open("a") as f:  # a batch killed halfway through its append
        f.write('{"id": "t07", "instruction": "half a li')

    again = cli(sources, out)
    output, _ = again.communicate(timeout=300)
    assert again.returncode == 0, output
    for name in ("es.jsonl", "de.jsonl", "rejected.jsonl"):
        assert rows(out / name) == rows(whole / name), name
    ids = [(r["id"], r["lang"]) for r in rows(out / "rejected.jsonl")]
    assert len(ids) == len(set(ids))
    assert (out / "uncommitted" / "es.jsonl").read_text().startswith('{"id": "t07"')
    assert "moved to uncommitted/" in output


# ---------------------------------------------------------------- the mt engine's line handling


class UpperMT:
    """A translation backend that upper-cases each line (and loses any line holding DROP)."""

    name, model, adapter = "upper-mt", "upper", None

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def translate(self, texts, source, target, max_tokens):
        from curate.backends.base import Completion

        self.calls.append(list(texts))
        return [Completion("" if "DROP" in t else t.upper(), "stop", 3, 2) for t in texts]


def test_the_mt_engine_translates_line_by_line_in_one_call() -> None:
    from curate.translate.config import TranslateSampling
    from curate.translate.engines import EMPTY_LINE, MTEngine

    backend = UpperMT()
    engine = MTEngine(backend, "en", "es", TranslateSampling(), 0)
    out = engine.translate(["Hello world.\n\n[[1]]\n  - an item", "keep DROP here"], 0)
    assert backend.calls == [["Hello world.", "- an item", "keep DROP here"]]
    assert out[0].text == "HELLO WORLD.\n\n[[1]]\n  - AN ITEM"  # blank and span-only lines kept
    assert (out[0].prompt_tokens, out[0].completion_tokens) == (6, 4)
    assert out[1].finish_reason == EMPTY_LINE


def test_the_translate_prompts_render_exactly() -> None:
    from curate.templates import render_template

    names = {"source_name": "English", "target_name": "Spanish"}
    text = render_template(
        "translate/translate.txt", {**names, "text": "Hi [[1]]."}, final_newline=False
    )
    assert text.endswith("copy every marker such as [[1]] exactly as it is, in the place where"
                         " it belongs. Write only the translation.\n\nEnglish:\nHi [[1]].\n\nSpanish:")  # fmt: skip
    assert text.startswith("Translate the text below from English into Spanish.")
    gen = render_template(
        "translate/generate.txt",
        {"target_name": "Spanish", "instruction": "Resume el texto.", "input": "Hola."},
        final_newline=False,
    )
    assert gen.endswith(
        "### Instruction:\nResume el texto.\n\n### Input:\nHola.\n\n### Response (Spanish):"
    )
    bare = render_template(
        "translate/generate_no_input.txt",
        {"target_name": "Spanish", "instruction": "Da tres consejos."},
        final_newline=False,
    )
    assert bare.endswith("### Instruction:\nDa tres consejos.\n\n### Response (Spanish):")
