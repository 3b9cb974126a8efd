"""Loading a transformers model and its tokenizer, as the transformers and mt backends do."""

from __future__ import annotations

from typing import Any

from curate.backends.base import BackendError, check_model_dir


def load_pretrained(
    path: str, model_class: Any, dtype: str, device: str, torch: Any, **tokenizer_kw: Any
) -> tuple[Any, Any]:
    """The tokenizer and the model (``model_class.from_pretrained``) of --model ``path``, moved to
    ``device``; ``dtype``: a torch dtype name, or auto (the checkpoint's). A missing model
    directory, or a model transformers cannot load, is a one-line BackendError."""
    check_model_dir(path)
    from transformers import AutoTokenizer

    torch_dtype = dtype if dtype == "auto" else getattr(torch, dtype)
    try:
        tokenizer = AutoTokenizer.from_pretrained(path, **tokenizer_kw)
        model = model_class.from_pretrained(path, dtype=torch_dtype).to(device)
    except (OSError, ValueError) as e:
        raise BackendError(f"transformers could not load --model {path}: {e}") from e
    return tokenizer, model
