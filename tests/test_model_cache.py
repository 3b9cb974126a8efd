"""The unpacked-model caches (setup time): same scores as the packages' own loaders, made once."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from curate.filters import language_detect, profanity_model

DEFECTS = Path(__file__).resolve().parents[1] / "data" / "samples" / "defects.jsonl"


@pytest.fixture
def cache_home(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    return tmp_path / "instructforge"


def test_profanity_arrays_score_as_scikit_learn(cache_home):
    from profanity_check import predict_prob

    texts = [" ".join(str(v) for v in json.loads(line).values()) for line in DEFECTS.open()]
    texts += list(profanity_model.PROBES) + ["FUCK", "Ümlaut déjà-vu 123 ass_hat", "a " * 500]
    first, how = profanity_model.load_predict_prob()
    assert how == "scikit-learn (arrays cached)"
    assert len(list(cache_home.glob("profanity-*.npz"))) == 1
    again, how = profanity_model.load_predict_prob()
    assert how == "cached arrays"
    want = predict_prob(texts)
    np.testing.assert_allclose(first(texts), want, rtol=0, atol=1e-12)
    np.testing.assert_allclose(again(texts), want, rtol=0, atol=1e-12)


def test_profanity_unreadable_cache_is_rebuilt(cache_home):
    profanity_model.load_predict_prob()
    (cached,) = cache_home.glob("profanity-*.npz")
    cached.write_bytes(b"not an npz")
    _, how = profanity_model.load_predict_prob()
    assert how == "scikit-learn (arrays cached)"


def test_py3langid_cached_model_is_the_packages(cache_home):
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    language_detect.py3langid_model.cache_clear()
    try:
        cached = language_detect.py3langid_model()
        assert len(list(cache_home.glob("py3langid-*.npz"))) == 1
    finally:
        language_detect.py3langid_model.cache_clear()
    own = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    assert list(cached.tk_nextmove) == list(own.tk_nextmove)
    assert cached.tk_output == own.tk_output and cached.nb_classes == own.nb_classes
    np.testing.assert_array_equal(cached.nb_ptc, own.nb_ptc)
    for text in ("Where is the station?", "Wo ist der Bahnhof?", "駅はどこですか"):
        assert cached.classify(text) == own.classify(text)
