"""Where models unpacked once are kept between runs: $XDG_CACHE_HOME/instructforge (~/.cache).

Each file's name carries a hash of what it was made from, so a changed source is a new file; a
cache that cannot be written only costs the next run the unpacking again.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from pathlib import Path


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "instructforge"


def cache_path(stem: str, sources: Iterable[Path], suffix: str = ".npz") -> Path:
    """``<cache>/<stem>-<first 16 hex of SHA-256 over the sources' bytes><suffix>``."""
    digest = hashlib.sha256()
    for f in sources:
        digest.update(Path(f).read_bytes())
    return cache_dir() / f"{stem}-{digest.hexdigest()[:16]}{suffix}"


def temp_beside(path: Path) -> Path:
    """A temporary name in ``path``'s folder (created) for an atomic ``os.replace``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    return path.with_name(f".{path.name}.{os.getpid()}.tmp{path.suffix}")
