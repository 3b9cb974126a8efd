"""The `train` command: thin wrappers that parse options and call the recipe and its helpers."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from curate.cli_common import command_app, err, fail, handle_errors
from curate.config.cli import ConfigCommand, config_command
from curate.jsonout import dumps
from curate.text import printable
from train.config import SPEC, TrainConfig
from train.eval_config import SPEC as EVAL_SPEC
from train.eval_config import EvalConfig

app = command_app(
    "train",
    "Fine-tune with QLoRA, then merge, generate and export.",
    "QLoRA fine-tuning ([bold]run[/]), [bold]render[/], [bold]merge[/], [bold]generate[/], [bold]export[/].",
)
out = Console(highlight=False, soft_wrap=True)

BASE_WEIGHTS_HELP = (
    "trained: the base as the adapter was trained on it (a 4-bit run: its NF4 weights, so the "
    "result computes what the trained model did); original: the base's full-precision weights."
)
KEPT_WARNING = 0.9  # merge warns below this share of the update kept by the saved dtype
BaseWeightsOption = Annotated[str, typer.Option("--base-weights", help=BASE_WEIGHTS_HELP)]


def check_base_weights(value: str) -> None:
    if value not in ("trained", "original"):
        fail(f"--base-weights: {value!r} is not one of trained, original")


def quiet_transformers() -> None:
    """Our own progress and messages only: no per-shard loading bars from transformers."""
    from transformers.utils import logging

    logging.disable_progress_bar()


@app.command(cls=ConfigCommand)
@config_command(SPEC)
def run(cfg: TrainConfig) -> None:
    """Train a LoRA adapter (4-bit NF4 base by default) on instruction data.

    Every field of the YAML config is an option below (--max-steps 30, --lora.r 8, --no-packing;
    the snake_case spellings --max_steps, --base_model work too). Writes [bold]adapter/[/],
    [bold]checkpoints/[/], [bold]metrics.jsonl[/], [bold]config.yaml[/] and [bold]loss.png[/] into
    the output dir.

    Example: [bold]train run train/configs/tiny-cpu.yaml --max-steps 30[/]
    """
    from train.recipe import run as run_recipe

    quiet_transformers()
    with handle_errors():
        result = run_recipe(cfg, err)
    eval_part = f", eval_loss {result.eval_loss:.4f}" if result.eval_loss is not None else ""
    loss = f"{result.train_loss:.4f}" if result.train_loss is not None else "-"
    err.print(
        f"done: {result.steps} steps, loss {loss}{eval_part}, {result.tokens_per_s:,.0f} tok/s → {result.adapter}",
        markup=False,
    )


@app.command("eval", cls=ConfigCommand)
@config_command(EVAL_SPEC)
def eval_command(
    model: Annotated[
        str,
        typer.Argument(help="An adapter dir from `train run`, or a base model (dir or hub id)."),
    ],
    cfg: EvalConfig,
) -> None:
    """Eval loss and perplexity per example on held-out data, as training computes them.

    An adapter is scored on its base as trained, in its training template, completion-only
    (prompt tokens masked); --judge adds a pairwise win-rate against --against (each pair judged
    in both orders), --tasks runs lm-evaluation-harness. Everything goes to [bold]OUT/eval.json[/].

    Example: [bold]train eval runs/sft/adapter --data heldout.jsonl --out runs/sft/eval[/]
    """
    from curate.backends.base import BackendError
    from train.eval_run import run_eval
    from train.eval_tasks import TasksUnavailable

    quiet_transformers()
    with handle_errors(TasksUnavailable, BackendError):
        run_eval(model, cfg, err)
    err.print(f"→ {Path(cfg.out) / 'eval.json'}", markup=False)


@app.command()
def render(
    data: Annotated[str, typer.Argument(help="Data file (any format `curate convert` reads).")],
    template: Annotated[
        str, typer.Option("--template", "-t", help="alpaca, chatml or tokenizer.")
    ] = "alpaca",
    model: Annotated[
        str | None,
        typer.Option(
            "--model", help="Tokenizer dir: adds EOS and token counts (needed for 'tokenizer')."
        ),
    ] = None,
    n: Annotated[int, typer.Option("-n", help="How many records to show.")] = 3,
    from_format: Annotated[
        str | None, typer.Option("--from", help="Input format (default: detect).")
    ] = None,
    train_on: Annotated[
        str, typer.Option("--train-on", help="Replies learned: all_assistant or last.")
    ] = "all_assistant",
) -> None:
    """Show records as training text: masked text dimmed, every learned reply bright.

    Example: [bold]train render data/samples/sharegpt.json -t chatml -n 2[/]
    """
    from itertools import islice

    from curate.io import Reject, read_records
    from curate.render import TRAIN_ON, render_spans

    if train_on not in TRAIN_ON:
        fail(f"--train-on: {train_on!r} is not one of {', '.join(TRAIN_ON)}")
    tok = None
    if model:
        from curate.backends.base import missing_model_dir
        from train.model import load_tokenizer

        if missing_model_dir(model):
            fail(f"--model: no such model directory: {model}")
        try:
            tok = load_tokenizer(model)
        except OSError as e:
            fail(f"--model: cannot load a tokenizer from {model!r}: {str(e).splitlines()[0]}")
    with handle_errors(ValueError):
        items = list(islice(read_records(data, from_format), n))
        for item in items:
            if isinstance(item, Reject):
                err.print(f"[yellow]reject:[/] {escape(printable(str(item)))}")
                continue
            spans = render_spans(item, template, tok, train_on)
            eos = (
                escape(tok.eos_token)
                if tok is not None and not spans[-1][0].endswith(tok.eos_token)
                else ""
            )
            counts = ""
            if tok is not None:
                from train.data import tokenize

                ex = tokenize(item, template, tok, train_on=train_on)
                masked = sum(1 for label in ex.labels if label == -100)
                counts = f" ({masked} masked + {len(ex) - masked} learned tokens)"
            text = "".join(
                f"[bold]{escape(printable(t))}[/]" if learned else f"[dim]{escape(printable(t))}[/]"
                for t, learned in spans
                if t
            )
            out.print(f"[bold cyan]── {escape(printable(item.id))}{counts}[/]")
            out.print(f"{text}[magenta]{eos}[/]")


@app.command()
def merge(
    adapter: Annotated[Path, typer.Option("--adapter", help="Adapter dir written by `train run`.")],
    out_dir: Annotated[Path, typer.Option("--out", help="Directory for the merged checkpoint.")],
    dtype: Annotated[
        str,
        typer.Option("--dtype", help="bf16, fp16 or fp32: the saved weights (merged in fp32)."),
    ] = "bf16",
    base: Annotated[
        str | None, typer.Option("--base", help="Base model (default: the one it was trained on).")
    ] = None,
    base_weights: BaseWeightsOption = "trained",
) -> None:
    """Merge an adapter into its base in fp32 → a plain HF checkpoint in bf16/fp16/fp32.

    The base is by default the one the adapter was trained on: a 4-bit run is merged into its
    dequantized NF4 weights. Warns when the saved dtype cannot hold most of a small update.

    Example: [bold]train merge --adapter runs/tiny/adapter --out runs/tiny/merged[/]
    """
    from train.merge import merge as run_merge

    quiet_transformers()
    if dtype not in ("bf16", "fp16", "fp32"):
        fail(f"--dtype: {dtype!r} is not one of bf16, fp16, fp32")
    check_base_weights(base_weights)
    with handle_errors():
        result = run_merge(adapter, out_dir, dtype, base, base_weights)
    if result.kept < KEPT_WARNING:
        err.print(
            f"[yellow]warning:[/] the {dtype} weights keep {result.kept:.0%} of the adapter's "
            "update (it is below their resolution); --dtype fp32 keeps all of it"
        )
    err.print(f"merged → {result.path} ({result.kept:.1%} of the update kept)", markup=False)


@app.command()
def generate(
    adapter: Annotated[Path, typer.Option("--adapter", help="Adapter dir written by `train run`.")],
    prompt: Annotated[str | None, typer.Argument(help="One instruction (or use --input).")] = None,
    input: Annotated[
        str | None, typer.Option("--input", help="Records to answer (any format).")
    ] = None,
    max_new_tokens: Annotated[int, typer.Option("--max-new-tokens", help="Cap per answer.")] = 256,
    batch_size: Annotated[int, typer.Option("--batch-size", help="Prompts per batch.")] = 8,
    temperature: Annotated[float, typer.Option("--temperature", help="0 = greedy.")] = 0.0,
    base: Annotated[
        str | None, typer.Option("--base", help="Base model (default: the one it was trained on).")
    ] = None,
    base_weights: BaseWeightsOption = "trained",
) -> None:
    """Answer instructions with base + adapter, in the template it was trained with; stops at EOS.

    The base is by default the one the adapter was trained on (a 4-bit run: the same 4-bit model).

    One PROMPT prints the answer; --input prints one JSON line per record (id, instruction, input, output).

    Example: [bold]train generate --adapter runs/tiny/adapter "Give three tips for staying healthy."[/]
    """
    from curate.io import Reject, read_records
    from curate.records import Record
    from train.generate import generate as run_generate

    quiet_transformers()
    if (prompt is None) == (input is None):
        fail("give one PROMPT or --input FILE")
    check_base_weights(base_weights)
    with handle_errors():
        if prompt is not None:
            records = [Record(id="prompt", instruction=prompt)]
        else:
            items = list(read_records(input))
            for r in items:
                if isinstance(r, Reject):
                    err.print(f"[yellow]skipped malformed:[/] {escape(printable(str(r)))}")
            records = [r for r in items if isinstance(r, Record)]
        for g in run_generate(
            adapter,
            records,
            max_new_tokens=max_new_tokens,
            batch_size=batch_size,
            temperature=temperature,
            base=base,
            base_weights=base_weights,
        ):
            if prompt is not None:
                typer.echo(g.text)
            else:
                row = {
                    "id": g.record.id,
                    "instruction": g.record.instruction,
                    "input": g.record.input,
                }
                typer.echo(
                    dumps(
                        {**row, "output": g.text, "stopped_at_eos": g.stopped}, ensure_ascii=False
                    )
                )


@app.command()
def export(
    model: Annotated[Path, typer.Argument(help="Merged checkpoint dir (from `train merge`).")],
    out_file: Annotated[Path, typer.Option("--out", help="Output .gguf file.")],
    gguf: Annotated[
        bool, typer.Option("--gguf", help="Export to GGUF for llama.cpp (the only format).")
    ] = True,
    quant: Annotated[
        str,
        typer.Option(
            "--quant",
            help="Tensor types, as llama.cpp picks them: f16 = every matrix F16; q8_0 = every "
            "matrix Q8_0, token embeddings and output included (F16 where 32 does not divide a "
            "row); q4_0 = llama-quantize's Q4_0 mix: matrices Q4_0, output.weight (the embeddings "
            "when tied) Q6_K, or Q8_0 when 256 does not divide its rows or for Falcon. Norms, "
            "biases and other 1-D tensors stay F32 in all three.",
        ),
    ] = "q8_0",
    pre_tokenizer: Annotated[
        str | None,
        typer.Option(
            "--pre-tokenizer",
            help="Declare llama.cpp's pre-tokenizer (llama-bpe, gpt-2, default…) when the converter "
            "does not recognise the tokenizer (e.g. one trained from scratch).",
        ),
    ] = None,
    trust_remote_code: Annotated[
        bool,
        typer.Option(
            "--trust-remote-code",
            help="Let the converter run Python code shipped in the model directory (a custom "
            "tokenizer or config, auto_map). Off by default: such code runs with your rights, so "
            "read it first.",
        ),
    ] = False,
) -> None:
    """Convert a merged checkpoint to a GGUF file for llama.cpp (f16, q8_0 or q4_0).

    Example: [bold]train export runs/tiny/merged --gguf --out runs/tiny/model.q8_0.gguf --quant q8_0[/]
    """
    from train.export import export_gguf

    if not gguf:
        fail("--gguf is the only export format")
    with handle_errors():
        path = export_gguf(model, out_file, quant, pre_tokenizer, trust_remote_code)
    err.print(f"exported → {path}", markup=False)


if __name__ == "__main__":
    app()
