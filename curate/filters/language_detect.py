"""Language identification: py3langid first (fast, ships its model), lingua only on doubt.

py3langid classifies ≈6,000 texts/s on one core; lingua is more accurate on short texts but
slower, so it is asked only when py3langid disagrees with the expected language without being
sure, and only among a few candidate languages (its models load in about a second).
Text is cleaned first (code, URLs, numbers and formulas removed) and texts with too few
ordinary words — labels, names, numbers, code — are not classified at all.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from functools import lru_cache
from typing import Any, NamedTuple

CODE_BLOCK = re.compile(r"```.*?(```|$)|`[^`\n]*`", re.DOTALL)
URL_OR_MAIL = re.compile(r"\S+://\S+|www\.\S+|\S+@\S+\.\S+")
# A token with a digit or a code/markup character is not language evidence.
NOISE_TOKEN = re.compile(r"(?<!\S)\S*?[0-9_=<>{}\[\]()\\/|#@$%^*+~]\S*")
NOISE_CHARS = frozenset("0123456789_=<>{}[]()\\/|#@$%^*+~")  # NOISE_TOKEN's class
NOISE_CHAR = re.compile(r"[0-9_=<>{}\[\]()\\/|#@$%^*+~]")
# Combining marks inside words: Indic vowel signs and viramas, Arabic and Hebrew points, Thai vowels
# (Unicode Mn/Mc, which \w does not match: without them "भारत" would be the runs "भ" and "रत").
MARKS = "\u0300-\u036f\u0483-\u0489\u0591-\u05bd\u0610-\u061a\u064b-\u065f\u0900-\u0dff\u0e31-\u0e3a\u0e47-\u0e4e"
LETTER_RUN = re.compile(rf"[^\W\d_](?:[^\W\d_]|[{MARKS}])+")
NO_DETECTION = ("und", "zxx")

# Codes that name one macro-language or mutually intelligible variants.
EQUIVALENT = {
    "no": ("nb", "nn"),
    "nb": ("no", "nn"),
    "nn": ("no", "nb"),
    "ms": ("id",),
    "id": ("ms",),
    "hr": ("bs", "sr"),
    "bs": ("hr", "sr"),
    "sr": ("hr", "bs"),
    "zh": ("wuu", "yue"),
    "fil": ("tl",),
    "tl": ("fil",),
}


class Detection(NamedTuple):
    lang: str  # ISO 639-1 where one exists, else the detector's code; "und" = not classified
    confidence: float
    detector: str  # "py3langid", "lingua" or "skipped"


def clean_for_detection(text: str, max_chars: int) -> str:
    """The prose of a text: code, URLs, numbers and formulas dropped, at most ``max_chars``."""
    text = text[: max_chars * 2]
    if "`" in text:
        text = CODE_BLOCK.sub(" ", text)
    if "://" in text or "www." in text or "@" in text:
        text = URL_OR_MAIL.sub(" ", text)
    # = " ".join(NOISE_TOKEN.sub(" ", text).split()): whitespace tokens with a noise character go
    tokens = text.split()
    if NOISE_CHAR.search(text) is not None:
        tokens = [t for t in tokens if NOISE_CHARS.isdisjoint(t)]
    return " ".join(tokens)[:max_chars]


def enough_prose(text: str, min_letters: int, min_words: int) -> bool:
    """The text has at least ``min_letters`` letters and ``min_words`` ordinary words.

    Lowercase words count (names, acronyms, German nouns aside); in scripts without case (Chinese,
    Arabic, Hindi …) one word per two letters. Stops reading as soon as both minimums are reached.
    """
    if min_letters <= 0 and min_words <= 0:
        return True
    letters = words = 0
    for m in LETTER_RUN.finditer(text):
        run = m.group()
        letters += len(run)
        first = run[0]
        if first.islower():
            words += 1
        elif not first.isupper():
            words += max(1, len(run) // 2)
        if letters >= min_letters and words >= min_words:
            return True
    return False


@lru_cache(maxsize=1)
def py3langid_model() -> Any:
    """The bundled py3langid model with normalised probabilities (loaded once per process).

    The model ships as an LZMA-compressed npz (4.5 MB → 65 MB, ≈0.5 s CPU to unpack): the
    unpacked npz is kept in the model cache (curate/model_cache.py) and read from there with
    py3langid's own loading steps; on any failure the package's loader is used.
    """
    from py3langid.langid import MODEL_DIR, MODEL_FILE, LanguageIdentifier

    try:
        *arrays, row = _unpacked_model(MODEL_DIR / MODEL_FILE)
        return LanguageIdentifier(*arrays, norm_probs=True, tk_row=row)
    except Exception:  # noqa: BLE001 - an unreadable cache or another model layout
        return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def _unpacked_model(packed: Any) -> tuple[Any, ...]:
    """py3langid.modelio.load_model's arrays, from the cached unpacked npz (made once)."""
    import lzma
    import os
    import shutil

    import numpy as np
    from py3langid.modelio import _to_array

    from curate.model_cache import cache_path, temp_beside

    plain = cache_path("py3langid", [packed])
    if not plain.is_file():
        tmp = temp_beside(plain)
        with lzma.open(packed) as src, open(tmp, "wb") as dst:
            shutil.copyfileobj(src, dst, length=1 << 20)
        os.replace(tmp, plain)
    with np.load(plain, allow_pickle=False) as data:
        ptc, pc, classes = np.asarray(data["ptc"]), np.asarray(data["pc"]), data["classes"].tolist()
        nextmove, row = _to_array(data["nextmove"]), _to_array(data["nextmove_row"])
        output = data["out_feat"].tolist()
    return ptc, pc, classes, nextmove, output, row


@lru_cache(maxsize=1)
def lingua_languages() -> dict[str, Any]:
    from lingua import Language

    return {lang.iso_code_639_1.name.lower(): lang for lang in Language.all()}


@lru_cache(maxsize=32)
def lingua_detector(codes: frozenset[str]) -> Any:
    """A lingua detector restricted to ``codes`` (built once per candidate set and process)."""
    from lingua import LanguageDetectorBuilder

    langs = [lingua_languages()[c] for c in sorted(codes)]
    return LanguageDetectorBuilder.from_languages(*langs).build()


LINGUA_RESIDENT = 20  # language models lingua keeps loaded (~25 MB each), least recently used go
_resident: OrderedDict[str, None] = OrderedDict()


def _keep_resident(codes: frozenset[str]) -> None:
    """Mark ``codes`` as used; past ``LINGUA_RESIDENT`` languages, unload the least recently used
    others. lingua shares each language's model between its detectors and loads it again on
    demand, so answers do not change; without this, every rare language py3langid ever guesses
    stays loaded and memory grows with the corpus."""
    for code in sorted(codes):
        _resident[code] = None
        _resident.move_to_end(code)
    if len(_resident) <= LINGUA_RESIDENT:
        return
    from lingua import LanguageDetectorBuilder

    spare = [c for c in _resident if c not in codes]
    evict = spare[: len(_resident) - LINGUA_RESIDENT]
    langs = [lingua_languages()[c] for c in evict]
    LanguageDetectorBuilder.from_languages(*langs).build().unload_language_models()
    for code in evict:
        del _resident[code]


def lingua_detect(text: str, candidates: set[str]) -> Detection | None:
    """lingua's best guess among the candidates it knows, or None when fewer than two remain."""
    codes = frozenset(c for c in candidates if c in lingua_languages())
    if len(codes) < 2:
        return None
    _keep_resident(codes)
    values = lingua_detector(codes).compute_language_confidence_values(text)
    if not values:
        return None
    best = values[0]
    return Detection(best.language.iso_code_639_1.name.lower(), float(best.value), "lingua")


def same_language(a: str, b: str) -> bool:
    return a == b or b in EQUIVALENT.get(a, ())
