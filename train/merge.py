"""`train merge`: fold a LoRA adapter into its base model, loaded in bf16/fp16 (never the 4-bit weights).

The result is a plain Hugging Face checkpoint (safetensors + config + tokenizer) that transformers,
vLLM and the GGUF converter load.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from train.adapter import load_with_adapter
from train.model import DTYPES


def fix_falcon_config(directory: Path) -> bool:
    """Falcon-7B (multi-query, old architecture) has one KV head, but a config re-saved by
    transformers records ``num_kv_heads = num_attention_heads``, which llama.cpp's converter
    believes. Write the true value (transformers ignores it for this architecture)."""
    path = directory / "config.json"
    config = json.loads(path.read_text(encoding="utf-8"))
    if config.get("model_type") != "falcon" or config.get("new_decoder_architecture"):
        return False
    if not config.get("multi_query", True) or config.get("num_kv_heads") == 1:
        return False
    config["num_kv_heads"] = 1
    path.write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    return True


def merge(
    adapter: str | Path, out: str | Path, dtype: str = "bf16", base: str | None = None
) -> Path:
    """Merge ``adapter`` into its base; write the merged model to ``out`` atomically."""
    model, tokenizer = load_with_adapter(adapter, DTYPES[dtype], base)
    merged = model.merge_and_unload()
    out = Path(out)
    tmp = out.with_name(f".{out.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    merged.save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    fix_falcon_config(tmp)
    # save_pretrained may write 0600 files; vLLM run by another user must read them
    for f in tmp.iterdir():
        f.chmod(0o644)
    if out.exists():
        shutil.rmtree(out)
    tmp.rename(out)
    return out
