"""What the `curate` and `train` commands share: the --version option."""

from __future__ import annotations

from typing import Annotated

import typer

from curate import __version__


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"instructforge {__version__}")
        raise typer.Exit()


VersionOption = Annotated[
    bool,
    typer.Option("--version", callback=_print_version, is_eager=True, help="Show the version."),
]
