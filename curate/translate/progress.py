"""A rich progress bar per target language, and the summary table printed at the end."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from curate.translate.run import Listener, TranslateResult, tokens_per_s


def _info(figures: dict[str, Any]) -> str:
    tps = tokens_per_s(figures)
    return f"kept {figures['kept']} · rejected {figures['rejected']} · {tps or 0:,.0f} tok/s"


class RichProgress(Listener):
    def __init__(self, console: Console):
        self.console = console
        self.progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[info]}"),
            TimeElapsedColumn(),
            console=console,
        )
        self.tasks: dict[str, Any] = {}

    def started(self, langs: list[str], total: int, done: dict[str, int], set_aside: dict) -> None:
        for name, n in set_aside.items():
            self.console.print(
                f"resuming: {n} line(s) of {name} from an unfinished batch moved to uncommitted/;"
                " the batch runs again",
                markup=False,
            )
        self.progress.start()
        for lang in langs:
            self.tasks[lang] = self.progress.add_task(
                lang, total=total, completed=min(done.get(lang, 0), total), info=""
            )

    def batch_done(self, lang: str, done: int, figures: dict[str, Any]) -> None:
        self.progress.update(self.tasks[lang], completed=done, info=_info(figures))

    def close(self) -> None:
        self.progress.stop()


def summary_table(result: TranslateResult) -> Table:
    """Records per language, rejects by reason, tokens/s."""
    table = Table(title=f"curate translate: {result.sources} source records")
    for col in ("lang", "kept", "rejected", "rejects by reason", "tokens/s"):
        table.add_column(col, justify="left" if col in ("lang", "rejects by reason") else "right")
    for lang, f in result.figures.items():
        reasons = ", ".join(f"{k} {n}" for k, n in f.get("rejected_by_reason", {}).items())
        tps = tokens_per_s(f)
        table.add_row(
            lang, str(f["kept"]), str(f["rejected"]), reasons or "-", f"{tps:,.0f}" if tps else "-"
        )
    return table
