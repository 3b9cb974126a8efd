"""`curate translate`'s configuration: one dataclass ↔ YAML (--config) ↔ flags (--set)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Literal

from curate.backends.mt_backend import MTConfig
from curate.backends.registry import check_backend_config, with_backend_sections
from curate.config import ConfigError, ConfigSpec, Origins, option
from curate.filters.language import LanguageConfig
from curate.text import check_lang
from curate.translate.spans import KINDS

SPAN_KINDS = [kind for kind, _ in KINDS]


@dataclass
class TranslateSampling:
    temperature: float = option(0.0, "Sampling temperature of translation prompts; 0: greedy.")
    max_tokens: int = option(
        512,
        "Most tokens of one translated field (a reply cut there is a translate:truncated reject).",
    )
    generate_temperature: float = option(
        0.7,
        "--outputs generate: sampling temperature of the output written in the target language.",
    )
    generate_max_tokens: int = option(
        512, "--outputs generate: most tokens of a generated output (cut: translate:truncated)."
    )


@dataclass
class TranslateChecks:
    skip_translation_tasks: bool = option(
        True, 'Skip "translate this into French" tasks (reason translate:skip-translation-task).'
    )
    skip_english_tasks: bool = option(
        True,
        "Skip tasks about English itself: spelling, grammar, rhymes, anagrams, syllables"
        " (reason translate:skip-english-task).",
    )
    skip_code_only: bool = option(
        True, "Skip records whose output is only code (reason translate:skip-code-only)."
    )
    protect: list[str] = option(
        list(SPAN_KINDS),
        f"Spans masked before translation and restored verbatim after ({', '.join(SPAN_KINDS)});"
        " one the model drops is a translate:lost-span reject.",
    )
    length_ratio: bool = option(
        True,
        "Reject a field whose translation is far longer or shorter than the source, after the"
        " target script's usual ratio (reason translate:length-ratio).",
    )
    max_length_factor: float = option(
        3.0, "A field may be this many times longer, or this many times shorter, than expected."
    )
    length_min_chars: int = option(
        20, "Sources shorter than this many characters are never length-ratio rejects."
    )


@dataclass
@with_backend_sections  # engine (vllm), openai, transformers: as in curate generate
class TranslateConfig:
    model: str = option(
        "",
        "Model directory or hub id (openai: the served name; mt: may hold {src} and {tgt},"
        " e.g. Helsinki-NLP/opus-mt-{src}-{tgt}); required.",
        flag="--model",
    )
    backend: str = option(
        "vllm",
        "What translates: vllm, openai, transformers (a prompt from prompts/translate/) or mt"
        " (a seq2seq translation model).",
        flag="--backend",
    )
    base_url: str | None = option(
        None, "The OpenAI-compatible server's URL (backend openai).", flag="--base-url"
    )
    adapter: str | None = option(None, "LoRA adapter directory (openai: its served name).")
    langs: list[str] = option(
        [], "Target languages, ISO 639-1 (es,de,zh); required.", flag="--langs", sep=","
    )
    source_lang: str = option("en", "Language of the input records.", flag="--source-lang")
    outputs: Literal["translate", "generate"] = option(
        "translate",
        "translate: instruction, input and output translated; generate: instruction and input"
        " translated, the output written by the model in the target language (Bactrian-X).",
        flag="--outputs",
    )
    batch_size: int = option(
        32,
        "Source records per batch; each finished batch is committed (resume point).",
        flag="--batch-size",
    )
    limit: int | None = option(
        None, "Translate only the first N source records; null: all.", flag="--limit"
    )
    to: str | None = option(
        None,
        "Also write each language as DIR/<lang>.<ext> in this format or container when the run"
        " ends (alpaca, sharegpt, chatml, json, parquet, csv …); null: DIR/<lang>.jsonl only.",
        flag="--to",
    )
    seed: int = option(0, "Sampling seed (prompt i of a batch uses seed + i).", flag="--seed")
    sampling: TranslateSampling = option(TranslateSampling, "Sampling of the model calls.")
    checks: TranslateChecks = option(TranslateChecks, "What is skipped, protected and checked.")
    language: LanguageConfig = option(
        LanguageConfig,
        "Wrong-language check of every translation (curate filter's language stage, its lang"
        " set to the target).",
    )
    mt: MTConfig = option(MTConfig, "The mt backend's settings (--backend mt).")

    def identity(self) -> dict[str, Any]:
        """What a resumed run must share with the run it continues."""
        keys = ("model", "backend", "adapter", "source_lang", "outputs", "seed")
        ident = {k: getattr(self, k) for k in keys}
        ident["sampling"] = dataclasses.asdict(self.sampling)
        ident["protect"] = list(self.checks.protect)
        return ident


def check_config(cfg: TranslateConfig, origins: Origins) -> None:
    where = origins.where
    if not cfg.model:
        raise ConfigError("--model is required (a model directory or a hub id)")
    if not cfg.langs:
        raise ConfigError("--langs is required: the target languages, e.g. --langs es,de,zh")
    for key, codes in (("langs", cfg.langs), ("source_lang", [cfg.source_lang])):
        for code in codes:
            problem = check_lang(code)
            if problem:
                raise ConfigError(f"{where(key)}: {problem}")
    if cfg.source_lang in cfg.langs:
        raise ConfigError(f"{where('langs')}: {cfg.source_lang} is the source language")
    if len(set(cfg.langs)) != len(cfg.langs):
        raise ConfigError(f"{where('langs')}: a language is listed twice: {','.join(cfg.langs)}")
    for key in ("batch_size",):
        if getattr(cfg, key) < 1:
            raise ConfigError(f"{where(key)}: expected at least 1, got {getattr(cfg, key)}")
    if cfg.limit is not None and cfg.limit < 1:
        raise ConfigError(f"{where('limit')}: expected at least 1 or null, got {cfg.limit}")
    bad = sorted(set(cfg.checks.protect) - set(SPAN_KINDS))
    if bad:
        raise ConfigError(
            f"{where('checks.protect')}: unknown span kind(s) {bad}; one of {SPAN_KINDS}"
        )
    if cfg.backend == "mt" and cfg.outputs == "generate":  # mt is registered: checked first
        raise ConfigError(
            f"{where('outputs')}: generate needs a model that writes (vllm, openai or"
            " transformers); --backend mt only translates: use --outputs translate"
        )
    check_backend_config(cfg, where, structured=False)


SPEC = ConfigSpec(
    TranslateConfig,
    source="translate options",
    check=check_config,
    example="checks.max_length_factor=2.5",
)
