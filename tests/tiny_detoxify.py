"""A tiny random-init detoxify checkpoint, built on the fly: no downloads.

``build_tiny_detoxify_checkpoint(dir)`` writes ``dir/config`` (BERT config + a WordPiece vocab
trained here, loadable by ``BertTokenizer``) and ``dir/tiny-detoxify.ckpt`` in detoxify's format:
``{"config": {"arch": {"args": {...}}, "dataset": {"args": {"classes": [...]}}}, "state_dict"}``.
``arch.args.model_type`` is the LOCAL config directory: detoxify calls
``BertConfig.from_pretrained(model_type)`` whatever else it is given.
"""

from __future__ import annotations

from pathlib import Path

CLASSES = ["toxic", "severe_toxic", "obscene", "threat", "insult", "identity_hate"]
SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
CORPUS = [
    "Explain how a refrigerator keeps food cold. The refrigerant absorbs heat inside.",
    "Write a short thank-you message to a neighbor who watered your plants.",
    "Shut up, you stupid idiot. Boil dried pasta for about ten minutes.",
    "Solve the equation 4x - 6 = 18 and show each step: x = 6.",
    "Natalia sold clips to 48 of her friends in April, and then half as many in May.",
    "Describe the main causes of the French Revolution in a few sentences.",
]
MAX_LEN = 128


def build_tokenizer_files(config_dir: Path) -> int:
    """Train a WordPiece vocab and save it as a BertTokenizer; returns the vocab size."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, trainers
    from transformers import BertTokenizer

    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    trainer = trainers.WordPieceTrainer(vocab_size=400, special_tokens=SPECIAL)
    tok.train_from_iterator(CORPUS * 4, trainer=trainer)
    config_dir.mkdir(parents=True, exist_ok=True)
    vocab = config_dir / "vocab.txt"
    ordered = sorted(tok.get_vocab().items(), key=lambda kv: kv[1])
    vocab.write_text("".join(f"{token}\n" for token, _ in ordered), encoding="utf-8")
    BertTokenizer(str(vocab), model_max_length=MAX_LEN).save_pretrained(str(config_dir))
    return len(ordered)


def build_tiny_detoxify_checkpoint(path: str | Path, *, seed: int = 0) -> tuple[Path, Path]:
    """(checkpoint file, config directory) of a tiny random-init BERT toxicity classifier."""
    import torch
    from transformers import BertConfig, BertForSequenceClassification

    path = Path(path)
    config_dir = path / "config"
    vocab_size = build_tokenizer_files(config_dir)
    torch.manual_seed(seed)
    config = BertConfig(
        vocab_size=vocab_size,
        hidden_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=MAX_LEN,
        num_labels=len(CLASSES),
    )
    config.save_pretrained(str(config_dir))
    model = BertForSequenceClassification(config)
    args = {
        "model_type": str(config_dir),
        "model_name": "BertForSequenceClassification",
        "tokenizer_name": "BertTokenizer",
        "num_classes": len(CLASSES),
    }
    checkpoint = {
        "config": {"arch": {"args": args}, "dataset": {"args": {"classes": CLASSES}}},
        "state_dict": model.state_dict(),
    }
    ckpt = path / "tiny-detoxify.ckpt"
    torch.save(checkpoint, ckpt)
    return ckpt, config_dir
