"""Text primitives every filter shares: normalising, splitting into words, n-grams, language codes.

Three word splits, each kept because its callers' verdicts depend on exactly it:

- ``folded_words`` (dedup): NFKC, casefold, split at Unicode punctuation and whitespace. Two
  texts that differ only in case, width, ligatures or punctuation give the same words in any
  script; combining marks (Devanagari vowel signs, Thai tone marks) and symbols stay inside words.
- ``word_runs`` (decontamination, the quality echo and repeated-sentence checks): the ``\\w+`` runs
  of the lowercased text, as contamination studies count words. Unlike ``folded_words`` it drops
  symbols (``a+b`` → ``a``, ``b``), keeps ``_`` inside words, splits at combining marks and
  lowercases instead of casefolding (``ß`` stays ``ß``).
- ``apostrophe_words`` (the quality repetition check): ``word_runs`` joined across an apostrophe
  inside a word (``don't``, ``l’eau``), so Gopher's repeated n-gram share counts a contraction
  as one word.

The fast paths that produce the same words without Python per word (dedup's byte buffer in
``curate.filters.dedup_text``, decontamination's ``bytes.translate`` split) are tested equal to
these functions (tests/test_text.py, tests/test_minhash.py).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator, Sequence
from functools import lru_cache
from typing import TypeVar

T = TypeVar("T")

WORD_RUN = re.compile(r"\w+")
APOSTROPHE_WORD = re.compile(r"\w+(?:['’]\w+)*")
_LANG_SEP = re.compile(r"[_\-]")


# ---------------------------------------------------------------- normalising (dedup)


class _SeparatorsToSpace(dict):
    """A ``str.translate`` table filled as characters are met: punctuation (category P*) and
    whitespace → a space, any other character → itself. One Unicode lookup per distinct
    character seen, where building the table for all 1.1M code points up front took ~0.3 s per
    process."""

    def __missing__(self, code: int) -> int | str:
        char = chr(code)
        to_space = char.isspace() or unicodedata.category(char).startswith("P")
        value: int | str = " " if to_space else code
        self[code] = value
        return value


_SEPARATORS_TO_SPACE = _SeparatorsToSpace()


def fold(text: str) -> str:
    """NFKC, casefold, every Unicode punctuation or whitespace character → a space.

    The words are what ``str.split`` finds in it (``folded_words``); near dedup's byte buffer
    takes a non-ASCII text in this form, where every byte >= 0x80 left is part of a word.
    """
    return unicodedata.normalize("NFKC", text).casefold().translate(_SEPARATORS_TO_SPACE)


def folded_words(text: str) -> list[str]:
    """``fold`` split at the spaces: case, width, ligature and punctuation blind words.

    Used by exact dedup (through ``normalize``) and near dedup (word shingles). ``"Hello,
    World!"`` and ``"hello world"`` give the same words; so do ``"ﬁne"`` and ``"FINE"``.
    """
    return fold(text).split()


def normalize(text: str) -> str:
    """``folded_words`` joined by one space: the text exact dedup hashes."""
    return " ".join(folded_words(text))


def chars(text: str) -> str:
    """The normalised text with all whitespace removed: the tokens of character shingles."""
    return "".join(folded_words(text))


# ---------------------------------------------------------------- words (decontam, quality)


def word_runs(text: str) -> list[str]:
    """The ``\\w+`` runs of the lowercased text (letters, digits, ``_``; other characters split).

    Used by decontamination (word n-grams shared with an eval item) and by the quality echo and
    repeated-sentence checks. Kept apart from ``folded_words``: see the module docstring.
    """
    return WORD_RUN.findall(text.lower())


def apostrophe_words(text: str) -> list[str]:
    """``word_runs`` joined across an apostrophe inside a word: ``"Don't"`` → ``["don't"]``.

    Used by the quality repetition check (Gopher's share of characters in repeated n-grams).
    """
    return APOSTROPHE_WORD.findall(text.lower())


# ---------------------------------------------------------------- n-grams and shingles


def ngrams(tokens: Sequence[T], n: int) -> Iterator[tuple[T, ...]]:
    """Every run of ``n`` consecutive tokens, in order; none when there are fewer than ``n``."""
    return zip(*(tokens[i:] for i in range(n)), strict=False)


def shingles(tokens: Sequence[T], n: int) -> list[tuple[T, ...]]:
    """``ngrams`` as near dedup takes them: fewer than ``n`` tokens (but some) are one shingle."""
    if len(tokens) < n:
        return [tuple(tokens)] if tokens else []
    return list(ngrams(tokens, n))


def word_shingles(text: str, n: int) -> list[tuple[str, ...]]:
    """Near dedup's word shingles of a text (the reference for minhash's vectorised path)."""
    return shingles(folded_words(text), n)


def char_shingles(text: str, n: int) -> list[tuple[str, ...]]:
    """Near dedup's character shingles, for languages written without spaces (``chars``)."""
    return shingles(chars(text), n)


# ---------------------------------------------------------------- language codes


def lang_code(code: str | None, *, as_given: bool = False) -> str | None:
    """The base language of a code, lowercase, ISO 639-1 where one exists; None and '' → None.

    ``EN`` → ``en``; ``en-US`` / ``pt_BR`` → ``en`` / ``pt``; ``zh-Hans`` / ``zh_CN`` → ``zh``;
    ``spa`` → ``es`` (a three-letter ISO 639-3 code that lingua knows maps to its two-letter
    twin; one it does not, such as ``yue``, stays). Surrounding whitespace is ignored.

    ``as_given=True`` only cuts the region or script and lowercases: no stripping, no ISO 639-3
    mapping (``zho`` stays ``zho``). Near dedup's no-space-language test has always seen codes
    this way: mapping would move a record labelled ``zho`` or ``jpn`` from word to character
    shingles and change its verdicts.
    """
    if not code:
        return None
    base = _LANG_SEP.split(code if as_given else code.strip(), maxsplit=1)[0].lower()
    if len(base) == 3 and not as_given:
        return _iso3_to_iso1().get(base, base)
    return base


@lru_cache(maxsize=1)
def _iso3_to_iso1() -> dict[str, str]:
    from lingua import Language

    return {
        lang.iso_code_639_3.name.lower(): lang.iso_code_639_1.name.lower()
        for lang in Language.all()
    }


def _codes(text: str) -> frozenset[str]:
    return frozenset(text.split())


# The languages of Bactrian-X (MBZUAI/Bactrian-X), which names each file and hub config after its
# language: es.json, zh.json … A file name is taken as a language only when its stem is one of them.
BACTRIAN_X_CODES = _codes(
    "af ar az bn cs de en es et fa fi fr gl gu he hi hr id it ja ka kk km ko lt lv mk ml mn mr "
    "my ne nl pl ps pt ro ru si sl sv sw ta te th tl tr uk ur vi xh zh"
)
# …unless the stem is also an everyday English word or a usual file name: my.jsonl, it.json,
# he.json, hi.jsonl, id.jsonl are someone's data, not Burmese, Italian, Hebrew, Hindi or
# Indonesian. (Stems such as no, dev, all, out, set are not Bactrian-X codes in the first place.)
# A run in one of these languages says so with --lang.
WORD_STEMS = _codes("he hi id it my")

# The codes the language stage's detectors can answer (py3langid's model), for checking --lang.
_DETECTABLE = _codes(
    "ace af am an ar ary arz as az ba bcl be bg bn br bs ca crh cs cy da de dz el en eo es et eu "
    "ext fa fi fo fr fuv fy ga gcf gcr gd gl gom grc gu gug guw ha hbo he hi hr ht hu hy id ig is "
    "it ja jv ka kab kik kk km kn ko ku ky la lb lg lij ln lo lt ltg lv mg mk ml mn mr ms mt my "
    "ne nl nn no nso oc om or pa pcm pl ps pt qu ro ru rw sa sdh se si sk sl sn so sq sr st sv sw "
    "ta te tg th tk tl tr tt ug uk ur uz uzs vec vi vo wa wuu xh yo yue zh zu"
)


def lang_from_name(stem: str, *, words_allowed: bool = False) -> str | None:
    """The language a name stands for (``es`` → ``es``, ``pt_BR`` → ``pt_BR``), or None when the
    name is not a Bactrian-X code, or is one that is also a common word (``my``, ``it``) unless
    ``words_allowed`` (a hub dataset's config names its subset on purpose)."""
    base, sep, region = stem.replace("-", "_").partition("_")
    if base not in BACTRIAN_X_CODES or (base in WORD_STEMS and not words_allowed):
        return None
    if sep and not (region.isascii() and region.isalpha() and 2 <= len(region) <= 4):
        return None
    return stem


def check_lang(code: str) -> str | None:
    """None when ``code`` is a language the filters know (``es``, ``pt-BR``, ``spa``); otherwise
    the reason, with a suggestion (``english`` → ``did you mean en?``)."""
    base = _LANG_SEP.split(code.strip(), maxsplit=1)[0].lower()
    if base in _DETECTABLE or base in BACTRIAN_X_CODES or base in _iso3_to_iso1():
        return None
    hint = _names_to_codes().get(code.strip().lower())
    if hint is None:
        import difflib

        close = difflib.get_close_matches(base, sorted(_DETECTABLE), n=1)
        hint = close[0] if close else None
    suggestion = f"; did you mean {hint}?" if hint else ""
    return f"unknown language code {code!r} (an ISO 639-1 code such as en, es, zh){suggestion}"


@lru_cache(maxsize=1)
def _names_to_codes() -> dict[str, str]:
    from lingua import Language

    return {lang.name.lower(): lang.iso_code_639_1.name.lower() for lang in Language.all()}


# Characters a terminal or a renderer acts on instead of showing: C0/C1 controls (ESC starts
# terminal escape sequences) but tab and newline, line/paragraph separators, bidi overrides.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def printable(text: str) -> str:
    """``text`` without the characters that would act on a terminal or a page (hostile data is
    shown, never obeyed); tabs and newlines stay."""
    return _CONTROL.sub("", text)
