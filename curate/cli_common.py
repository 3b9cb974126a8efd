"""What the `curate` and `train` commands share: the error line, the exit codes, --version."""

from __future__ import annotations

import errno
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.text import Text

from curate import __version__

err = Console(stderr=True, highlight=False, soft_wrap=True)

# Errors a user can cause → exit code; (module, class) so that no heavy module is imported to
# check: an exception's class can only come from a module that is already loaded.
EXIT_CODES: dict[tuple[str, str], int] = {
    ("curate.config.errors", "ConfigError"): 1,
    ("curate.io.errors", "InputError"): 1,
    ("curate.io.errors", "StrictError"): 1,
    ("curate.backends.base", "BackendError"): 1,
    ("curate.generate.state", "RunDirError"): 1,
    ("curate.rundir", "OutputDirError"): 1,
    ("train.data", "DataError"): 1,
    ("train.recipe", "RunError"): 1,
    ("train.adapter", "AdapterError"): 1,
    ("train.export", "ExportError"): 1,
    ("builtins", "KeyboardInterrupt"): 130,
    # a fault of the machine (permission, a full disk, a file-size limit, a directory where a
    # file goes): one line naming the path and what to do, never a traceback
    ("builtins", "OSError"): 1,
}

# what to do, by errno; the path and the system's own words come from the error itself
OS_HINTS: dict[int, str] = {
    errno.EACCES: "check its permissions, or write somewhere else",
    errno.EPERM: "check its permissions, or write somewhere else",
    errno.EROFS: "the file system is read-only: write somewhere else",
    errno.EISDIR: "a directory is there: give a file path",
    errno.ENOTDIR: "a file is there where a directory is needed: choose another path",
    errno.EEXIST: "something is already there (a file where a directory is needed?)",
    errno.ENOENT: "check the path",
    errno.ENOSPC: "the disk is full: free space or write somewhere else, then rerun",
    errno.EDQUOT: "the disk quota is used up: free space or write somewhere else, then rerun",
    errno.EFBIG: "the file hit the file-size limit (ulimit -f): raise it or split the output",
    errno.ENAMETOOLONG: "choose a shorter name",
    errno.ELOOP: "a symbolic link loop: fix the link",
    errno.EMFILE: "too many open files: raise the limit (ulimit -n)",
    errno.EIO: "an I/O error from the device: check the disk",
}
USAGE_EXIT_CODE = 2  # a bad command line (click's convention)


def fail(message: str, code: int = 1) -> NoReturn:
    """One line on stderr, printed literally (a path with ``[/]`` in it is just text), no
    traceback; then exit with ``code``."""
    err.print(Text.assemble(("error:", "bold red"), " ", message))
    raise typer.Exit(code)


def exit_code(error: BaseException, also: tuple[type[BaseException], ...] = ()) -> int | None:
    """The exit code for an error a user can cause; None for a bug (let it raise)."""
    for (module, name), code in EXIT_CODES.items():
        loaded = sys.modules.get(module)
        cls = getattr(loaded, name, None) if loaded is not None else None
        if isinstance(cls, type) and isinstance(error, cls):
            return code
    return 1 if also and isinstance(error, also) else None


def click_error(error: BaseException, *names: str) -> bool:
    """Whether ``error`` is one of click's exceptions called ``names`` (click's own, or the copy
    of click that typer ships since 0.17: matched by name so either works)."""
    return any(
        c.__name__ in names and c.__module__.split(".")[0] in ("click", "typer")
        for c in type(error).__mro__
    )


def explain(error: BaseException) -> str:
    if isinstance(error, KeyboardInterrupt):
        return "interrupted"
    if isinstance(error, OSError) and error.errno is not None:
        return os_error_line(error)
    return str(error).strip() or type(error).__name__


def os_error_line(error: OSError) -> str:
    """``PATH: strerror; what to do`` (``PATH → PATH2`` for a rename)."""
    where = [str(f) for f in (error.filename, error.filename2) if f is not None]
    what = error.strerror or os.strerror(error.errno or 0)
    line = f"{' → '.join(where)}: {what}" if where else what
    hint = OS_HINTS.get(error.errno or 0)
    return f"{line}; {hint}" if hint else line


def ignore_file_size_signal() -> None:
    """Past ``ulimit -f`` the kernel kills the process with SIGXFSZ (no message, half an output):
    ignored, the write fails with EFBIG instead, which becomes one error line."""
    sigxfsz = getattr(signal, "SIGXFSZ", None)
    if sigxfsz is not None and threading.current_thread() is threading.main_thread():
        signal.signal(sigxfsz, signal.SIG_IGN)


@contextmanager
def handle_errors(
    *also: type[BaseException],
    cleanup: Callable[[], None] | None = None,
    message: Callable[[BaseException], str] = explain,
) -> Iterator[None]:
    """Turn the errors of EXIT_CODES (and ``also``, exit 1) into one ``error:`` line and their exit
    code; ``cleanup`` runs first (close a progress display). Anything else is a bug and raises."""
    try:
        yield
    except BaseException as e:
        code = exit_code(e, also)
        if code is None or click_error(e, "ClickException", "Exit", "Abort"):
            raise
        if cleanup is not None:
            cleanup()
        fail(message(e), code)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"instructforge {__version__}")
        raise typer.Exit()


VersionOption = Annotated[
    bool,
    typer.Option("--version", callback=_print_version, is_eager=True, help="Show the version."),
]


def command_app(name: str, help: str, summary: str) -> typer.Typer:
    """A top-level command (`curate`, `train`): rich help, shown when run bare, no shell-completion
    options, no pretty tracebacks; --version, and SIGXFSZ ignored before any subcommand runs.
    ``summary``: the docstring of its callback."""
    app = typer.Typer(
        name=name,
        help=help,
        rich_markup_mode="rich",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
    )

    def main(
        version: VersionOption = False,
    ) -> None:
        ignore_file_size_signal()

    main.__doc__ = summary
    app.callback()(main)
    return app
