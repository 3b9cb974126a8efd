"""ISO 639-1 codes → the language codes machine-translation models use.

- NLLB-200: FLORES-200 codes (``es`` → ``spa_Latn``), the token forced as the first output token.
- M2M100: ISO 639-1 codes themselves (``es``), through ``tokenizer.get_lang_id``.
- Marian (opus-mt): a per-pair model needs no code; a multi-target model (``opus-mt-en-ROMANCE``,
  the Tatoeba ``opus-mt-tc-*`` ones) starts the source with a ``>>xx<<`` token, where ``xx`` is the
  ISO 639-1 or ISO 639-3 code its vocabulary holds.
"""

from __future__ import annotations

# The 52 Bactrian-X languages and a few more, in FLORES-200 spelling.
NLLB = {
    "af": "afr_Latn", "ar": "arb_Arab", "az": "azj_Latn", "bn": "ben_Beng", "cs": "ces_Latn",
    "de": "deu_Latn", "en": "eng_Latn", "es": "spa_Latn", "et": "est_Latn", "fa": "pes_Arab",
    "fi": "fin_Latn", "fr": "fra_Latn", "gl": "glg_Latn", "gu": "guj_Gujr", "he": "heb_Hebr",
    "hi": "hin_Deva", "hr": "hrv_Latn", "id": "ind_Latn", "it": "ita_Latn", "ja": "jpn_Jpan",
    "ka": "kat_Geor", "kk": "kaz_Cyrl", "km": "khm_Khmr", "ko": "kor_Hang", "lt": "lit_Latn",
    "lv": "lvs_Latn", "mk": "mkd_Cyrl", "ml": "mal_Mlym", "mn": "khk_Cyrl", "mr": "mar_Deva",
    "my": "mya_Mymr", "ne": "npi_Deva", "nl": "nld_Latn", "pl": "pol_Latn", "ps": "pbt_Arab",
    "pt": "por_Latn", "ro": "ron_Latn", "ru": "rus_Cyrl", "si": "sin_Sinh", "sl": "slv_Latn",
    "sv": "swe_Latn", "sw": "swh_Latn", "ta": "tam_Taml", "te": "tel_Telu", "th": "tha_Thai",
    "tl": "tgl_Latn", "tr": "tur_Latn", "uk": "ukr_Cyrl", "ur": "urd_Arab", "vi": "vie_Latn",
    "xh": "xho_Latn", "zh": "zho_Hans", "bg": "bul_Cyrl", "ca": "cat_Latn", "da": "dan_Latn",
    "el": "ell_Grek", "hu": "hun_Latn", "nb": "nob_Latn", "no": "nob_Latn", "sk": "slk_Latn",
    "sr": "srp_Cyrl", "eu": "eus_Latn", "ga": "gle_Latn", "is": "isl_Latn", "ms": "zsm_Latn",
}  # fmt: skip


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
