"""`train eval --tasks`: lm-evaluation-harness on a base model or an adapter (the optional `eval` extra)."""

from __future__ import annotations

import importlib.util
from typing import Any

from train.eval import is_adapter

INSTALL = 'pip install -e ".[eval]"'


class TasksUnavailable(RuntimeError):
    """lm-evaluation-harness is not installed: one line saying how to get it."""


def check_installed() -> None:
    if importlib.util.find_spec("lm_eval") is None:
        raise TasksUnavailable(
            f"--tasks needs lm-evaluation-harness, which is not installed: {INSTALL} "
            "(or leave out --tasks)"
        )


def model_args(model_or_adapter: str, base: str | None) -> str:
    """lm-eval's ``hf`` model arguments: the base, plus ``peft=`` for an adapter."""
    if is_adapter(model_or_adapter):
        from train.adapter import adapter_config, base_of

        return (
            f"pretrained={base_of(adapter_config(model_or_adapter), base)},peft={model_or_adapter}"
        )
    return f"pretrained={model_or_adapter}"


def run_tasks(
    model_or_adapter: str, tasks: list[str], *, base: str | None = None, limit: int | None = None
) -> dict[str, Any]:
    """{task: {metric: value}} from lm_eval.simple_evaluate (TasksUnavailable when not installed)."""
    check_installed()
    import lm_eval

    result = lm_eval.simple_evaluate(
        model="hf", model_args=model_args(model_or_adapter, base), tasks=tasks, limit=limit
    )
    return {
        task: {k: v for k, v in metrics.items() if isinstance(v, (int, float))}
        for task, metrics in (result or {}).get("results", {}).items()
    }
