"""Training benchmark: packed vs padded batches, and 4-bit vs bf16 weight memory.

    python bench/train.py [--data ../shared/data/gpteacher/toolformer.json] [--n 192]
                          [--hidden 768] [--parts speed,trl,memory] [--json FILE]

1. Throughput. The first ``--n`` records of GPTeacher-Toolformer, rendered with the Alpaca template
   and tokenized with the tests' tiny tokenizer (so lengths follow the real distribution), train one
   pass of a random-init Llama (``--hidden`` wide, 2 layers, 4-bit NF4 + LoRA r=16, fp32 compute on
   CPU) three ways, each from the same initial weights with the same optimizer. The width matters:
   a block-diagonal mask still costs full L×L attention, which only wide (real) models amortise:
   - padded to the longest in the batch (dynamic padding: what alpaca-lora's collator does), 8 per batch;
   - padded to max_seq_len (fixed shapes), 8 per batch;
   - packed rows of max_seq_len with a 4D block-diagonal mask (sdpa), 2 rows per batch: L² per row;
   - ours: the same packed rows, 2 per batch, as ONE padding-free row with ``segment_sdpa``
     (train/attention.py): each example attends only within itself, Σ len² per row, no pad tokens.
   Effective tokens/s counts real (non-pad) tokens only; the loss is the mean per-token training loss
   over the pass (the same examples every time, so it shows that packing changes nothing it should not).
2. Ours vs trl's SFTTrainer (bench/train_trl.py, when trl is installed; skipped with the reason
   otherwise): the same model and examples through our trainer and trl's, packing and padding, one
   pass each with their steps interleaved in one process, so the ratios survive a busy machine.
3. Weight memory: a ~100M-parameter random-init Llama (hidden 1024, 8 layers, small vocabulary so the
   linear layers dominate) loaded in bf16 vs 4-bit NF4 (double quant), LoRA attached to both;
   ``get_memory_footprint()`` (parameters + buffers) and the loss of one identical batch beside it.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))  # tiny_models: the tests' tokenizer trained on the fly
sys.path.append(str(Path(__file__).resolve().parent))  # train_trl, behind the train package

from train_trl import print_table, trl_missing, versus_trl  # noqa: E402

from curate.io import read_records  # noqa: E402
from curate.records import Record  # noqa: E402
from train.data import tokenize  # noqa: E402
from train.model import add_lora, load_base  # noqa: E402
from train.packing import Collator, Row, pack, single  # noqa: E402

MAX_LEN = 1024


class Lora:
    r, alpha, dropout, target_modules = 16, 32, 0.0, "auto"


class Cfg:
    gradient_checkpointing = False
    lora = Lora()


def build_model(path: Path, tok, hidden: int, layers: int, inter: int) -> Path:  # noqa: ANN001
    from transformers import AutoModelForCausalLM, LlamaConfig

    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=len(tok), hidden_size=hidden, intermediate_size=inter, num_hidden_layers=layers,
        num_attention_heads=hidden // 64, num_key_value_heads=hidden // 64, max_position_embeddings=2048,
        bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id,
    )  # fmt: skip
    AutoModelForCausalLM.from_config(config).save_pretrained(path)
    tok.save_pretrained(path)
    return path


def batches(rows: list[Row], size: int) -> list[list[Row]]:
    return [rows[i : i + size] for i in range(0, len(rows), size)]


def one_pass(
    model_dir: Path,
    rows: list[Row],
    collate: Collator,
    size: int,
    pad_to: int | None,
    attn: str = "sdpa",
) -> dict:
    torch.manual_seed(0)
    model = add_lora(load_base(str(model_dir), "4bit", torch.float32, attn), Cfg(), quantized=True)
    model.train()
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-3)
    warm = collate(rows[:size])  # one untimed step: first-call setup is not throughput
    warm.pop("num_tokens")
    model(**warm).loss.backward()
    opt.zero_grad()
    real = seen = 0
    loss_sum = loss_tokens = 0.0
    start, cpu_start = time.perf_counter(), time.process_time()
    for group in batches(rows, size):
        batch = collate(group)
        real += batch.pop("num_tokens")
        if pad_to:  # fixed shapes: pad every batch to max_seq_len
            extra = pad_to - batch["input_ids"].shape[1]
            batch = {k: torch.nn.functional.pad(v, (0, extra), value=fill) for k, v, fill in
                     [(k, v, {"input_ids": collate.pad_id, "labels": -100, "attention_mask": 0}[k]) for k, v in batch.items()]}  # fmt: skip
        seen += batch["input_ids"].numel()
        out = model(**batch)
        out.loss.backward()
        opt.step()
        opt.zero_grad()
        n = int((batch["labels"][:, 1:] != -100).sum())
        loss_sum += out.loss.item() * n
        loss_tokens += n
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    return {"seconds": elapsed, "cpu_seconds": cpu, "real_tokens": real, "computed_tokens": seen,
            "tokens_per_s": real / elapsed, "tokens_per_cpu_s": real / cpu, "loss": loss_sum / loss_tokens}  # fmt: skip


def prepare(data: str, n: int, hidden: int, tmp: Path, tok) -> tuple[Path, list]:  # noqa: ANN001
    records = [r for r in read_records(data) if isinstance(r, Record)][:n]
    examples = [e for e in (tokenize(r, "alpaca", tok) for r in records) if len(e) <= MAX_LEN]
    random.Random(0).shuffle(examples)
    model_dir = build_model(tmp / "small", tok, hidden=hidden, layers=2, inter=hidden * 8 // 3)
    return model_dir, examples


def throughput(model_dir: Path, examples: list, tok) -> list[tuple[str, dict]]:  # noqa: ANN001
    pad = Collator(tok.pad_token_id, packed=False)
    packed = Collator(tok.pad_token_id, packed=True)
    free = Collator(tok.pad_token_id, packed=True, padding_free=True)
    rows = pack(examples, MAX_LEN)
    return [
        ("padded to batch longest (8/batch)", one_pass(model_dir, single(examples), pad, 8, None)),
        ("padded to max_seq_len (8/batch)", one_pass(model_dir, single(examples), pad, 8, MAX_LEN)),
        ("packed, 4D mask + sdpa (2 rows/batch)", one_pass(model_dir, rows, packed, 2, None)),
        (
            "packed, segment attention (ours, 2 rows/batch as 1 padding-free row)",
            one_pass(model_dir, rows, free, 2, None, attn="segment_sdpa"),
        ),
    ]


def memory(tmp: Path, tok) -> list[tuple[str, dict]]:  # noqa: ANN001
    from transformers import AutoModelForCausalLM

    model_dir = build_model(tmp / "big", tok, hidden=1024, layers=8, inter=2816)
    ids = torch.randint(10, len(tok), (2, 128), generator=torch.Generator().manual_seed(0))
    out = []
    for name, quant in [("bf16 + LoRA", "none"), ("4-bit NF4 + LoRA (ours)", "4bit")]:
        if quant == "none":
            model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.bfloat16)
            model = add_lora(model, Cfg(), quantized=False)
        else:
            model = add_lora(
                load_base(str(model_dir), "4bit", torch.bfloat16), Cfg(), quantized=True
            )
        params = sum(p.numel() for p in model.base_model.model.parameters() if not p.requires_grad)
        with torch.no_grad():
            loss = model(input_ids=ids, labels=ids).loss.item()
        out.append(
            (name, {"bytes": model.get_memory_footprint(), "frozen_params": params, "loss": loss})
        )
        del model
    return out


def trl_header(args: argparse.Namespace, model_dir: Path, load_before: float) -> str:
    from safetensors import safe_open
    from transformers import AutoConfig

    c = AutoConfig.from_pretrained(model_dir)
    with safe_open(model_dir / "model.safetensors", "pt") as f:
        params = sum(math.prod(f.get_slice(k).get_shape()) for k in f.keys())  # noqa: SIM118
    busy = max(load_before, os.getloadavg()[0]) > max(1, (os.cpu_count() or 2) - 2)
    warn = (
        " BUSY MACHINE: oversubscribed threads distort these ratios, rerun quiet." if busy else ""
    )
    return (
        f"Ours vs trl {trl_version()}: one pass each over {args.n} GPTeacher-Toolformer records, "
        f"interleaved steps in one process; random-init Llama hidden {c.hidden_size}, "
        f"{c.num_hidden_layers} layers, {params / 1e6:.1f}M parameters (load average "
        f"{load_before:.2f} before, {os.getloadavg()[0]:.2f} after){warn}"
    )


def trl_version() -> str:
    import trl

    return trl.__version__


def print_speed(speed: list[tuple[str, dict]], n: int, load_before: float) -> None:
    base, base_cpu = speed[0][1]["tokens_per_s"], speed[0][1]["tokens_per_cpu_s"]
    fixed, fixed_cpu = speed[1][1]["tokens_per_s"], speed[1][1]["tokens_per_cpu_s"]
    print(
        f"\nPacked vs padded: one pass over {n} GPTeacher-Toolformer records, max_seq_len {MAX_LEN}"
        f" (load average {load_before:.2f} before, {os.getloadavg()[0]:.2f} after)"
    )
    print(
        "| batches | real tokens | computed tokens | seconds | effective tok/s | vs dynamic padding "
        "| vs max_seq_len padding | effective tok per CPU-s | vs dynamic | vs max_seq_len | loss |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, r in speed:
        tps, cps = r["tokens_per_s"], r["tokens_per_cpu_s"]
        print(f"| {name} | {r['real_tokens']:,} | {r['computed_tokens']:,} | {r['seconds']:.1f} | "
              f"{tps:,.0f} | {tps / base:.2f}× | {tps / fixed:.2f}× | {cps:,.0f} | "
              f"{cps / base_cpu:.2f}× | {cps / fixed_cpu:.2f}× | {r['loss']:.4f} |")  # fmt: skip


def print_memory(mem: list[tuple[str, dict]]) -> None:
    print(
        f"\nWeight memory, random-init Llama with {mem[0][1]['frozen_params'] / 1e6:.0f}M frozen parameters"
    )
    print("| weights | footprint MiB | vs bf16 | loss on one batch |")
    print("|---|---:|---:|---:|")
    for name, r in mem:
        print(
            f"| {name} | {r['bytes'] / 2**20:,.1f} | {r['bytes'] / mem[0][1]['bytes']:.2f}× | {r['loss']:.4f} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data", default=str(ROOT.parent / "shared/data/gpteacher/toolformer.json")
    )
    parser.add_argument("--n", type=int, default=64, help="records of the data set to train on")
    parser.add_argument(
        "--hidden", type=int, default=768, help="width of the throughput model (2 layers)"
    )
    parser.add_argument(
        "--parts", default="speed,trl,memory", help="which parts to run: speed, trl, memory"
    )
    parser.add_argument("--json", type=Path, help="also write the figures as JSON")
    args = parser.parse_args()
    parts = set(args.parts.split(","))
    from tiny_models import build_tokenizer

    torch.set_num_threads(2)
    load_before = os.getloadavg()[0]
    tok = build_tokenizer()
    figures: dict = {}
    with tempfile.TemporaryDirectory() as d:
        model_dir, examples = prepare(args.data, args.n, args.hidden, Path(d), tok)
        if "speed" in parts:
            figures["speed"] = throughput(model_dir, examples, tok)
            print_speed(figures["speed"], args.n, load_before)
        if "trl" in parts:
            if reason := trl_missing():
                print(f"\ntrl rows skipped: {reason}")
            else:
                figures["trl"] = versus_trl(model_dir, examples, tok, Path(d), Cfg(), MAX_LEN)
                print_table(figures["trl"], trl_header(args, model_dir, load_before))
        if "memory" in parts:
            figures["memory"] = memory(Path(d), tok)
            print_memory(figures["memory"])
    if args.json:
        args.json.write_text(json.dumps({k: dict(v) for k, v in figures.items()}, indent=2))


if __name__ == "__main__":
    main()
