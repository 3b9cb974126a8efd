"""The `curate` command: thin wrappers that parse options and call the pipeline modules."""

from __future__ import annotations

import typer

from curate.cli_common import VersionOption, ignore_file_size_signal
from curate.config.cli import ConfigCommand
from curate.convert_command import convert_command
from curate.experiment.command import experiment_command
from curate.filters.command import filter_command
from curate.generate.command import generate_command
from curate.loop.command import loop_command
from curate.translate.command import translate_command

app = typer.Typer(
    name="curate",
    help="Grow, audit and convert instruction-tuning data.",
    rich_markup_mode="rich",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def main(
    version: VersionOption = False,
) -> None:
    """Grow ([bold]generate[/]), audit ([bold]filter[/]) and reformat ([bold]convert[/]) instruction data."""
    ignore_file_size_signal()


# every command lives in its own module: one import + one registration line each
app.command("convert")(convert_command)
app.command("filter", cls=ConfigCommand)(filter_command)
app.command("generate", cls=ConfigCommand)(generate_command)
app.command("loop", cls=ConfigCommand)(loop_command)
app.command("translate", cls=ConfigCommand)(translate_command)
app.command("experiment", cls=ConfigCommand)(experiment_command)

if __name__ == "__main__":
    app()
