"""Machine translation with a transformers seq2seq model: Marian (opus-mt), NLLB-200 or M2M100.

Batched, greedy or beam search, the model's own language codes mapped from ISO 639-1
(``curate.backends.mt_codes``). ``--model`` may hold ``{src}`` and ``{tgt}`` for Marian's per-pair
models (``Helsinki-NLP/opus-mt-{src}-{tgt}``): one model per language pair, loaded when first
needed. It only translates (``translate``); ``complete`` — free generation — is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from curate.backends.base import (
    PROMPT_TOO_LONG,
    BackendError,
    BackendOptions,
    Completion,
    SamplingParams,
)
from curate.backends.hf_load import load_pretrained
from curate.backends.mt_codes import marian_target_token, nllb_code
from curate.config import option


@dataclass
class MTConfig:
    batch_size: int = option(16, "Texts (lines) per generate() call.")
    num_beams: int = option(1, "Beam width; 1: greedy (fastest).")
    max_input_tokens: int = option(
        512, "Input tokens kept per text (longer ones are cut and come back 'length')."
    )
    family: Literal["auto", "marian", "nllb", "m2m100"] = option(
        "auto", "Model family, for its language codes; auto: from the model's config and tokenizer."
    )
    lang_codes: dict[str, str] = option(
        {}, "ISO 639-1 code → the model's own code (es: spa_Latn), overriding the built-in table."
    )
    dtype: str = option("auto", "Torch dtype name (bfloat16, float16, float32) or auto.")
    device: str | None = option(None, "Torch device; null: cuda if any, else cpu.")


class _Loaded:
    """One model + tokenizer and its family."""

    def __init__(self, path: str, cfg: MTConfig, device: str, torch: Any):
        from transformers import AutoModelForSeq2SeqLM

        self.tokenizer, self.model = load_pretrained(
            path, AutoModelForSeq2SeqLM, cfg.dtype, device, torch
        )
        self.model.eval()
        self.family = cfg.family if cfg.family != "auto" else _family(self.model, self.tokenizer)


def _family(model: Any, tokenizer: Any) -> str:
    kind = getattr(model.config, "model_type", "")
    if kind == "marian":
        return "marian"
    if "nllb" in type(tokenizer).__name__.lower() or "spa_Latn" in tokenizer.get_vocab():
        return "nllb"
    if kind == "m2m_100":
        return "m2m100"
    raise BackendError(
        f"--backend mt: cannot tell the language codes of a {kind or 'unknown'} model; set"
        " mt.family to marian, nllb or m2m100"
    )


class MTBackend:
    name = "mt"

    def __init__(self, model: str, *, config: MTConfig | None = None):
        import torch

        self.torch = torch
        self.model = model
        self.adapter: str | None = None
        self.config = config or MTConfig()
        self.device = self.config.device or ("cuda" if torch.cuda.is_available() else "cpu")
        self._loaded: dict[str, _Loaded] = {}
        if "{" not in model:
            self._load(model)  # a bad path fails now, before any work

    @classmethod
    def from_options(cls, opts: BackendOptions) -> MTBackend:
        if opts.adapter:
            raise BackendError("--adapter: the mt backend takes no LoRA adapter")
        return cls(opts.model, config=opts.config)

    def _load(self, path: str) -> _Loaded:
        if path not in self._loaded:
            self._loaded[path] = _Loaded(path, self.config, self.device, self.torch)
        return self._loaded[path]

    def model_for(self, source: str, target: str) -> str:
        return self.model.replace("{src}", source).replace("{tgt}", target)

    def complete(self, prompts: list[str], params: SamplingParams) -> list[list[Completion]]:
        raise BackendError(
            "--backend mt only translates (curate translate --outputs translate); free generation"
            " needs vllm, openai or transformers"
        )

    def translate(
        self, texts: list[str], source: str, target: str, max_tokens: int = 512
    ) -> list[Completion]:
        """One Completion per text: its translation from ``source`` into ``target`` (ISO 639-1)."""
        m = self._load(self.model_for(source, target))
        try:
            prefix, gen_kw = self._codes(m, source, target)
        except ValueError as e:
            raise BackendError(f"--backend mt: {e}") from None
        out: list[Completion] = []
        size = max(1, self.config.batch_size)
        for start in range(0, len(texts), size):
            chunk = [prefix + t for t in texts[start : start + size]]
            out += self._batch(m, chunk, gen_kw, max_tokens)
        return out

    def _codes(self, m: _Loaded, source: str, target: str) -> tuple[str, dict[str, Any]]:
        tok, over = m.tokenizer, self.config.lang_codes
        if m.family == "marian":
            token = marian_target_token(target, tok.get_vocab(), over)
            return (f"{token} " if token else ""), {}
        if m.family == "nllb":
            tok.src_lang = nllb_code(source, over)
            return "", {"forced_bos_token_id": tok.convert_tokens_to_ids(nllb_code(target, over))}
        tok.src_lang = over.get(source, source)
        return "", {"forced_bos_token_id": tok.get_lang_id(over.get(target, target))}

    def _batch(
        self, m: _Loaded, texts: list[str], gen_kw: dict[str, Any], max_tokens: int
    ) -> list[Completion]:
        tok = m.tokenizer
        positions = getattr(m.model.config, "max_position_embeddings", None) or 10**9
        limit = min(self.config.max_input_tokens, positions)
        full = [len(ids) for ids in tok(texts)["input_ids"]]  # before cutting: too long?
        enc = tok(texts, return_tensors="pt", padding=True, truncation=True, max_length=limit).to(
            self.device
        )
        max_new = min(max_tokens, positions - 2)
        with self.torch.inference_mode():
            ids = m.model.generate(
                **enc, max_new_tokens=max_new, num_beams=self.config.num_beams, **gen_kw
            )
        prompt_lens = enc["attention_mask"].sum(dim=1).tolist()
        special = {tok.pad_token_id, m.model.config.decoder_start_token_id}
        special.add(gen_kw.get("forced_bos_token_id"))
        eos = tok.eos_token_id
        result = []
        for i, row in enumerate(ids.tolist()):
            new = [t for t in row if t not in special]
            stopped = eos in new
            if stopped:
                new = new[: new.index(eos)]
            text = tok.decode(new, skip_special_tokens=True).strip()
            # opus-mt configs force an end token at the length limit: a reply that long was cut
            reason = "stop" if stopped and len(new) + 1 < max_new else "length"
            if full[i] > limit:  # the model saw only the first `limit` tokens of it
                reason = PROMPT_TOO_LONG
            result.append(Completion(text, reason, int(prompt_lens[i]), len(new)))
        return result

    def close(self) -> None:
        self._loaded.clear()
