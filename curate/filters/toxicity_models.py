"""The toxicity scorers: detoxify (when it can be had) and the bundled profanity check.

Deciding whether detoxify can be had never stalls: a checkpoint given by path is used; without
one, detoxify would download its checkpoint from GitHub (and its tokenizer from the Hugging Face
hub), so when HF_HUB_OFFLINE / TRANSFORMERS_OFFLINE is set, or the checkpoint is not in the
torch hub cache and either the machine has no default route or a connection test
(``connect_timeout``, 3 s) fails, it is unavailable and the profanity check (alt-profanity-check
ships its model) takes its place. Deciding that imports neither torch nor detoxify.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from curate.io import InputError

DETOXIFY_MODELS = ("original", "unbiased", "multilingual")
DETOXIFY_HOST = ("github.com", 443)


class ProfanityScorer:
    """alt-profanity-check: a linear model over character n-grams (≈75,000 texts/s)."""

    name = "alt-profanity-check"

    def __init__(self) -> None:
        from curate.filters.profanity_model import load_predict_prob

        self._predict, self.loaded_from = load_predict_prob()

    def score(self, texts: list[str]) -> list[dict[str, float]]:
        if not texts:
            return []
        return [{"profanity": float(p)} for p in self._predict(texts)]


class DetoxifyScorer:
    """detoxify's ``Detoxify``, built here from a checkpoint loaded with ``weights_only=True``.

    detoxify's own loader unpickles the checkpoint (``torch.load(weights_only=False)``): a
    checkpoint file is data a user passes, and a pickle in it would run code. So the file is read
    here with ``weights_only=True`` (tensors and plain containers only; anything else is refused
    in one line) and the model is built with detoxify's ``get_model_and_tokenizer``.
    """

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
        from detoxify.detoxify import get_model_and_tokenizer

        if threads > 0:
            torch.set_num_threads(threads)
        if checkpoint is not None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
        loaded = load_checkpoint(model, checkpoint, device)
        where = f"--toxicity-checkpoint {checkpoint}" if checkpoint else f"detoxify's {model}"
        args, classes = checkpoint_spec(loaded, where)
        net, tokenizer = get_model_and_tokenizer(
            **args, state_dict=loaded["state_dict"], huggingface_config_path=config_dir
        )
        self.detox = Detoxify.__new__(Detoxify)  # its __init__ would load the file again, unsafely
        self.detox.model, self.detox.tokenizer = net.to(device), tokenizer
        self.detox.class_names = [RENAMED.get(c, c) for c in classes]
        self.detox.device = device
        self.labels = list(self.detox.class_names)
        where = f"checkpoint {checkpoint}" if checkpoint else "downloaded checkpoint"
        self.name = f"detoxify:{model} ({where})"
        if checkpoint is not None:
            assert_weights_loaded(self.detox.model, loaded["state_dict"], checkpoint)

    def score(self, texts: list[str]) -> list[dict[str, float]]:
        if not texts:
            return []
        out = self.detox.predict(texts)
        if len(texts) == 1:  # detoxify squeezes a batch of one into floats
            out = {k: [v] for k, v in out.items()}
        return [{label: float(out[label][i]) for label in self.labels} for i in range(len(texts))]


# detoxify's own renaming of the Jigsaw class names (detoxify.detoxify.load_checkpoint).
RENAMED = {
    "toxic": "toxicity",
    "identity_hate": "identity_attack",
    "severe_toxic": "severe_toxicity",
}


def load_checkpoint(model: str, checkpoint: str | None, device: str) -> Any:
    """The checkpoint's contents, never unpickling anything but tensors and plain data."""
    import pickle

    import torch

    if checkpoint is None:
        from detoxify.detoxify import MODEL_URLS

        try:
            return torch.hub.load_state_dict_from_url(
                MODEL_URLS[model], map_location=device, weights_only=True, check_hash=True
            )
        except pickle.UnpicklingError as e:
            raise InputError(
                f"detoxify's {model} checkpoint holds more than tensors and plain data; refusing to "
                f"unpickle it ({_first_line(e)}); pass --toxicity-checkpoint with a converted one"
            ) from None
    try:
        return torch.load(checkpoint, map_location=device, weights_only=True)
    except pickle.UnpicklingError as e:
        if "Unsupported global" not in str(e):
            raise InputError(
                f"--toxicity-checkpoint {checkpoint}: not a readable torch checkpoint "
                f"({_first_line(e)})"
            ) from None
        raise InputError(
            f"--toxicity-checkpoint {checkpoint}: refused: it holds pickled Python objects, not "
            f"only tensors and plain data, and loading it could run code ({_first_line(e)})"
        ) from None
    except Exception as e:  # a truncated or foreign file: zip, EOF, runtime errors from torch
        raise InputError(
            f"--toxicity-checkpoint {checkpoint}: not a readable torch checkpoint "
            f"({type(e).__name__}: {_first_line(e)})"
        ) from None


def _first_line(e: BaseException) -> str:
    """torch's reason in a few words: the global the pickle asks for, else its first line."""
    import re

    text = str(e).strip()
    m = re.search(r"Unsupported global: GLOBAL ([\w.]+)", text)
    if m:
        return f"it asks for {m.group(1)}"
    m = re.search(r"Unsupported operand \d+", text)
    if m:
        return m.group(0)
    return text.splitlines()[0].strip()[:200] if text else type(e).__name__


def checkpoint_spec(loaded: Any, where: str) -> tuple[dict[str, Any], list[str]]:
    """The ``arch.args`` detoxify builds the model from, and the class names, checked."""
    import transformers

    try:
        args = dict(loaded["config"]["arch"]["args"])
        classes = list(loaded["config"]["dataset"]["args"]["classes"])
        if not isinstance(loaded["state_dict"], dict):
            raise TypeError("state_dict is not a dict")
    except (KeyError, TypeError, ValueError) as e:
        raise InputError(
            f"{where}: not a detoxify checkpoint (needs config.arch.args, "
            f"config.dataset.args.classes and state_dict: {type(e).__name__} {e})"
        ) from None
    keys = {"model_type", "model_name", "tokenizer_name", "num_classes"}
    if set(args) != keys or not all(isinstance(c, str) for c in classes):
        raise InputError(
            f"{where}: config.arch.args must have exactly {sorted(keys)}, classes strings"
        )
    model_name, tokenizer_name = args["model_name"], args["tokenizer_name"]
    if not (
        isinstance(model_name, str)
        and model_name.endswith("ForSequenceClassification")
        and hasattr(transformers, model_name)
    ):
        raise InputError(f"{where}: model_name {model_name!r} is not a transformers classifier")
    if not (
        isinstance(tokenizer_name, str)
        and tokenizer_name.endswith(("Tokenizer", "TokenizerFast"))
        and hasattr(transformers, tokenizer_name)
    ):
        raise InputError(
            f"{where}: tokenizer_name {tokenizer_name!r} is not a transformers tokenizer"
        )
    return args, classes


def assert_weights_loaded(model: Any, saved: dict[str, Any], checkpoint: str) -> None:
    """Wrong state_dict keys load silently as random weights: compare every tensor."""
    import torch

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


# detoxify.detoxify.MODEL_URLS' file names (tests/test_toxicity.py checks they agree): knowing
# them here lets the offline fallback decide without importing detoxify (torch + transformers, ~4 s).
CHECKPOINT_FILES = {
    "original": "toxic_original-c1212f89.ckpt",
    "unbiased": "toxic_debiased-c7548aa0.ckpt",
    "multilingual": "multilingual_debiased-0b549669.ckpt",
}


def torch_hub_dir() -> Path:
    """torch.hub.get_dir() without importing torch: $TORCH_HOME/hub, else
    $XDG_CACHE_HOME/torch/hub, else ~/.cache/torch/hub."""
    cache = os.environ.get("XDG_CACHE_HOME", os.path.join("~", ".cache"))
    home = os.environ.get("TORCH_HOME", os.path.join(cache, "torch"))
    return Path(os.path.expanduser(home)) / "hub"


def _cached_checkpoint(model: str) -> Path | None:
    name = CHECKPOINT_FILES.get(model)
    if name is None:
        return None
    path = torch_hub_dir() / "checkpoints" / name
    return path if path.exists() else None


def _no_default_route(route_table: str = "/proc/net/route") -> bool:
    """True when the routing table (Linux) has no default route: no network, known at once."""
    try:
        lines = Path(route_table).read_text().splitlines()[1:]
    except OSError:
        return False  # not Linux or not readable: ask the network
    return not any(len(f := line.split()) > 1 and f[1] == "00000000" for line in lines)


def _reachable(host: tuple[str, int], timeout: float) -> bool:
    try:
        with socket.create_connection(host, timeout=timeout):
            return True
    except OSError:
        return False


def detoxify_unavailable(
    model: str,
    checkpoint: str | None,
    timeout: float = 3.0,
    meanwhile: Callable[[], Any] | None = None,
) -> str | None:
    """Why detoxify cannot be had without stalling, or None when it can. A connection test runs
    in a thread while ``meanwhile`` (loading the fallback scorer) runs here: the wait for an
    unreachable host overlaps that work instead of adding to it."""
    if checkpoint is not None:
        return None
    offline = _offline_env()
    if offline:
        return f"offline ({offline}) and no --toxicity-checkpoint"
    if _cached_checkpoint(model) is not None:
        return None
    if _no_default_route():
        return f"cannot download the {model} checkpoint (no network: no default route)"
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="probe") as pool:
        probe = pool.submit(_reachable, DETOXIFY_HOST, timeout)
        if meanwhile is not None:
            meanwhile()
        reachable = probe.result()
    if not reachable:
        return f"cannot download the {model} checkpoint ({DETOXIFY_HOST[0]} unreachable)"
    return None


def check_paths(checkpoint: str | None, config_dir: str | None) -> None:
    """One clear line naming the option when a given path does not exist."""
    if checkpoint is not None and not Path(checkpoint).is_file():
        raise InputError(f"--toxicity-checkpoint {checkpoint}: no such file")
    if config_dir is not None and not Path(config_dir).is_dir():
        raise InputError(
            f"--toxicity-config {config_dir}: no such directory (the tokenizer/config dir)"
        )
