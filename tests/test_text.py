"""curate.text on tricky inputs, and the fast paths that must split exactly like it."""

from __future__ import annotations

import itertools
import re

import pytest

from curate.filters.decontam import word_run_bytes
from curate.filters.dedup_text import uses_char_shingles
from curate.io import read_records
from curate.text import (
    apostrophe_words,
    char_shingles,
    chars,
    fold,
    folded_words,
    lang_code,
    ngrams,
    normalize,
    shingles,
    word_runs,
    word_shingles,
)

TRICKY = [
    "Straße ＡＢＣ１２３ नमस्ते, दुनिया। 你好，世界。 a\u2028b c\x85d\u00a0e\u3000f",
    "",
    "  ,, !? ",
    "x",
    "Tab\there\x1funit-sep_under$dollar+plus|pipe`tick~tilde^caret<lt>=",
    "ĲSSELMEER Café ﬁne — “quoted” ¿qué? «oui» ÅNGSTRÖM",
    "Don't stop: l’eau isn't 'quoted' O'Brien's",
    "\u212a is the Kelvin sign; \u0130stanbul",
]


def test_folded_words_nfkc_casefold_and_unicode_punctuation() -> None:
    assert folded_words("ﬁne ＦＩＮＥ") == ["fine", "fine"]  # NFKC ligature and full width
    assert folded_words("Straße") == folded_words("STRASSE") == ["strasse"]  # casefold
    assert folded_words("  ,, !? ") == [] and folded_words("") == []
    assert folded_words("नमस्ते, दुनिया।") == ["नमस्ते", "दुनिया"]  # vowel signs stay in words
    assert folded_words("a+b_c “q”") == ["a+b", "c", "q"]  # symbols stay, "_" (Pc) splits
    assert normalize("  Hello,\tWORLD!! ") == "hello world"
    assert fold("A\u2028b,\u3000Ｃ") == "a b  c"  # one space per separator: fold keeps them
    assert chars("你好，世界。 Ab") == "你好世界ab"


def test_word_runs_differ_from_folded_words_as_documented() -> None:
    assert word_runs("a+b_c Straße ﬁne") == ["a", "b_c", "straße", "ﬁne"]
    assert word_runs("नमस्ते") != folded_words("नमस्ते")  # \w+ splits at combining marks
    assert word_runs("  ,, !? ") == []
    assert apostrophe_words("Don't stop, l’eau") == ["don't", "stop", "l’eau"]
    assert word_runs("Don't") == ["don", "t"]


def test_ngrams_and_shingles() -> None:
    assert list(ngrams(["a", "b", "c"], 2)) == [("a", "b"), ("b", "c")]
    assert list(ngrams(["a"], 2)) == []
    assert shingles(["a"], 2) == [("a",)] and shingles([], 2) == []
    assert word_shingles("One, two! THREE", 2) == [("one", "two"), ("two", "three")]
    assert word_shingles("Hi!", 5) == [("hi",)]
    assert char_shingles("你好，世界。", 2) == [("你", "好"), ("好", "世"), ("世", "界")]
    assert char_shingles("猫", 3) == [("猫",)] and char_shingles("。！", 3) == []


def test_decontam_byte_split_equals_word_runs(shared_data) -> None:
    texts = TRICKY + [
        r.text()
        for path in ("gpteacher/roleplay.json", "gpteacher/toolformer.json")
        for r in itertools.islice(read_records(str(shared_data / path)), 1500)
    ]
    assert sum(t.isascii() for t in texts) > 100 and sum(not t.isascii() for t in texts) > 20
    for text in texts:
        expect = [w.encode("utf-8", "surrogatepass") for w in word_runs(text)]
        assert word_run_bytes(text) == expect, text


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("EN", "en"),
        ("en-US", "en"),
        ("pt_BR", "pt"),
        ("zh_Hans", "zh"),
        ("zh-CN", "zh"),
        ("spa", "es"),
        ("ZHO", "zh"),
        ("yue", "yue"),  # no ISO 639-1 twin
        (" de ", "de"),
        (None, None),
        ("", None),
    ],
)
def test_lang_code(code: str | None, expected: str | None) -> None:
    assert lang_code(code) == expected


def _old_normalise_code(code: str | None) -> str | None:  # language_detect, before curate.text
    if not code:
        return None
    base = re.split(r"[_\-]", code.strip())[0].lower()
    return {"spa": "es", "zho": "zh", "jpn": "ja", "deu": "de"}.get(base, base)


def _old_base_lang(lang: str | None) -> str | None:  # dedup_text, before curate.text
    if not lang:
        return None
    return lang.replace("_", "-").split("-")[0].lower()


def test_lang_code_gives_both_old_normalisers_answers() -> None:
    codes = ["EN", "en-US", "zh_Hans", "zh-Hant-TW", "spa", "zho", "JPN", "deu", "yue", "x"]
    codes += [" zh", "zh ", "  ", "-", "_en", "pt__BR", "sr-Latn-RS", None, ""]
    for code in codes:
        assert lang_code(code) == _old_normalise_code(code), code
        assert lang_code(code, as_given=True) == _old_base_lang(code), code


def test_no_space_languages_get_char_shingles() -> None:
    assert uses_char_shingles("zh-CN") and uses_char_shingles("ja") and uses_char_shingles("yue")
    assert not uses_char_shingles("en") and not uses_char_shingles(None)
    assert not uses_char_shingles("zho")  # a three-letter code is taken as given here
