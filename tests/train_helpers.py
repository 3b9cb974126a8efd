"""Data and helpers the train tests share, reached through fixtures in conftest.py (test modules
never import each other or this file)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from curate.records import Record

ANSWERS = {
    "Give three tips for staying healthy.": "Eat well, sleep enough and move every day.",
    "What is 12 plus 30?": "12 + 30 = 42. The answer is 42.",
    "Translate to Spanish: good morning.": "Buenos días.",
    "Classify the sentiment of the review as positive or negative.": "Positive.",
}


def train_records() -> list[Record]:
    """Four records covering input, no input and chat turns (a fresh list: records are mutable)."""
    return [
        Record(
            id="a",
            instruction="Give three tips for staying healthy.",
            output="Eat well, sleep enough.",
        ),
        Record(
            id="b",
            instruction="Classify the sentiment.",
            input="The food was great.",
            output="Positive.",
        ),
        Record(id="c", instruction="What is 12 plus 30?", output="12 + 30 = 42. The answer is 42."),
        Record(
            id="d",
            instruction="Translate to Spanish: good morning.",
            output="Buenos días.",
            messages=[
                {"role": "system", "content": "Translate."},
                {"role": "user", "content": "good morning"},
                {"role": "assistant", "content": "Buenos días."},
            ],
        ),
    ]


def learnable_copy(src: Path, dst: Path) -> Path:
    """The fixture model with a 20× output head.

    Its random init (frozen final RMSNorm, lm_head std 0.02, hidden 64) bounds every logit to about
    ±1.3, so no adapter could make a token likely; a sharper head lets a few dozen steps memorise.
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(src)
    with torch.no_grad():
        model.get_output_embeddings().weight.mul_(20.0)
    model.save_pretrained(dst)
    AutoTokenizer.from_pretrained(src).save_pretrained(dst)
    return dst


def small_dataset(path: Path, repeat: int = 6) -> Path:
    """ANSWERS as alpaca JSONL, each pair ``repeat`` times."""
    with path.open("w", encoding="utf-8") as f:
        for _ in range(repeat):
            for instruction, output in ANSWERS.items():
                f.write(
                    json.dumps({"instruction": instruction, "input": "", "output": output}) + "\n"
                )
    return path


def gguf_tensors(path: Path) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """Every tensor of a GGUF file as float32 in numpy (row-major) shape, and its GGML type."""
    import gguf

    reader = gguf.GGUFReader(path)
    tensors = {
        t.name: gguf.quants.dequantize(t.data, t.tensor_type).astype(np.float32)
        for t in reader.tensors
    }
    return tensors, {t.name: t.tensor_type.name for t in reader.tensors}
