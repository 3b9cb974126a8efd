"""`curate convert`: the options → curate.convert → one summary line."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from curate.cli_common import err, handle_errors
from curate.convert import convert as run_convert
from curate.io.registry import format_names, single_turn_formats
from curate.text import check_lang

FORMAT_HELP = ", ".join(format_names())  # the format registry: names, then aliases
SINGLE_TURN_HELP = ", ".join(single_turn_formats())


def convert_command(
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
    multi_turn: Annotated[
        str | None,
        typer.Option(
            "--multi-turn",
            help=f"A conversation written to a format without turns ({SINGLE_TURN_HELP}): "
            "split (default: one record <id>#t<k> per reply, the user turn it answers as "
            "instruction, the earlier turns as input), first or last (one record of that "
            "exchange; the whole conversation kept in meta._fields). keep: the only mode, and "
            "the default, of sharegpt, chatml and record.",
        ),
    ] = None,
) -> None:
    """Reformat an instruction set. Malformed records go to [bold]<OUTPUT stem>.rejects.jsonl[/] with file:line, field
    and reason; the output is written atomically.

    Example: [bold]curate convert data/samples/dolly.jsonl out/dolly.sharegpt.json --to sharegpt[/]
    """
    with handle_errors(ValueError):
        problem = check_lang(lang) if lang else None
        if problem:
            raise ValueError(f"--lang: {problem}")
        result = run_convert(
            input,
            str(output),
            from_format=from_format,
            to=to,
            lang=lang,
            strict=strict,
            multi_turn=multi_turn,
        )
    turns = result.turns_note()
    if turns:
        err.print(turns, markup=False)
    if result.rejected:
        err.print(
            f"{result.converted:,} converted, {result.rejected:,} rejected → {result.rejects_path}",
            markup=False,
        )
    else:
        err.print(f"{result.converted:,} converted → {output}", markup=False)
