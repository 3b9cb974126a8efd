"""JSON that every tool can read: never ``NaN`` / ``Infinity`` (Python's json writes them by default).

One rule for every JSON file we write (records, rejects, stats, state, metrics): a non-finite
float (a NaN score from a Parquet or CSV column, an infinite loss) is written as ``null`` and the
change is noted beside it, never silently: its path is listed under ``"_nonfinite"`` in the
record's ``meta`` (a row with a ``meta`` object) or else in the top-level object. Valid data takes
the fast path: one ``json.dumps(allow_nan=False)``.
"""

from __future__ import annotations

import json
import math
from typing import Any

NOTE_KEY = "_nonfinite"


def dumps(obj: Any, **kw: Any) -> str:
    """``json.dumps`` with ``allow_nan=False``; non-finite floats → null, noted (see the module)."""
    try:
        return json.dumps(obj, allow_nan=False, **kw)
    except ValueError:
        pass
    if isinstance(obj, dict):
        obj = dict(obj)
        if isinstance(obj.get("meta"), dict):
            obj["meta"] = _noted(obj["meta"])
        obj = _noted(obj)
    else:
        obj = finite(obj)[0]
    return json.dumps(obj, allow_nan=False, **kw)


def finite(value: Any, path: str = "", paths: list[str] | None = None) -> tuple[Any, list[str]]:
    """A copy of ``value`` with every non-finite float replaced by None; the paths replaced."""
    paths = [] if paths is None else paths
    if isinstance(value, float) and not math.isfinite(value):
        paths.append(path or "$")
        return None, paths
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            out[k] = finite(v, f"{path}.{k}" if path else str(k), paths)[0]
        return out, paths
    if isinstance(value, list | tuple):
        return [finite(v, f"{path}[{i}]", paths)[0] for i, v in enumerate(value)], paths
    return value, paths


def _noted(d: dict[str, Any]) -> dict[str, Any]:
    clean, paths = finite(d)
    if not paths:
        return clean
    before = clean.get(NOTE_KEY)
    old = [p for p in before if isinstance(p, str)] if isinstance(before, list) else []
    clean[NOTE_KEY] = old + [p for p in paths if p not in old]
    return clean
