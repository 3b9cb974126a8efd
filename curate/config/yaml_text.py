"""Config YAML in and out: a mapping with the line of every key, one-line syntax errors, dump."""

from __future__ import annotations

import contextlib
import dataclasses
from typing import Any

import yaml

from curate.config.errors import ConfigError
from curate.config.secrets import masked

# libyaml's loader where PyYAML was built with it (the same documents, ≈10× faster to parse)
SAFE_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def read_yaml(text: str, where: str) -> tuple[dict[str, Any], dict[str, int]]:
    """The mapping in ``text`` and dotted key → 1-based line; ConfigError ``where:line: ...``."""
    try:
        data = yaml.load(text, Loader=SAFE_LOADER)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise ConfigError(f"{where}{line}: not valid YAML: {problem}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        kind = "a list" if isinstance(data, list) else type(data).__name__
        raise ConfigError(f"{where}: expected a mapping of keys to values, got {kind}")
    return data, yaml_lines(text)


def yaml_lines(text: str) -> dict[str, int]:
    """Dotted key → 1-based line of that key in the YAML text."""
    out: dict[str, int] = {}

    def walk(node: Any, prefix: str) -> None:
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                key = f"{prefix}{k.value}"
                out.setdefault(key, k.start_mark.line + 1)
                walk(v, key + ".")

    with contextlib.suppress(yaml.YAMLError):
        walk(yaml.compose(text, Loader=SAFE_LOADER), "")
    return out


def dump(cfg: Any) -> str:
    """The resolved config as YAML, keys in declaration order: what each run saves beside its
    outputs and what ``--config`` reads back. Credentials are masked (``curate.config.secrets``):
    a URL's ``user:password@`` is saved as ``***@``, an ``api_key`` / ``token`` as ``'***'``."""
    return yaml.safe_dump(dataclasses.asdict(masked(cfg)), sort_keys=False, allow_unicode=True)
