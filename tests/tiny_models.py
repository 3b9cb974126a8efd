"""Tiny random-init causal LMs with a tokenizer trained on the fly: no downloads, real files.

``build_tiny_model(path, arch="llama")`` writes a directory that ``from_pretrained`` (and vLLM)
loads. head_dim is 32 because vLLM's CPU attention rejects smaller heads.
"""

from __future__ import annotations

from pathlib import Path

CHATML_TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
SPECIAL = ["<unk>", "<s>", "</s>", "<pad>", "<|im_start|>", "<|im_end|>"]
CORPUS = [
    "Below is an instruction that describes a task. Write a response that appropriately completes the request.",
    "### Instruction: ### Input: ### Response: Instruction Input Output",
    "Give three tips for staying healthy. Eat well, sleep enough and move every day.",
    "Classify the sentiment of the review as positive or negative. The food was great. Positive.",
    "Write a short poem about the sea. The sea is wide and blue, it sings a song for you.",
    "Translate to Spanish: good morning. Buenos días. 1. 2. 3. 4. 5. 6. 7. 8. 9. 10. Task: Input: Output:",
    "What is 12 plus 30? 12 + 30 = 42. The answer is 42. Is it a classification task? Yes No",
    "user assistant system The quick brown fox jumps over the lazy dog. a b c d e f g h i j k l m n o p",
]


def build_tokenizer(vocab_size: int = 384):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIAL,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tok.train_from_iterator(CORPUS * 4, trainer=trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token="<s>",
        eos_token="</s>",
        unk_token="<unk>",
        pad_token="<pad>",
        additional_special_tokens=["<|im_start|>", "<|im_end|>"],
    )
    fast.chat_template = CHATML_TEMPLATE
    return fast


def build_tiny_model(
    path: str | Path, arch: str = "llama", *, seed: int = 0, hidden: int = 64
) -> Path:
    """Save a random-init ``llama`` or ``falcon`` model plus tokenizer into ``path``."""
    import torch
    from transformers import AutoModelForCausalLM, FalconConfig, LlamaConfig

    torch.manual_seed(seed)
    path = Path(path)
    tok = build_tokenizer()
    common = dict(
        vocab_size=len(tok),
        bos_token_id=tok.bos_token_id,
        eos_token_id=tok.eos_token_id,
        pad_token_id=tok.pad_token_id,
    )
    if arch == "llama":
        config = LlamaConfig(
            hidden_size=hidden,
            intermediate_size=hidden * 2,
            num_hidden_layers=2,
            num_attention_heads=hidden // 32,
            num_key_value_heads=hidden // 32,
            max_position_embeddings=512,
            tie_word_embeddings=False,
            **common,
        )
    elif arch == "falcon":
        config = FalconConfig(
            hidden_size=hidden,
            num_hidden_layers=2,
            num_attention_heads=hidden // 32,
            multi_query=True,
            new_decoder_architecture=False,
            parallel_attn=True,
            bias=False,
            max_position_embeddings=512,
            **common,
        )
    else:
        raise ValueError(f"unknown arch {arch!r}")
    model = AutoModelForCausalLM.from_config(config)
    model.save_pretrained(path)
    tok.save_pretrained(path)
    return path
