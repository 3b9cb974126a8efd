"""ISO 639-1 codes → the language codes machine-translation models use.

- NLLB-200: FLORES-200 codes (``es`` → ``spa_Latn``), the token forced as the first output token.
- M2M100: ISO 639-1 codes themselves (``es``), through ``tokenizer.get_lang_id``.
- Marian (opus-mt): a per-pair model needs no code; a multi-target model (``opus-mt-en-ROMANCE``,
  the Tatoeba ``opus-mt-tc-*`` ones) starts the source with a ``>>xx<<`` token, where ``xx`` is the
  ISO 639-1 or ISO 639-3 code its vocabulary holds.
"""

from __future__ import annotations

# The 52 Bactrian-X languages and a few more, in FLORES-200 spelling (``<ISO 639-3>_<script>``),
# by script: "xx:yyy" is ISO 639-1 code xx → FLORES-200 yyy_<script>.
_BY_SCRIPT = {
    "Latn": (
        "af:afr az:azj ca:cat cs:ces da:dan de:deu en:eng es:spa et:est eu:eus "
        "fi:fin fr:fra ga:gle gl:glg hr:hrv hu:hun id:ind is:isl it:ita lt:lit "
        "lv:lvs ms:zsm nb:nob nl:nld no:nob pl:pol pt:por ro:ron sk:slk sl:slv "
        "sv:swe sw:swh tl:tgl tr:tur vi:vie xh:xho"
    ),
    "Arab": "ar:arb fa:pes ps:pbt ur:urd",
    "Beng": "bn:ben",
    "Gujr": "gu:guj",
    "Hebr": "he:heb",
    "Deva": "hi:hin mr:mar ne:npi",
    "Jpan": "ja:jpn",
    "Geor": "ka:kat",
    "Cyrl": "bg:bul kk:kaz mk:mkd mn:khk ru:rus sr:srp uk:ukr",
    "Khmr": "km:khm",
    "Hang": "ko:kor",
    "Mlym": "ml:mal",
    "Mymr": "my:mya",
    "Sinh": "si:sin",
    "Taml": "ta:tam",
    "Telu": "te:tel",
    "Thai": "th:tha",
    "Hans": "zh:zho",
    "Grek": "el:ell",
}
NLLB = {
    iso1: f"{flores}_{script}"
    for script, pairs in _BY_SCRIPT.items()
    for iso1, flores in (pair.split(":") for pair in pairs.split())
}


def iso3(code: str) -> str | None:
    """The ISO 639-3 twin of an ISO 639-1 code (``es`` → ``spa``), from lingua's table."""
    from curate.filters.language_detect import lingua_languages

    lang = lingua_languages().get(code)
    return lang.iso_code_639_3.name.lower() if lang is not None else None


def nllb_code(code: str, overrides: dict[str, str]) -> str:
    found = overrides.get(code) or NLLB.get(code)
    if found is None:
        raise ValueError(
            f"no NLLB code known for {code!r}; add it with --set mt.lang_codes.{code}=…"
        )
    return found


def marian_target_token(code: str, vocab: dict[str, int], overrides: dict[str, str]) -> str | None:
    """The ``>>xx<<`` token a multi-target Marian model needs for ``code``; None: a per-pair model
    (its vocabulary has no such tokens). ValueError when it has some, but not this language's."""
    if not any(t.startswith(">>") and t.endswith("<<") for t in vocab):
        return None
    candidates = [overrides.get(code), code, iso3(code)]
    for c in candidates:
        if c and f">>{c}<<" in vocab:
            return f">>{c}<<"
    raise ValueError(f"this Marian model has no >>{code}<< target token (nor its ISO 639-3 code)")
