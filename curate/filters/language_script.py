"""Writing systems as language evidence: what langid cannot see in a short text, a script shows.

- ``by_script``: a field written (80 %+ of its letters) in a script the expected language does not
  use identifies its language however short it is (``Спасибо`` in a ``zh`` record is Russian-script
  text; ``ありがとう`` in a ``zh`` record is Japanese). Latin is never evidence (names, code, loans in
  every language), nor Han for Japanese or Korean (kanji / hanja).
- ``mixed_script``: letters of a foreign script inside a record in its expected language (mojibake,
  a pasted fragment, a half-translated line), or a word that mixes Latin and Cyrillic letters
  (homoglyphs, ``Мoсква`` with a Latin ``o``). Greek is not counted: math writes α, θ, Δ everywhere.

Scripts are read from Unicode character names (``CYRILLIC SMALL LETTER A`` → ``CYRILLIC``).
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from functools import lru_cache
from typing import Any

# Scripts each language is written in (besides Latin, always allowed); absent: Latin only.
NATIVE: dict[str, frozenset[str]] = {
    lang: frozenset(scripts)
    for lang, scripts in {
        "zh": ("HAN",), "yue": ("HAN",), "wuu": ("HAN",), "ja": ("HAN", "HIRAGANA", "KATAKANA"),
        "ko": ("HANGUL", "HAN"), "ar": ("ARABIC",), "fa": ("ARABIC",), "ur": ("ARABIC",),
        "ps": ("ARABIC",), "ru": ("CYRILLIC",), "uk": ("CYRILLIC",), "bg": ("CYRILLIC",),
        "be": ("CYRILLIC",), "mk": ("CYRILLIC",), "sr": ("CYRILLIC",), "kk": ("CYRILLIC",),
        "mn": ("CYRILLIC",), "ky": ("CYRILLIC",), "tg": ("CYRILLIC",), "hi": ("DEVANAGARI",),
        "mr": ("DEVANAGARI",), "ne": ("DEVANAGARI",), "bn": ("BENGALI",), "gu": ("GUJARATI",),
        "pa": ("GURMUKHI",), "ta": ("TAMIL",), "te": ("TELUGU",), "kn": ("KANNADA",),
        "ml": ("MALAYALAM",), "si": ("SINHALA",), "th": ("THAI",), "lo": ("LAO",),
        "km": ("KHMER",), "my": ("MYANMAR",), "ka": ("GEORGIAN",), "hy": ("ARMENIAN",),
        "he": ("HEBREW",), "yi": ("HEBREW",), "el": ("GREEK",), "am": ("ETHIOPIC",),
    }.items()
}  # fmt: skip
# The language a script points to when it is foreign to the expected one.
LANG_OF_SCRIPT = {
    "HAN": "zh", "HIRAGANA": "ja", "KATAKANA": "ja", "HANGUL": "ko", "ARABIC": "ar",
    "CYRILLIC": "ru", "DEVANAGARI": "hi", "BENGALI": "bn", "GUJARATI": "gu", "GURMUKHI": "pa",
    "TAMIL": "ta", "TELUGU": "te", "KANNADA": "kn", "MALAYALAM": "ml", "SINHALA": "si",
    "THAI": "th", "LAO": "lo", "KHMER": "km", "MYANMAR": "my", "GEORGIAN": "ka",
    "ARMENIAN": "hy", "HEBREW": "he", "GREEK": "el", "ETHIOPIC": "am",
}  # fmt: skip
NOT_COUNTED = frozenset({"LATIN", "GREEK", "OTHER"})
WORD = re.compile(r"[^\W\d_]{3,}")
DOMINANT = 0.8  # share of a field's letters in one script for it to say the language
MIXED_SHARE = 0.05  # share of foreign-script letters that makes a record mixed
MIXED_MIN = 3  # … and at least this many of them


@lru_cache(maxsize=4096)
def script_of(char: str) -> str:
    name = unicodedata.name(char, "")
    first = name.split(" ", 1)[0]
    if first in ("CJK", "KANGXI"):
        return "HAN"
    if first == "HALFWIDTH" and "KATAKANA" in name:
        return "KATAKANA"
    return first if first in LANG_OF_SCRIPT or first == "LATIN" else "OTHER"


def script_counts(text: str) -> Counter[str]:
    return Counter(script_of(c) for c in text if c.isalpha())


def native(lang: str) -> frozenset[str]:
    return NATIVE.get(lang, frozenset()) | {"LATIN"}


def by_script(text: str, expected: str | None) -> tuple[str, float] | None:
    """(language, share) when ``text`` is written in a script that says it is not ``expected``."""
    if expected is None or not text or text.isascii():
        return None
    counts = script_counts(text)
    total = sum(counts.values())
    if total < 2:
        return None
    script, n = counts.most_common(1)[0]
    if expected == "zh" and counts["HIRAGANA"] + counts["KATAKANA"] >= max(2, total * 0.1):
        return "ja", round((counts["HIRAGANA"] + counts["KATAKANA"]) / total, 3)
    if n / total < DOMINANT or script in native(expected) or script == "OTHER":
        return None
    if script == "HAN" and expected in ("ja", "ko"):
        return None
    return LANG_OF_SCRIPT[script], round(n / total, 3)


def mixed_script(text: str, expected: str | None) -> dict[str, Any] | None:
    """Evidence that ``text``, in ``expected``, holds letters of a foreign script, else None."""
    if expected is None or not text or text.isascii():
        return None
    counts = script_counts(text)
    total = sum(counts.values())
    allowed = native(expected)
    foreign = {s: n for s, n in counts.items() if s not in allowed and s not in NOT_COUNTED}
    n = sum(foreign.values())
    if n >= MIXED_MIN and n / total >= MIXED_SHARE:
        script = max(foreign, key=foreign.__getitem__)
        return {"script": script.lower(), "letters": n, "share": round(n / total, 3)}
    for m in WORD.finditer(text):
        scripts = {script_of(c) for c in m.group()}
        if "LATIN" in scripts and "CYRILLIC" in scripts:
            return {"script": "latin+cyrillic", "word": m.group()}
    return None
