"""The multilingual audit: `curate filter` on data/samples/multilingual.jsonl (zh, ja, ar, ru, hi,
es, de, a lang field per record) catches every planted defect and keeps every clean record."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from curate.cli import app
from curate.filters.language_script import by_script, mixed_script
from curate.filters.quality import QualityConfig, check_record
from curate.records import Record

LANGS = ("zh", "ja", "ar", "ru", "hi", "es", "de")


def test_every_planted_defect_is_caught_and_every_clean_record_kept(
    tmp_path: Path, project_data: Path
) -> None:
    sample = project_data / "samples" / "multilingual.jsonl"
    out = tmp_path / "audit"
    result = CliRunner().invoke(app, ["filter", str(sample), "--out", str(out)])
    assert result.exit_code == 0, result.output
    expected = json.loads((project_data / "samples" / "multilingual.expected.json").read_text())
    rows = [json.loads(x) for x in (out / "rejected.jsonl").read_text("utf-8").splitlines()]
    rejected = {r["id"]: r["reject"]["reason"] for r in rows}
    assert rejected == expected
    kept = [json.loads(x) for x in (out / "kept.jsonl").read_text("utf-8").splitlines()]
    assert sorted(r["id"] for r in kept) == sorted(
        f"{lang}-clean-{i}" for lang in LANGS for i in range(1, 5)
    )
    for lang in LANGS:  # each language has each kind of defect
        kinds = {rid.split("-", 1)[1].rsplit("-", 1)[0] for rid in expected if rid[:2] == lang}
        assert {"wrong-lang", "empty", "mixed"} <= kinds and kinds & {"exact-dup", "near-dup"}
    for r in kept:
        assert r["meta"]["lang_detected"] in (r["lang"], "und")  # und: too short to tell


@pytest.mark.parametrize(
    ("lang", "instruction", "english"),
    [
        ("de", "Schreibe ein kurzes Skript für ein Video über Mülltrennung.", False),
        ("es", "Dibuja un mapa de tu barrio con palabras.", False),
        ("zh", "《红楼梦》的作者是谁？", False),
        ("en", "Draw a picture of your street.", True),
        (None, "Draw a picture of your street.", True),
        (None, "「吾輩は猫である」の作者は誰ですか？", False),  # no lang: its script says
    ],
)
def test_the_english_blacklist_and_bad_start_rules_apply_to_english_only(
    lang: str | None, instruction: str, english: bool
) -> None:
    rec = Record("r", instruction, output="Una respuesta completa y correcta.", lang=lang)
    verdict = check_record(rec, QualityConfig())
    assert verdict.keep is not english
    if english:
        assert verdict.reason == "blacklist:draw"


def test_a_script_identifies_short_texts_and_foreign_fragments() -> None:
    assert by_script("北京。", "ru") == ("zh", 1.0)
    assert by_script("ありがとうございます", "zh") == ("ja", 1.0)
    assert by_script("東京都", "ja") is None  # kanji alone may be Japanese
    assert by_script("Hello there", "ru") is None  # Latin is no evidence
    assert by_script("Привет", "uk") is None  # Cyrillic is Ukrainian's own
    assert mixed_script("Мoсква — столица России.", "ru")["script"] == "latin+cyrillic"
    assert mixed_script("Найдите угол θ и длину стороны.", "ru") is None  # math Greek
    assert mixed_script("这款手机很好，отличный экран。", "zh")["script"] == "cyrillic"
    assert mixed_script("Der Film heißt „Солярис“ auf Russisch.", None) is None
