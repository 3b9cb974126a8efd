"""The progress display of `curate generate`: kept records toward --target, and within a round
what the model is doing now.

Two lines that fit 80 columns: the bar (round, kept/target, elapsed, ETA) and below it a line
that wraps instead of being cut: the step the model is on (prompts sent, seconds so far), prompts
and tokens of the round, tokens/s, and what was rejected. Within a round it changes at every
backend call (each step of a round is one batch: instructions, classification, instances) and
its clock ticks while the model works; the round's kept and rejected counts come when the round
is filtered. ``watch`` wraps the backend to see those calls; nothing else changes.
"""

from __future__ import annotations

import os
import time
from typing import Any

from rich.console import Console, Group
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.text import Text

from curate.backends.base import Backend, Completion, SamplingParams
from curate.generate.config import GenerateConfig
from curate.generate.loop import Listener
from curate.generate.state import Recovery


def quiet_engines() -> None:
    """vLLM's own log lines (config, weights, KV cache, compile, and per-worker warnings such as
    "CPU backend doesn't allow to use torch.set_num_threads": 40-60 at startup) off unless
    --verbose: errors only, and no Python warnings from vllm's modules. Set before vLLM is
    imported (its engine process inherits the variable); a VLLM_LOGGING_LEVEL the user set wins.
    A failure still stops the run with its error."""
    import warnings

    os.environ.setdefault("VLLM_LOGGING_LEVEL", "ERROR")
    warnings.filterwarnings("ignore", module=r"vllm(\.|$)")


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


def eta(elapsed: float, done: int, start: int, target: int) -> str:
    """Time left at the rate seen in this process (``done - start`` kept in ``elapsed``)."""
    rate = (done - start) / elapsed if elapsed > 0 else 0.0
    if done >= target:
        return "0:00:00"
    if rate <= 0:
        return "-:--:--"
    left = int((target - done) / rate)
    return f"{left // 3600}:{left // 60 % 60:02d}:{left % 60:02d}"


class _Progress(Progress):
    """rich's Progress with a wrapping detail line under the bar."""

    detail: Any = None

    def get_renderables(self) -> Any:
        table = self.make_tasks_table(self.tasks)
        yield Group(table, self.detail()) if self.detail else table


class RichProgress(Listener):
    def __init__(self, console: Console):
        self.console = console
        self.progress = _Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(bar_width=None if console.width > 100 else 16),
            MofNCompleteColumn(),
            TextColumn("kept"),
            TimeElapsedColumn(),
            TextColumn("ETA {task.fields[eta]}"),
            console=console,
        )
        self.progress.detail = self._detail
        self.task: Any = None
        self.cfg: GenerateConfig | None = None
        self.counters: dict[str, Any] = {}
        self.started_at = time.perf_counter()
        self.kept_at_start = 0
        self.round = 0
        self.step: tuple[int, float] | None = None  # prompts of the backend call under way, start
        self.round_prompts = 0
        self.round_tokens = 0
        self.round_seconds = 0.0

    def watch(self, backend: Backend) -> Backend:
        """``backend``, with each call shown in the detail line."""
        return _Watched(backend, self)

    def started(self, cfg: GenerateConfig, counters: dict[str, Any], recovery: Recovery) -> None:
        self.cfg = cfg
        self.counters = counters
        self.kept_at_start = counters["kept"]
        self.started_at = time.perf_counter()
        if recovery:
            self.console.print(f"[yellow]resuming:[/] {recovery.describe()}")
        elif counters.get("rounds"):
            self.console.print(
                f"resuming after round {counters['rounds']} ({counters['kept']} kept)"
            )
        self.progress.start()
        self.task = self.progress.add_task(
            "starting", total=cfg.target, completed=min(counters["kept"], cfg.target), eta="-"
        )

    def round_started(self, round_no: int) -> None:
        assert self.cfg is not None
        self.round = round_no
        self.round_prompts = self.round_tokens = 0
        self.round_seconds = 0.0
        self.progress.update(self.task, description=f"round {round_no}/{self.cfg.rounds}")

    def round_done(self, round_no: int, counters: dict[str, Any]) -> None:
        assert self.cfg is not None
        self.counters = counters
        kept = min(counters["kept"], self.cfg.target)
        elapsed = time.perf_counter() - self.started_at
        left = eta(elapsed, counters["kept"], self.kept_at_start, self.cfg.target)
        self.progress.update(self.task, completed=kept, eta=left)

    def calling(self, prompts: int) -> None:
        self.step = (prompts, time.perf_counter())
        self.progress.refresh()

    def called(self, prompts: int, result: list[list[Completion]]) -> None:
        if self.step is not None:
            self.round_seconds += time.perf_counter() - self.step[1]
        self.step = None
        self.round_prompts += prompts
        self.round_tokens += sum(
            getattr(c, "completion_tokens", 0) or 0
            for samples in result
            if isinstance(samples, list)
            for c in samples
        )
        self.progress.refresh()

    def _detail(self) -> Text:
        parts = []
        if self.step is not None:
            prompts, since = self.step
            parts.append(f"model: {prompts} prompts, {time.perf_counter() - since:,.0f} s")
        if self.round:
            rate = self.round_tokens / self.round_seconds if self.round_seconds else 0.0
            parts.append(
                f"round {self.round}: {self.round_prompts} prompts done, "
                f"{self.round_tokens:,} tokens, {rate:,.0f} tok/s"
            )
        text = "  " + " · ".join(parts)
        if self.counters:
            text += ("\n" if parts else "") + "  so far: " + line(self.counters)
        return Text(text, style="dim", overflow="fold")

    def close(self) -> None:
        self.progress.stop()


class _Watched:
    """A backend whose calls the progress display sees; everything else is the backend's."""

    def __init__(self, backend: Backend, progress: RichProgress):
        self._backend, self._progress = backend, progress

    def complete(self, prompts: list[str], params: SamplingParams) -> list[list[Completion]]:
        self._progress.calling(len(prompts))
        result = self._backend.complete(prompts, params)
        self._progress.called(len(prompts), result if isinstance(result, list) else [])
        return result

    def __getattr__(self, name: str) -> Any:
        return getattr(self._backend, name)
