"""The toxicity scorers: detoxify (when it can be had) and the bundled profanity check.

Deciding whether detoxify can be had never stalls: a checkpoint given by path is used; without
one, detoxify would download its checkpoint from GitHub (and its tokenizer from the Hugging Face
hub), so when HF_HUB_OFFLINE / TRANSFORMERS_OFFLINE is set, or the checkpoint is not in the
torch hub cache and a 3-second connection test fails, it is unavailable and the profanity check
(alt-profanity-check ships its model) takes its place.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Any

from curate.io import InputError

DETOXIFY_MODELS = ("original", "unbiased", "multilingual")
DETOXIFY_HOST = ("github.com", 443)


class ProfanityScorer:
    """alt-profanity-check: a linear model over character n-grams (≈75,000 texts/s)."""

    name = "alt-profanity-check"

    def __init__(self) -> None:
        from profanity_check import predict_prob

        self._predict = predict_prob

    def score(self, texts: list[str]) -> list[dict[str, float]]:
        if not texts:
            return []
        return [{"profanity": float(p)} for p in self._predict(texts)]


class DetoxifyScorer:
    """detoxify's own ``Detoxify`` class, loaded from a local checkpoint or its download URL."""

    def __init__(
        self,
        model: str,
        checkpoint: str | None,
        config_dir: str | None,
        device: str = "cpu",
        threads: int = 1,
    ):
        import torch
        from detoxify import Detoxify

        if threads > 0:
            torch.set_num_threads(threads)
        if checkpoint is not None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
        self.detox = Detoxify(
            model, checkpoint=checkpoint, device=device, huggingface_config_path=config_dir
        )
        self.labels = list(self.detox.class_names)
        where = f"checkpoint {checkpoint}" if checkpoint else "downloaded checkpoint"
        self.name = f"detoxify:{model} ({where})"
        if checkpoint is not None:
            assert_weights_loaded(self.detox.model, checkpoint)

    def score(self, texts: list[str]) -> list[dict[str, float]]:
        if not texts:
            return []
        out = self.detox.predict(texts)
        if len(texts) == 1:  # detoxify squeezes a batch of one into floats
            out = {k: [v] for k, v in out.items()}
        return [{label: float(out[label][i]) for label in self.labels} for i in range(len(texts))]


def assert_weights_loaded(model: Any, checkpoint: str) -> None:
    """Wrong state_dict keys load silently as random weights: compare every tensor."""
    import torch

    saved = torch.load(checkpoint, map_location="cpu", weights_only=False)["state_dict"]
    live = model.state_dict()
    missing = [k for k in saved if k in live and not torch.equal(live[k].cpu(), saved[k].cpu())]
    unmatched = [k for k in saved if k not in live]
    if missing or len(unmatched) == len(saved):
        raise InputError(
            f"--toxicity-checkpoint {checkpoint}: its weights did not load into the model "
            f"({len(unmatched)} unknown keys, {len(missing)} differing); is it a detoxify checkpoint?"
        )


def _offline_env() -> str | None:
    for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
        if os.environ.get(var, "").strip().lower() in ("1", "true", "yes", "on"):
            return f"{var} is set"
    return None


def _cached_checkpoint(model: str) -> Path | None:
    import torch
    from detoxify.detoxify import MODEL_URLS

    url = MODEL_URLS.get(model)
    if url is None:
        return None
    path = Path(torch.hub.get_dir()) / "checkpoints" / url.rsplit("/", 1)[-1]
    return path if path.exists() else None


def _reachable(host: tuple[str, int], timeout: float) -> bool:
    try:
        with socket.create_connection(host, timeout=timeout):
            return True
    except OSError:
        return False


def detoxify_unavailable(model: str, checkpoint: str | None, timeout: float = 3.0) -> str | None:
    """Why detoxify cannot be had without stalling, or None when it can."""
    if checkpoint is not None:
        return None
    offline = _offline_env()
    if offline:
        return f"offline ({offline}) and no --toxicity-checkpoint"
    if _cached_checkpoint(model) is None and not _reachable(DETOXIFY_HOST, timeout):
        return f"cannot download the {model} checkpoint ({DETOXIFY_HOST[0]} unreachable)"
    return None


def check_paths(checkpoint: str | None, config_dir: str | None) -> None:
    """One clear line naming the option when a given path does not exist."""
    if checkpoint is not None and not Path(checkpoint).is_file():
        raise InputError(f"--toxicity-checkpoint {checkpoint}: no such file")
    if config_dir is not None and not Path(config_dir).is_dir():
        raise InputError(
            f"--toxicity-config-dir {config_dir}: no such directory (the tokenizer/config dir)"
        )
