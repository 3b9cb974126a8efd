"""The seams docs/ARCHITECTURE.md promises: no import cycles, registries as the one place to add
things, nothing test-only in the package."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("curate", "train")


def _modules() -> dict[str, Path]:
    out = {}
    for pkg in PACKAGES:
        for path in (ROOT / pkg).rglob("*.py"):
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            out[name.removesuffix(".__init__")] = path
    return out


def _imports(path: Path, known: dict[str, Path]) -> set[str]:
    """Project modules ``path`` imports, anywhere in the file (functions and TYPE_CHECKING too)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
        else:
            continue
        found |= {n for n in names if n in known}
    return found


def test_no_import_cycles() -> None:
    mods = _modules()
    graph = {name: _imports(path, mods) - {name} for name, path in mods.items()}
    for start in graph:
        stack, seen = list(graph[start]), set()
        while stack:
            mod = stack.pop()
            if mod == start:
                pytest.fail(f"import cycle through {start}")
            if mod not in seen:
                seen.add(mod)
                stack.extend(graph.get(mod, ()))


def test_command_modules_do_not_import_the_cli() -> None:
    mods = _modules()
    for name, path in mods.items():
        if name not in ("curate.cli", "train.cli"):
            assert "curate.cli" not in _imports(path, mods), name


def test_every_stage_format_and_backend_comes_from_its_registry() -> None:
    from curate.backends.registry import SHIPPED
    from curate.filters.config import DEFAULT_ORDER, FilterConfig
    from curate.filters.registry import STAGES
    from curate.io.registry import FORMATS

    assert list(STAGES) == DEFAULT_ORDER
    sections = {f for f in FilterConfig.__dataclass_fields__}
    assert {spec.section for spec in STAGES.values()} <= sections
    assert {"alpaca", "dolly", "seed", "sharegpt", "chatml", "record"} <= set(FORMATS)
    assert {b.name for b in SHIPPED} == {"vllm", "openai", "transformers", "mt"}
