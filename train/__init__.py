"""instructforge's training side: QLoRA fine-tuning, merge, generation and GGUF export."""

import logging

from curate import __version__

__all__ = ["__version__"]


def _optional_kernel_notice(record: logging.LogRecord) -> bool:
    """Drop bitsandbytes' "Failed to load CPU gemm_4bit_forward from kernels-community" warning.

    On a CPU with AVX512-BF16, bitsandbytes (0.49+) tries to fetch an optional faster 4-bit matmul
    from the Hugging Face hub through the `kernels` package, which we do not install; without it
    bitsandbytes uses its own CPU kernel, with the same results. The warning came before every
    `train` command and asked for nothing a user needs to do.
    """
    return "gemm_4bit_forward" not in str(record.msg)


logging.getLogger("bitsandbytes.backends.cpu.ops").addFilter(_optional_kernel_notice)
