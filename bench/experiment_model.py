"""A small random-init llama for `curate experiment` on a CPU: a BPE tokenizer trained on the
experiment's own data, 2 layers, hidden 128, its output head scaled 5x so that LoRA can move
the logits (a 0.02-std head bounds them to about ±1, whatever the adapters learn).

    python bench/experiment_model.py OUT_DIR DATA.json [DATA2.json …] [--vocab 4000]

Used for the README's "Research: data-quality experiments" table; nothing is downloaded.
"""

from __future__ import annotations

import argparse


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("data", nargs="+")
    ap.add_argument("--vocab", type=int, default=2000)
    ap.add_argument("--hidden", type=int, default=128)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--head-scale", type=float, default=5.0)
    args = ap.parse_args()

    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import AutoModelForCausalLM, LlamaConfig, PreTrainedTokenizerFast

    from curate.io import Reject, read_records
    from curate.render import render

    texts = []
    for path in args.data:
        for rec in read_records(path):
            if not isinstance(rec, Reject):
                texts.append("".join(render(rec, "alpaca")))
    special = ["<unk>", "<s>", "</s>", "<pad>"]
    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=args.vocab,
        special_tokens=special,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tok.train_from_iterator(texts, trainer=trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token="<s>",
        eos_token="</s>",
        unk_token="<unk>",
        pad_token="<pad>",
    )
    torch.manual_seed(args.seed)
    config = LlamaConfig(
        vocab_size=len(fast),
        hidden_size=args.hidden,
        intermediate_size=args.hidden * 2,
        num_hidden_layers=2,
        num_attention_heads=args.hidden // 32,
        num_key_value_heads=args.hidden // 32,
        max_position_embeddings=1024,
        tie_word_embeddings=False,
        bos_token_id=fast.bos_token_id,
        eos_token_id=fast.eos_token_id,
        pad_token_id=fast.pad_token_id,
    )
    model = AutoModelForCausalLM.from_config(config)
    with torch.no_grad():
        model.get_output_embeddings().weight.mul_(args.head_scale)
    model.save_pretrained(args.out)
    fast.save_pretrained(args.out)
    print(
        f"{args.out}: vocab {len(fast)}, {sum(p.numel() for p in model.parameters()):,} parameters"
    )


if __name__ == "__main__":
    main()
