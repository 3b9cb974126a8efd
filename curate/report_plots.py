"""The report's PNG plots, drawn from stats.json figures alone (matplotlib, Agg backend)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

KEPT_COLOR, REJECTED_COLOR = "#4C72B0", "#DD8452"


class _Figures:
    """``plt.subplots``/``plt.close`` on bare Agg figures: pyplot (its backend machinery and
    global figure registry) is not imported, which saves a run about a tenth of its setup."""

    @staticmethod
    def subplots(*args: Any, figsize: tuple[float, float], **kwargs: Any) -> tuple[Any, Any]:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        fig = Figure(figsize=figsize)
        FigureCanvasAgg(fig)
        return fig, fig.subplots(*args, **kwargs)

    @staticmethod
    def close(fig: Any) -> None:
        fig.clear()


def _pyplot() -> Any:
    return _Figures


def _skewed(values: list[int]) -> bool:
    positive = [v for v in values if v > 0]
    return bool(positive) and max(positive) / min(positive) > 30


def _save(fig: Any, path: Path) -> None:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    _pyplot().close(fig)


def plot_reasons(stats: dict[str, Any], path: Path) -> None:
    reasons = list(stats["rejected_by_reason"].items())[:25][::-1]
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 1.2 + 0.35 * len(reasons)))
    labels, counts = [r for r, _ in reasons], [n for _, n in reasons]
    ax.barh(labels, counts, color=REJECTED_COLOR)
    for y, n in enumerate(counts):
        ax.text(n, y, f" {n:,}", va="center", fontsize=9)
    if _skewed(counts):
        ax.set_xscale("log")
    ax.set_xlim(right=max(counts) * (4 if _skewed(counts) else 1.15))
    ax.set_xlabel("records rejected" + (" (log scale)" if _skewed(counts) else ""))
    if not _skewed(counts):
        ax.xaxis.get_major_locator().set_params(integer=True)
    ax.set_title(f"Rejected records by reason ({stats['rejected']:,} of {stats['input']:,})")
    _save(fig, path)


def _bin_labels(edges: list[int]) -> list[str]:
    labels = []
    for lo, hi in zip(edges, [*edges[1:], None], strict=True):
        if hi is None:
            labels.append(f"≥{lo}")
        elif hi - lo == 1:
            labels.append(str(lo))
        else:
            labels.append(f"{lo}-{hi - 1}")
    return labels


def plot_lengths(stats: dict[str, Any], path: Path) -> None:
    hist = stats["length_histogram"]
    labels = _bin_labels(hist["edges"])
    last = max(
        (i for i, (k, r) in enumerate(zip(hist["kept"], hist["rejected"], strict=True)) if k or r),
        default=0,
    )
    first = min(
        (i for i, (k, r) in enumerate(zip(hist["kept"], hist["rejected"], strict=True)) if k or r),
        default=0,
    )
    sl = slice(first, last + 1)
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(9, 4))
    xs = range(len(labels[sl]))
    ax.bar([x - 0.2 for x in xs], hist["kept"][sl], width=0.4, label="kept", color=KEPT_COLOR)
    ax.bar(
        [x + 0.2 for x in xs],
        hist["rejected"][sl],
        width=0.4,
        label="rejected",
        color=REJECTED_COLOR,
    )
    ax.set_xticks(list(xs), labels[sl], rotation=30)
    if _skewed(hist["kept"][sl] + hist["rejected"][sl]):
        ax.set_yscale("log")
    ax.set_xlabel("words per record (instruction + input + output)")
    ax.set_ylabel("records")
    ax.set_title("Record length, kept vs rejected")
    ax.legend()
    _save(fig, path)


def plot_toxicity(stats: dict[str, Any], path: Path) -> None:
    hist = stats["toxicity_histogram"]
    bins = hist["bins"]
    xs = [(i + 0.5) / bins for i in range(bins)]
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 3.6))
    ax.bar(xs, hist["kept"], width=1 / bins, label="kept", color=KEPT_COLOR, edgecolor="white")
    ax.bar(
        xs,
        hist["rejected"],
        width=1 / bins,
        bottom=hist["kept"],
        label="rejected",
        color=REJECTED_COLOR,
        edgecolor="white",
    )
    totals = [k + r for k, r in zip(hist["kept"], hist["rejected"], strict=True)]
    if _skewed(totals):
        ax.set_yscale("log")
    ax.set_xlim(0, 1)
    ax.set_xlabel("highest toxicity score of the record (any label)")
    ax.set_ylabel("records" + (" (log scale)" if _skewed(totals) else ""))
    # the model name can carry a long reason ("… (detoxify unavailable: …)"): the report says it
    model = str(stats.get("toxicity_model") or "").split(" (")[0][:60]
    ax.set_title(f"Toxicity scores ({model})")
    ax.legend()
    _save(fig, path)


def plot_scores(hist: dict[str, Any], title: str, path: Path) -> None:
    """A model-score histogram (judge, ifd): kept and rejected stacked, the threshold a line."""
    edges, kept, rejected = hist["edges"], hist["kept"], hist["rejected"]
    width = (edges[1] - edges[0]) if len(edges) > 1 else 1.0
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 3.6))
    ax.bar(edges, kept, width=width, align="edge", label="kept", color=KEPT_COLOR)
    ax.bar(
        edges,
        rejected,
        width=width,
        align="edge",
        bottom=kept,
        label="rejected",
        color=REJECTED_COLOR,
    )
    if hist.get("threshold") is not None:
        ax.axvline(hist["threshold"], color="black", linestyle="--", label="threshold")
    ax.set_xlabel(hist["label"])
    ax.set_ylabel("records")
    ax.set_title(title)
    ax.legend()
    _save(fig, path)


def plot_languages(stats: dict[str, Any], path: Path) -> None:
    langs = list(stats["languages"].items())[:20]
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 3.6))
    counts = [n for _, n in langs]
    ax.bar([code for code, _ in langs], counts, color=KEPT_COLOR)
    if _skewed(counts):
        ax.set_yscale("log")
    ax.set_xlabel("detected language")
    ax.set_ylabel("records" + (" (log scale)" if _skewed(counts) else ""))
    expected = f", expected {stats['lang']}" if stats.get("lang") else ""
    ax.set_title(f"Detected languages (records that reached the language stage{expected})")
    _save(fig, path)


def plot_clusters(stats: dict[str, Any], path: Path) -> None:
    per_stage = {s: _size_bins(c["sizes"]) for s, c in stats["duplicate_clusters"].items()}
    sizes = sorted({k for v in per_stage.values() for k in v}, key=_bin_start)
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 3.6))
    colors = (KEPT_COLOR, REJECTED_COLOR)
    for (stage, counts), offset, color in zip(per_stage.items(), (-0.2, 0.2), colors, strict=False):
        ax.bar(
            [i + offset for i in range(len(sizes))],
            [counts.get(k, 0) for k in sizes],
            width=0.4,
            label=stage,
            color=color,
        )
    ax.set_xticks(range(len(sizes)), sizes, rotation=30 if len(sizes) > 8 else 0)
    ax.set_yscale("log")
    ax.set_ylim(bottom=0.7)
    ax.set_xlabel("cluster size (the kept record + its dropped duplicates)")
    ax.set_ylabel("clusters (log scale)")
    ax.set_title("Duplicate cluster sizes")
    ax.legend()
    _save(fig, path)


CLUSTER_EDGES = [2, 3, 4, 5, 9, 17, 33, 65, 129, 257, 513, 1025]


def _size_bins(sizes: dict[str, int]) -> dict[str, int]:
    """Cluster size → count, with sizes above 4 gathered in power-of-two bins (5-8, 9-16 …)."""
    out: dict[str, int] = {}
    for key, n in sizes.items():
        size = int(key)
        lo = max(e for e in CLUSTER_EDGES if e <= size)
        nxt = [e for e in CLUSTER_EDGES if e > lo]
        label = str(lo) if nxt and nxt[0] - lo == 1 else (f"{lo}-{nxt[0] - 1}" if nxt else f"≥{lo}")
        out[label] = out.get(label, 0) + n
    return out


def _bin_start(label: str) -> int:
    return int(label.lstrip("≥").split("-")[0])
