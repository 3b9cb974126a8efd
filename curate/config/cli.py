"""A config dataclass → a typer command: ``--config FILE``, one option per dedicated flag (help,
type and default from the field), ``--set section.key=value`` and ``--show-config``.

The handler is a plain typer function with its own arguments (inputs, ``--out`` …) plus ``cfg``
(and optionally ``origins``): it receives the resolved, checked config. Every command accepts
the snake_case spelling of its options (``--max_steps`` = ``--max-steps``) and a value after a
boolean flag (``--resume true``); a bad command line is one ``error:`` line, exit 2.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from typer.core import TyperCommand

from curate.cli_common import USAGE_EXIT_CODE, click_error, fail, handle_errors
from curate.config.errors import ConfigError
from curate.config.listing import config_listing, flow
from curate.config.spec import ConfigSpec, Flag, Origins
from curate.config.values import is_list, is_union

BOOL_WORDS = {"true": True, "yes": True, "on": True, "1": True}
BOOL_WORDS |= {"false": False, "no": False, "off": False, "0": False}
INJECTED = ("cfg", "origins")
RESERVED = ("config", "config_file", "set_", "show_config")  # the parameters added here


@dataclass
class Binding:
    """What the generated wrapper knows: its spec, handler and which parameter is which flag."""

    spec: ConfigSpec[Any]
    handler: Callable[..., Any]
    flags: dict[str, Flag]  # parameter name → flag
    own: list[str]  # the handler's own parameters

    def resolve(self, kwargs: dict[str, Any]) -> tuple[Any, Origins]:
        path, label = kwargs.get("config"), "--config"
        positional = kwargs.get("config_file")
        if positional is not None:
            if path is not None:
                raise ConfigError(f"CONFIG {positional} and --config {path}: give one config file")
            path, label = positional, "CONFIG"
        values = {flag.name: kwargs.get(param) for param, flag in self.flags.items()}
        return self.spec.load(path, values, kwargs.get("set_") or (), path_label=label)

    def call(self, kwargs: dict[str, Any]) -> Any:
        with handle_errors():
            cfg, origins = self.resolve(kwargs)
        wanted = inspect.signature(self.handler).parameters
        own = {name: kwargs[name] for name in self.own}
        injected = {"cfg": cfg, "origins": origins}
        return self.handler(**own, **{k: v for k, v in injected.items() if k in wanted})


def config_command(spec: ConfigSpec[Any]) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorate a handler ``f(own args…, cfg)`` into a typer command function."""

    def decorate(handler: Callable[..., Any]) -> Callable[..., Any]:
        sig = inspect.signature(handler, eval_str=True)
        own = [p for p in sig.parameters.values() if p.name not in INJECTED]
        clash = [p.name for p in own if p.name in RESERVED or p.name.startswith("flag_")]
        if clash:
            raise TypeError(f"{handler.__name__}: parameter names reserved for the config: {clash}")
        params = [p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in own]
        params += _config_params(spec)
        flags: dict[str, Flag] = {}
        defaults = spec.defaults()
        for i, flag in enumerate(spec.all_flags()):
            name = f"flag_{i}_{flag.name.lstrip('-').replace('-', '_').replace('.', '_')}"
            flags[name] = flag
            params.append(_flag_param(name, spec, flag, defaults))
        params += _tail_params(spec)
        binding = Binding(spec, handler, flags, [p.name for p in own])

        def command(**kwargs: Any) -> Any:
            return binding.call(kwargs)

        command.__name__ = handler.__name__
        command.__qualname__ = handler.__qualname__
        command.__doc__ = handler.__doc__
        command.__module__ = handler.__module__
        command.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
        command.__annotations__ = {p.name: p.annotation for p in params}
        command.__config__ = binding  # type: ignore[attr-defined]
        return command

    return decorate


def _kw(name: str, annotation: Any, default: Any = None) -> inspect.Parameter:
    return inspect.Parameter(
        name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation
    )


def _config_params(spec: ConfigSpec[Any]) -> list[inspect.Parameter]:
    params = []
    if spec.positional:
        arg = typer.Argument(
            metavar="CONFIG", help="YAML config; the options below override it.", show_default=False
        )
        params.append(_kw("config_file", Annotated[Path | None, arg]))
    opt = typer.Option("--config", help="YAML config, merged onto the defaults key by key.")
    params.append(_kw("config", Annotated[Path | None, opt]))
    return params


def _tail_params(spec: ConfigSpec[Any]) -> list[inspect.Parameter]:
    set_help = f"Any config key (list: --show-config): --set {spec.example} (repeatable)."
    set_opt = typer.Option("--set", metavar="KEY=VALUE", help=escape(set_help))

    def show(value: bool) -> None:
        if value:
            typer.echo(config_listing(spec), nl=False)
            raise typer.Exit()

    show_opt = typer.Option(
        "--show-config",
        callback=show,
        is_eager=True,
        help="Print every config key with its default, type and help, and exit.",
    )
    return [
        _kw("set_", Annotated[list[str] | None, set_opt]),
        _kw("show_config", Annotated[bool, show_opt], False),
    ]


def _flag_param(name: str, spec: ConfigSpec[Any], flag: Flag, defaults: Any) -> inspect.Parameter:
    tp = spec.flag_type(flag)
    shown = _shown_default(defaults, flag)
    text = (
        f"{flag.help} [default: {shown}]" if shown and "[default:" not in flag.help else flag.help
    )
    info: dict[str, Any] = {"help": escape(text), "show_default": False}
    if _inner(tp) is bool and flag.expand is None:
        decls = [f"{n}/--no-{n.removeprefix('--')}" for n in flag.names]
        return _kw(name, Annotated[bool | None, typer.Option(*decls, **info)])
    if is_list(tp) or (is_union(tp) and any(is_list(a) for a in typing.get_args(tp))):
        option = typer.Option(*flag.names, metavar=_metavar(tp), **info)
        return _kw(name, Annotated[list[str] | None, option])
    metavar = "<" + "|".join(map(str, flag.choices)) + ">" if flag.choices else _metavar(tp)
    option = typer.Option(*flag.names, metavar=metavar, **info)
    return _kw(name, Annotated[str | None, option])


def _inner(tp: Any) -> Any:
    args = [a for a in typing.get_args(tp) if a is not type(None)] if is_union(tp) else [tp]
    return args[0] if len(args) == 1 else tp


def _metavar(tp: Any) -> str:
    tp = _inner(tp)
    if typing.get_origin(tp) is typing.Literal:
        return "<" + "|".join(map(str, typing.get_args(tp))) + ">"
    if is_list(tp) or is_union(tp):
        return "<str>"
    return {int: "<int>", float: "<float>"}.get(tp, "<str>")


def _shown_default(defaults: Any, flag: Flag) -> str | None:
    if flag.expand is not None or not flag.keys:
        return None
    value = defaults
    for part in flag.keys[0].split("."):
        value = getattr(value, part)
    if value is None or value == "" or value == [] or value == {}:
        return None
    return flow(value)


# ---- the click side: forgiving spellings, one-line usage errors ----


class ConfigCommand(TyperCommand):
    """A typer command that reads ``--max_steps`` as ``--max-steps`` and ``--resume true`` as
    ``--resume``, and reports a bad command line as one ``error:`` line (exit 2)."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        return super().parse_args(ctx, normalize_args(self, args))

    def make_context(
        self, info_name: str | None, args: list[str], parent: Any = None, **extra: Any
    ) -> Any:
        try:
            return super().make_context(info_name, args, parent=parent, **extra)
        except Exception as e:
            if not click_error(e, "UsageError") or click_error(e, "NoArgsIsHelpError"):
                raise
            fail(usage_line(e), USAGE_EXIT_CODE)


def normalize_args(command: Any, args: list[str]) -> list[str]:
    """``--max_steps`` → ``--max-steps``; ``--resume true`` / ``--resume=false`` → ``--resume`` /
    ``--no-resume``."""
    names: set[str] = set()
    flags: dict[str, tuple[str, str | None]] = {}  # a bool flag's name → (on form, off form)
    for p in command.params:
        if getattr(p, "param_type_name", "") != "option":
            continue
        names.update(p.opts + p.secondary_opts)
        if p.is_flag:
            for on, off in zip(p.opts, p.secondary_opts or [None] * len(p.opts), strict=False):
                flags[on] = (on, off)
                if off:
                    flags[off] = (off, on)
    out: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        i += 1
        if arg == "--":
            out += args[i - 1 :]
            break
        if not arg.startswith("--"):
            out.append(arg)
            continue
        name, eq, value = arg.partition("=")
        if name not in names and name.replace("_", "-") in names:
            name = name.replace("_", "-")
        if name in flags:
            if not eq and i < len(args) and args[i].lower() in BOOL_WORDS:
                value, eq = args[i], "="
                i += 1
            if eq and value.lower() in BOOL_WORDS:
                on, off = flags[name]
                chosen = on if BOOL_WORDS[value.lower()] else off
                if chosen:
                    out.append(chosen)
                continue
        out.append(f"{name}{eq}{value}")
    return out


def usage_line(e: Any) -> str:
    """``--lora.rank: unknown option (did you mean --lora.r?)`` and click's other messages."""
    if click_error(e, "NoSuchOption"):
        close = list(e.possibilities or [])[:1]  # best match first
        hint = f" (did you mean {close[0]}?)" if close else "; --help lists the options"
        return f"{e.option_name}: unknown option{hint}"
    return " ".join(e.format_message().split())


def parse(command: Callable[..., Any], args: list[str]) -> tuple[Any, Origins, dict[str, Any]]:
    """Resolve a command line the way the command would, without running it: (config, origins,
    the handler's own arguments). Errors, the command line's too, are a ConfigError."""
    binding: Binding = command.__config__  # type: ignore[attr-defined]
    app = typer.Typer()
    app.command(cls=ConfigCommand)(command)
    click_cmd = typer.main.get_command(app)
    try:
        ctx = TyperCommand.make_context(click_cmd, "command", list(args))  # type: ignore[arg-type]
    except Exception as e:
        if not click_error(e, "UsageError"):
            raise
        raise ConfigError(usage_line(e)) from None
    cfg, origins = binding.resolve(dict(ctx.params))
    return cfg, origins, {name: ctx.params.get(name) for name in binding.own}


def parse_args(spec: ConfigSpec[Any], args: list[str]) -> tuple[Any, Origins]:
    """``args`` read as a command with only ``spec``'s options would read them."""

    def handler(cfg: Any) -> None:
        return None

    return parse(config_command(spec)(handler), args)[:2]
