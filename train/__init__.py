"""instructforge's training side: QLoRA fine-tuning, merge, generation and GGUF export."""

from curate import __version__

__all__ = ["__version__"]
