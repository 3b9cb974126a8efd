"""The `curate` command: thin wrappers that parse options and call the pipeline modules."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from curate.cli_common import VersionOption, err, handle_errors
from curate.cli_common import fail as fail  # re-exported for callers of the old curate.cli.fail
from curate.config.cli import ConfigCommand

app = typer.Typer(
    name="curate",
    help="Grow, audit and convert instruction-tuning data.",
    rich_markup_mode="rich",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

FORMAT_HELP = "alpaca, bactrian, dolly, seed (self-instruct), sharegpt, chatml, record"


@app.callback()
def main(
    version: VersionOption = False,
) -> None:
    """Grow ([bold]generate[/]), audit ([bold]filter[/]) and reformat ([bold]convert[/]) instruction data."""


@app.command()
def convert(
    input: Annotated[
        str, typer.Argument(help="File (.json/.jsonl/.parquet/.csv), save_to_disk dir or hub id.")
    ],
    output: Annotated[Path, typer.Argument(help="Output file; its extension picks the container.")],
    from_format: Annotated[
        str | None,
        typer.Option(
            "--from", help=f"Input format, detected from the fields if omitted: {FORMAT_HELP}."
        ),
    ] = None,
    to: Annotated[
        str | None,
        typer.Option(
            "--to",
            help=f"Output format ({FORMAT_HELP}) or container (jsonl, json, parquet, csv). "
            "Default: lossless Record rows in the container the extension names.",
        ),
    ] = None,
    lang: Annotated[
        str | None,
        typer.Option(
            "--lang", help="Language code of the input (default: from a name like es.json)."
        ),
    ] = None,
    strict: Annotated[
        bool,
        typer.Option(
            "--strict",
            help="Stop with exit 1 at the first malformed record instead of rejecting it.",
        ),
    ] = False,
) -> None:
    """Reformat an instruction set. Malformed records go to [bold]<OUTPUT stem>.rejects.jsonl[/] with file:line, field
    and reason; the output is written atomically.

    Example: [bold]curate convert data/samples/dolly.jsonl out/dolly.sharegpt.json --to sharegpt[/]
    """
    from curate.convert import convert as run_convert

    with handle_errors(ValueError):
        result = run_convert(
            input, str(output), from_format=from_format, to=to, lang=lang, strict=strict
        )
    if result.rejected:
        err.print(
            f"{result.converted:,} converted, {result.rejected:,} rejected → {result.rejects_path}",
            markup=False,
        )
    else:
        err.print(f"{result.converted:,} converted → {output}", markup=False)


# ---- subcommands living in their own modules (one import + one registration line each) ----
from curate.filters.command import filter_command  # noqa: E402

app.command("filter", cls=ConfigCommand)(filter_command)
from curate.generate.command import generate_command  # noqa: E402

app.command("generate", cls=ConfigCommand)(generate_command)

if __name__ == "__main__":
    app()
