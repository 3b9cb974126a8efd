"""The `curate` command: thin wrappers that parse options and call the pipeline modules."""

from __future__ import annotations

from curate.cli_common import command_app
from curate.config.cli import ConfigCommand
from curate.convert_command import convert_command
from curate.experiment.command import experiment_command
from curate.filters.command import filter_command
from curate.generate.command import generate_command
from curate.loop.command import loop_command
from curate.translate.command import translate_command

app = command_app(
    "curate",
    "Grow, audit and convert instruction-tuning data.",
    "Grow ([bold]generate[/]), audit ([bold]filter[/]) and reformat ([bold]convert[/]) instruction data.",
)


# every command lives in its own module: one import + one registration line each
app.command("convert")(convert_command)
app.command("filter", cls=ConfigCommand)(filter_command)
app.command("generate", cls=ConfigCommand)(generate_command)
app.command("loop", cls=ConfigCommand)(loop_command)
app.command("translate", cls=ConfigCommand)(translate_command)
app.command("experiment", cls=ConfigCommand)(experiment_command)

if __name__ == "__main__":
    app()
