"""alt-profanity-check's model as plain arrays, so a run need not import scikit-learn (≈1.5 s CPU).

The package ships a pickled ``TfidfVectorizer`` (word unigrams) and a ``CalibratedClassifierCV``
(five linear SVMs, sigmoid calibration). Their whole arithmetic is: tf-idf of the text's known
words, L2-normalised; per SVM ``d = x·w + c`` and ``p = expit(-(a·d + b))``; the mean of the five.
The first run unpickles the model with scikit-learn (the package's own way), checks that it is
of that shape, checks on probe texts that the arrays give the package's scores (to 1e-9), and
caches the arrays (``.npz``, no pickle) keyed by the SHA-256 of the two model files: a changed
model is a new key. When any check fails the package's own ``predict_prob`` is used.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from collections.abc import Callable, Sequence
from contextlib import suppress
from importlib.util import find_spec
from pathlib import Path

import numpy as np

from curate.model_cache import cache_path, temp_beside

TOKEN = re.compile(r"(?u)\b\w\w+\b")  # TfidfVectorizer's default token_pattern
PROBES = (
    "",
    "Hello there, how are you today?",
    "you are a stupid idiot and I hate you",
    "What the f*** is this shit, damn it",
    "A vampire needs to suck 7 gallons of blood. ÉCOLE naïve Straße 東京",
    "kill kill kill the bastard son of a bitch",
)


def _model_files() -> tuple[Path, Path] | None:
    spec = find_spec("profanity_check")
    if spec is None or not spec.submodule_search_locations:
        return None
    data = Path(next(iter(spec.submodule_search_locations))) / "data"
    files = (data / "vectorizer.joblib", data / "model.joblib")
    return files if all(f.is_file() for f in files) else None


class ProfanityArrays:
    """The model's numbers and ``predict_prob`` computed from them with numpy."""

    def __init__(self, words: Sequence[str], idf, coef, intercept, a, b) -> None:
        self.vocab = {w: i for i, w in enumerate(words)}
        self.words = np.asarray(list(words), dtype=str)
        self.idf = np.asarray(idf, dtype=np.float64)
        self.coef = np.asarray(coef, dtype=np.float64)  # (models, features)
        self.intercept = np.asarray(intercept, dtype=np.float64)
        self.a = np.asarray(a, dtype=np.float64)
        self.b = np.asarray(b, dtype=np.float64)

    def predict_prob(self, texts: Sequence[str]) -> np.ndarray:
        out = np.empty(len(texts), dtype=np.float64)
        vocab, idf, coef = self.vocab, self.idf, self.coef
        for n, text in enumerate(texts):
            counts = Counter(vocab[t] for t in TOKEN.findall(text.lower()) if t in vocab)
            if counts:
                cols = np.fromiter(sorted(counts), dtype=np.int64, count=len(counts))
                x = np.fromiter((counts[c] for c in cols), dtype=np.float64, count=len(cols))
                x *= idf[cols]
                x /= np.sqrt(np.dot(x, x))
                d = coef[:, cols] @ x + self.intercept
            else:
                d = self.intercept.copy()
            out[n] = np.mean(1.0 / (1.0 + np.exp(self.a * d + self.b)))
        return out

    def save(self, path: Path) -> None:
        tmp = temp_beside(path)
        np.savez(tmp, words=self.words, idf=self.idf, coef=self.coef,
                 intercept=self.intercept, a=self.a, b=self.b)  # fmt: skip
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: Path) -> ProfanityArrays:
        with np.load(path, allow_pickle=False) as z:
            return cls(z["words"].tolist(), z["idf"], z["coef"], z["intercept"], z["a"], z["b"])


def from_sklearn(vectorizer, model) -> ProfanityArrays | None:
    """The arrays of the unpickled model, or None when it is not of the shape described above."""
    v = vectorizer.get_params()
    expected = {"analyzer": "word", "ngram_range": (1, 1), "lowercase": True, "norm": "l2",
                "use_idf": True, "sublinear_tf": False, "binary": False, "strip_accents": None,
                "preprocessor": None, "tokenizer": None, "token_pattern": TOKEN.pattern}  # fmt: skip
    if any(v.get(k) != want for k, want in expected.items()):
        return None
    clfs = getattr(model, "calibrated_classifiers_", [])
    if not clfs or list(getattr(model, "classes_", [])) != [0, 1]:
        return None
    coef, intercept, a, b = [], [], [], []
    for cc in clfs:
        est = cc.estimator
        if cc.method != "sigmoid" or len(cc.calibrators) != 1 or est.coef_.shape[0] != 1:
            return None
        coef.append(np.asarray(est.coef_[0], dtype=np.float64))
        intercept.append(float(est.intercept_[0]))
        a.append(float(cc.calibrators[0].a_))
        b.append(float(cc.calibrators[0].b_))
    words = [""] * len(vectorizer.vocabulary_)
    for w, i in vectorizer.vocabulary_.items():
        words[i] = w
    return ProfanityArrays(words, vectorizer.idf_, np.stack(coef), intercept, a, b)


def load_predict_prob() -> tuple[Callable[[Sequence[str]], np.ndarray], str]:
    """``predict_prob`` for alt-profanity-check and how it was had ("cached arrays", ...)."""
    files = _model_files()
    key = None
    if files is not None:
        key = cache_path("profanity", files)
        if key.is_file():
            try:
                return ProfanityArrays.load(key).predict_prob, "cached arrays"
            except (OSError, ValueError, KeyError):
                pass  # unreadable cache: rebuilt below
    from profanity_check import profanity_check as pc

    arrays = from_sklearn(pc.vectorizer, pc.model)
    if arrays is None or key is None:
        return pc.predict_prob, "scikit-learn"
    if not np.allclose(
        arrays.predict_prob(PROBES), pc.predict_prob(list(PROBES)), rtol=0, atol=1e-9
    ):
        return pc.predict_prob, "scikit-learn"
    with suppress(OSError):  # a read-only cache dir: the next run unpickles again
        arrays.save(key)
    return arrays.predict_prob, "scikit-learn (arrays cached)"
