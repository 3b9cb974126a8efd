"""How generation prompts reach the model: raw few-shot text, or a user turn in a chat template.

A base model continues raw few-shot text. An adapter trained by `train run` on instruction →
response data has learned its training template (alpaca, chatml or the tokenizer's chat_template,
named in the adapter's ``train_config.yaml``): with ``prompt_format: chat`` each generation prompt
is sent as the instruction of that template, so the adapter sees what it was trained on.
``auto`` (the default) picks chat when an adapter directory from `train run` is given, raw otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from curate.backends.base import Backend, Completion, SamplingParams
from curate.config import ConfigError
from curate.records import Record
from curate.render import render

TRAIN_CONFIG = "train_config.yaml"  # written beside every adapter by `train run`


def adapter_dir(adapter: str | None) -> Path | None:
    """The adapter as a local directory, when it is one (openai may name a served LoRA instead)."""
    if adapter and Path(adapter).expanduser().is_dir():
        return Path(adapter).expanduser()
    return None


def training_template(directory: Path) -> str:
    """The template an adapter was trained with (its train_config.yaml), ConfigError if unknown."""
    import yaml

    path = directory / TRAIN_CONFIG
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as e:
        raise ConfigError(
            f"prompt_format: chat needs the adapter's training template, but {path} cannot be read ({e}); "
            "set prompt_format: raw"
        ) from None
    return str(data.get("template") or "alpaca")


def resolve(cfg: Any) -> tuple[str, str | None, Path | None]:
    """(raw | chat, the chat template or None, the directory its tokenizer comes from)."""
    directory = adapter_dir(cfg.adapter)
    trained_here = directory is not None and (directory / TRAIN_CONFIG).is_file()
    if cfg.prompt_format == "raw" or (cfg.prompt_format == "auto" and not trained_here):
        return "raw", None, None  # auto: an adapter not written by `train run` has no template
    if directory is not None:
        return "chat", training_template(directory), directory
    return "chat", "tokenizer", Path(cfg.model)  # no adapter: the model's own chat_template


@dataclass
class ChatPrompts:
    """A backend whose prompts are first rendered as the user turn of ``template``."""

    inner: Backend
    template: str
    tokenizer: Any = None

    @property
    def name(self) -> str:
        return self.inner.name

    @property
    def model(self) -> str:
        return self.inner.model

    @property
    def adapter(self) -> str | None:
        return self.inner.adapter

    def wrap(self, prompt: str) -> str:
        return render(Record(id="prompt", instruction=prompt), self.template, self.tokenizer)[0]

    def complete(self, prompts: list[str], params: SamplingParams) -> list[list[Completion]]:
        return self.inner.complete([self.wrap(p) for p in prompts], params)

    def close(self) -> None:
        self.inner.close()


def with_format(backend: Backend, cfg: Any) -> tuple[Backend, str]:
    """``backend`` as ``cfg.prompt_format`` says, and the format it resolved to."""
    kind, template, source = resolve(cfg)
    if kind == "raw":
        return backend, "raw"
    tokenizer = None
    if template == "tokenizer":
        from transformers import AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(str(source))
        if not getattr(tokenizer, "chat_template", None):
            raise ConfigError(
                f"prompt_format: chat: {source} has no chat_template; set prompt_format: raw"
            )
    return ChatPrompts(backend, template, tokenizer), f"chat:{template}"
