"""From verified duplicate pairs to decisions: clusters, one survivor each, and who names whom.

Nodes are numbered reference items first (0 … n_ref-1), then input records in input order. A
cluster is a connected component of the verified pairs (union-find). Its survivor is a reference
item when it has one (reference items are never output, so every input member is dropped with
scope "reference"), else the first input record seen, or with ``keep="longest"`` the longest (ties:
first seen). A dropped record names as ``duplicate_of`` the survivor when they were verified as a
pair, else its most similar verified neighbour (so the Jaccard in the evidence is always a real,
verified figure), and the survivor separately.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from curate.filters.minhash import components


@dataclass
class Decisions:
    survivor: np.ndarray  # per node: the node that survives its cluster (itself when kept)
    dup_of: np.ndarray  # per node: the verified neighbour it duplicates, -1 when kept
    jaccard: np.ndarray  # per node: Jaccard with dup_of
    cluster_sizes: dict[int, int]  # cluster size → number of clusters (size >= 2)


def decide(
    n_nodes: int,
    n_ref: int,
    pairs: tuple[np.ndarray, np.ndarray, np.ndarray],
    lengths: np.ndarray | None = None,
) -> Decisions:
    i, j, jac = pairs
    labels = components(n_nodes, i, j)
    survivor = survivors(labels, n_ref, lengths)

    dup_of = np.full(n_nodes, -1, dtype=np.int64)
    jaccard = np.zeros(n_nodes, dtype=np.float32)
    src, dst, sim = np.r_[i, j], np.r_[j, i], np.r_[jac, jac]
    dropped = survivor[src] != src
    src, dst, sim = src[dropped], dst[dropped], sim[dropped]
    to_survivor = dst == survivor[src]
    pick = np.lexsort((dst, -sim, ~to_survivor, src))
    best = pick[_first_per(src[pick])]
    dup_of[src[best]] = dst[best]
    jaccard[src[best]] = sim[best]

    return Decisions(survivor, dup_of, jaccard, cluster_sizes(labels))


def survivors(labels: np.ndarray, n_ref: int, lengths: np.ndarray | None = None) -> np.ndarray:
    """Per node, the node that survives its cluster (``labels``: any cluster id per node)."""
    n_nodes = len(labels)
    node = np.arange(n_nodes)
    neg_len = -lengths if lengths is not None else np.zeros(n_nodes, dtype=np.int64)
    # per cluster: reference items first, then the longest (keep=longest), then the first seen
    order = np.lexsort((node, neg_len, node >= n_ref, labels))
    first = _first_per(labels[order])
    winner = np.empty(int(labels.max()) + 1 if n_nodes else 0, dtype=np.int64)
    winner[labels[order][first]] = order[first]
    return winner[labels]


def cluster_sizes(labels: np.ndarray) -> dict[int, int]:
    """Cluster size → number of clusters of that size (size >= 2)."""
    sizes = np.bincount(labels) if len(labels) else np.zeros(0, dtype=np.int64)
    values, counts = np.unique(sizes[sizes > 1], return_counts=True)
    return dict(zip(values.tolist(), counts.tolist(), strict=True))


def _first_per(keys: np.ndarray) -> np.ndarray:
    """Positions where a run of equal keys starts (keys sorted)."""
    if len(keys) == 0:
        return np.zeros(0, dtype=np.int64)
    return np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
