"""A tiny random-init Marian translation model with a real MarianTokenizer, built offline.

The tokenizer's two SentencePiece models are trained on the fly on a few sentences (the
``sentencepiece`` package); the vocabulary holds ``>>es<<``-style target tokens, as multi-target
opus-mt models do. ``from_pretrained`` loads the directory like any opus-mt checkpoint.
"""

from __future__ import annotations

import json
from pathlib import Path

CORPUS = [
    "Give three tips for staying healthy. Eat well, sleep enough and move every day.",
    "Da tres consejos para mantenerse sano. Come bien, duerme lo suficiente y muévete.",
    "Gib drei Tipps, um gesund zu bleiben. Iss gut, schlaf genug und beweg dich jeden Tag.",
    "Write a short poem about the sea. The sea is wide and blue, it sings a song for you.",
    "Explain what photosynthesis is. Plants use light, water and carbon dioxide to make food.",
    "[[1]] [[2]] [[3]] 1 2 3 4 5 6 7 8 9 0 . , ; : ! ? ( ) ' \" - the of and to in is",
]
TARGETS = ("es", "de", "fr", "zh")


def build_tiny_marian(
    path: str | Path,
    *,
    seed: int = 0,
    targets: tuple[str, ...] = TARGETS,
    d_model: int = 32,
    layers: int = 1,
) -> Path:
    import sentencepiece as spm
    import torch
    from transformers import MarianConfig, MarianMTModel, MarianTokenizer

    torch.manual_seed(seed)
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    (path / "corpus.txt").write_text("\n".join(CORPUS * 3) + "\n", encoding="utf-8")
    spm.SentencePieceTrainer.train(
        input=str(path / "corpus.txt"),
        model_prefix=str(path / "spm"),
        vocab_size=120,
        hard_vocab_limit=False,
        model_type="unigram",
        character_coverage=1.0,
        pad_id=-1,
        bos_id=-1,
        eos_id=1,
        unk_id=0,
        minloglevel=2,
    )
    (path / "corpus.txt").unlink()
    sp = spm.SentencePieceProcessor(model_file=str(path / "spm.model"))
    pieces = ["</s>", "<unk>", "<pad>", *(f">>{t}<<" for t in targets)]
    pieces += [
        p for p in (sp.id_to_piece(i) for i in range(sp.get_piece_size())) if p not in pieces
    ]
    (path / "vocab.json").write_text(json.dumps({p: i for i, p in enumerate(pieces)}), "utf-8")
    for name in ("source.spm", "target.spm"):
        (path / name).write_bytes((path / "spm.model").read_bytes())
    for extra in ("spm.model", "spm.vocab"):
        (path / extra).unlink()
    tok = MarianTokenizer(
        vocab=str(path / "vocab.json"),
        source_spm=str(path / "source.spm"),
        target_spm=str(path / "target.spm"),
    )
    config = MarianConfig(
        vocab_size=len(pieces),
        d_model=d_model,
        encoder_layers=layers,
        decoder_layers=layers,
        encoder_attention_heads=2,
        decoder_attention_heads=2,
        encoder_ffn_dim=d_model * 2,
        decoder_ffn_dim=d_model * 2,
        max_position_embeddings=256,
        pad_token_id=tok.pad_token_id,
        eos_token_id=tok.eos_token_id,
        decoder_start_token_id=tok.pad_token_id,
        forced_eos_token_id=tok.eos_token_id,
    )
    model = MarianMTModel(config)
    model.save_pretrained(path)
    tok.save_pretrained(path)
    return path
