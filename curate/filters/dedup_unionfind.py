"""Union-find over an int64 array: many unions and finds at once, no Python object per node.

``parent[x]`` points towards x's root; a root is always the smallest node of its component
(``union`` hooks the larger root under the smaller), so ``labels()`` numbers every component by its
first node. Finds jump pointers for the whole query at once; unions hook roots with
``np.minimum.at`` and repeat until every pair shares a root (conflicting hooks of one round lose
nothing: a pair whose hook was overwritten is still apart and is hooked again next round).
"""

from __future__ import annotations

import numpy as np


class UnionFind:
    def __init__(self, n: int) -> None:
        self.parent = np.arange(n, dtype=np.int64)

    def __len__(self) -> int:
        return len(self.parent)

    def find(self, nodes: np.ndarray) -> np.ndarray:
        """The root of each node (and the pointers of the nodes visited shortened)."""
        parent = self.parent
        roots = parent[nodes]
        while True:
            up = parent[roots]
            moved = up != roots
            if not moved.any():
                break
            roots = up
        parent[nodes] = roots  # path compression for the queried nodes
        return roots

    def union(self, a: np.ndarray, b: np.ndarray) -> int:
        """Join the components of every pair (a[k], b[k]); returns how many joins happened."""
        joined = 0
        a, b = np.asarray(a, dtype=np.int64), np.asarray(b, dtype=np.int64)
        while len(a):
            ra, rb = self.find(a), self.find(b)
            apart = ra != rb
            if not apart.any():
                break
            ra, rb, a, b = ra[apart], rb[apart], a[apart], b[apart]
            lo, hi = np.minimum(ra, rb), np.maximum(ra, rb)
            np.minimum.at(self.parent, hi, lo)
            roots = np.unique(hi)
            joined += len(roots) - np.count_nonzero(self.parent[roots] == roots)
        return joined

    def labels(self) -> np.ndarray:
        """The root (smallest node) of every node's component: the parent array itself, all
        pointers flattened (no copy: later unions change it)."""
        parent = self.parent
        while True:
            up = parent[parent]
            if np.array_equal(up, parent):
                return parent
            parent[:] = up
