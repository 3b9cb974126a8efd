"""A rich progress bar for `curate generate`: kept records toward --target, with generated,
rejected-by-reason counts and tokens/s."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from curate.generate.config import GenerateConfig
from curate.generate.loop import Listener
from curate.generate.state import Recovery


def top_reasons(counters: dict[str, Any], k: int = 3) -> str:
    reasons = counters.get("rejected_by_reason", {})
    shown = ", ".join(f"{name} {n}" for name, n in list(reasons.items())[:k])
    more = len(reasons) - k
    return shown + (f", +{more} more" if more > 0 else "")


def tokens_per_s(counters: dict[str, Any]) -> float:
    s = counters.get("generation_seconds") or 0.0
    return counters.get("completion_tokens", 0) / s if s else 0.0


def line(counters: dict[str, Any]) -> str:
    generated = counters["kept"] + counters["rejected"]
    return (
        f"generated {generated} · kept {counters['kept']} · rejected {counters['rejected']}"
        f" ({top_reasons(counters) or 'none'}) · {tokens_per_s(counters):,.0f} tok/s"
    )


class RichProgress(Listener):
    def __init__(self, console: Console):
        self.console = console
        self.progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("kept · {task.fields[info]}"),
            TimeElapsedColumn(),
            console=console,
        )
        self.task: Any = None
        self.cfg: GenerateConfig | None = None

    def started(self, cfg: GenerateConfig, counters: dict[str, Any], recovery: Recovery) -> None:
        self.cfg = cfg
        if recovery:
            self.console.print(f"[yellow]resuming:[/] {recovery.describe()}")
        elif counters.get("rounds"):
            self.console.print(
                f"resuming after round {counters['rounds']} ({counters['kept']} kept)"
            )
        self.progress.start()
        self.task = self.progress.add_task(
            "starting",
            total=cfg.target,
            completed=min(counters["kept"], cfg.target),
            info=line(counters),
        )

    def round_started(self, round_no: int) -> None:
        assert self.cfg is not None
        self.progress.update(self.task, description=f"round {round_no}/{self.cfg.rounds}")

    def round_done(self, round_no: int, counters: dict[str, Any]) -> None:
        assert self.cfg is not None
        self.progress.update(
            self.task, completed=min(counters["kept"], self.cfg.target), info=line(counters)
        )

    def close(self) -> None:
        self.progress.stop()
