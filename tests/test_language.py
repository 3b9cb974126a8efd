"""Language check with real detectors on the planted defects, Bactrian-X Spanish and real English data."""

from __future__ import annotations

import pickle
from pathlib import Path

from curate.filters.language import LanguageConfig, LanguageStage
from curate.filters.language_batch import batch_langid
from curate.filters.language_detect import py3langid_model
from curate.io import read_records
from curate.records import Record
from curate.text import lang_code


def _records(path: Path) -> list[Record]:
    return [r for r in read_records(str(path)) if isinstance(r, Record)]


def test_planted_wrong_languages_rejected_rest_pass(project_data: Path) -> None:
    stage = LanguageStage(LanguageConfig(lang="en"))
    got = {r.id: (r, v) for r, v in stage(_records(project_data / "samples/defects.jsonl"))}
    assert got["wrong-lang-1"][1].reason == "lang-mismatch:fr"
    assert got["wrong-lang-2"][1].reason == "lang-mismatch:de"
    ev = got["wrong-lang-1"][1].evidence
    assert ev["field"] == "instruction" and ev["detected"] == "fr" and ev["confidence"] > 0.9
    rejected = sorted(rid for rid, (_, v) in got.items() if not v.keep)
    assert rejected == ["wrong-lang-1", "wrong-lang-2"]
    assert all("lang_detected" in r.meta for r, _ in got.values())
    assert got["clean-01"][0].meta["lang_detected"] == "en"
    summary = stage.summary()
    assert summary["texts_per_s"] > 0 and summary["languages"]["en"] == 40


def test_bactrian_spanish_passes_with_its_language(project_data: Path) -> None:
    path = project_data / "samples/bactrian-x/es.json"
    recs = _records(path)
    assert recs[0].lang == "es"
    out = list(LanguageStage(LanguageConfig(lang=lang_code(recs[0].lang)))(recs))
    assert all(v.keep for _, v in out), [(r.id, v) for r, v in out if not v.keep]
    assert {r.meta["lang_detected"] for r, _ in out} == {"es"}


def test_spanish_expected_rejects_english(project_data: Path) -> None:
    recs = _records(project_data / "samples/defects.jsonl")
    out = list(LanguageStage(LanguageConfig(lang="es"))(recs))
    assert sum(v.reason == "lang-mismatch:en" for _, v in out) >= 30


def test_no_expected_language_detects_only(project_data: Path) -> None:
    out = list(LanguageStage(LanguageConfig())(_records(project_data / "samples/defects.jsonl")))
    assert all(v.keep for _, v in out)
    assert {r.meta["lang_detected"] for r, _ in out} >= {"en", "fr", "de"}


def test_real_english_data_not_flagged(shared_data: Path, project_data: Path) -> None:
    recs = _records(shared_data / "gsm8k/gsm_8k_train.json")[:3000] + _records(
        project_data / "seed_tasks.jsonl"
    )
    out = list(LanguageStage(LanguageConfig(lang="en"))(recs))
    assert [r.id for r, v in out if not v.keep] == []


def test_short_texts_code_and_numbers_are_not_classified() -> None:
    stage = LanguageStage(LanguageConfig(lang="en"))
    for output in (
        "Kenya, Tanzania, and Uganda.",
        "42",
        "def f(x):\n    return x * 2",
        "x = 6",
        "Sí",
    ):
        rec = Record(
            id="s", instruction="Answer the question in as few words as you can.", output=output
        )
        assert stage.check([rec])[0].keep, output
    tr = Record(
        id="t",
        instruction="Traduce la siguiente frase al inglés, por favor.",
        output="The library closes at eight in the evening.",
    )
    assert LanguageStage(LanguageConfig(lang="es")).check([tr])[0].keep


def test_batch_classifier_agrees_with_py3langid(shared_data: Path) -> None:
    recs = _records(shared_data / "gpteacher/roleplay.json")[:400]
    texts = [t[:300] for r in recs for t in (r.instruction, r.output)] + [
        "",
        "123",
        "ÇA VA BIEN MERCI",
    ]
    fast = batch_langid().classify(texts)
    model = py3langid_model()
    for text, (lang, conf) in zip(texts, fast, strict=True):
        ref_lang, ref_conf = model.classify(text)
        assert lang == ref_lang and abs(conf - ref_conf) < 1e-4, text


def test_codes_normalised_and_stage_pickles() -> None:
    assert [lang_code(c) for c in ("pt_BR", "zh-Hans", "ES", "spa", None)] == [
        "pt",
        "zh",
        "es",
        "es",
        None,
    ]
    stage = pickle.loads(pickle.dumps(LanguageStage(LanguageConfig(lang="en"))))
    french = Record(
        id="x", instruction="Explique pourquoi le ciel est bleu pendant la journée.", output=""
    )
    assert stage.check([french])[0].reason == "lang-mismatch:fr"


def test_lingua_keeps_few_models_loaded_and_answers_the_same(monkeypatch) -> None:
    """Rare guesses must not pile up lingua models (~25 MB each): least recently used go."""
    from collections import OrderedDict

    from curate.filters import language_detect as ld

    texts = [
        "The weather is lovely today and we are going for a walk in the park.",
        "Das Wetter ist heute schön und wir gehen im Park spazieren.",
        "Il fait beau aujourd'hui et nous allons nous promener dans le parc.",
        "Hace buen tiempo hoy y vamos a dar un paseo por el parque.",
    ]
    sets = [{"en", "de"}, {"fr", "es"}, {"en", "it"}, {"de", "nl"}, {"en", "fr", "pt"}]
    asks = [(t, s) for s in sets for t in texts]
    monkeypatch.setattr(ld, "_resident", OrderedDict())
    want = [ld.lingua_detect(t, s) for t, s in asks]
    monkeypatch.setattr(ld, "_resident", OrderedDict())
    monkeypatch.setattr(ld, "LINGUA_RESIDENT", 3)
    got = []
    for t, s in asks:
        got.append(ld.lingua_detect(t, s))
        assert len(ld._resident) <= 3
    # lingua's sums may differ in the last bits after a reload; the stage rounds to 3 places
    assert [(d.lang, round(d.confidence, 6)) for d in got] == [
        (d.lang, round(d.confidence, 6)) for d in want
    ]
    assert want[1].lang == "de" and want[6].lang == "fr"
