"""The real `curate` CLI with `--backend fake` registered: how a test drives the CLI process
(kill -9 it, run it again) without a model. Test-side only; the package has no such hook.

    python tests/run_with_fake_backend.py [--pause-at-call N --signal FILE] generate --backend fake ...

--pause-at-call N: when the fake backend is called for the Nth time, write FILE and block there
until the process is killed, so a test kills it at a known point instead of after a sleep.
"""

from __future__ import annotations

import sys
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from generate_fakes import fake_spec, respond  # noqa: E402

from curate.backends.registry import register_backend  # noqa: E402
from curate.cli import app  # noqa: E402


def main(argv: list[str]) -> None:
    pause_at, signal = None, None
    if argv[:1] == ["--pause-at-call"]:
        assert argv[2] == "--signal", "usage: --pause-at-call N --signal FILE curate-args..."
        pause_at, signal, argv = int(argv[1]), Path(argv[3]), argv[4:]

    def on_call(n: int) -> None:
        if n == pause_at and signal is not None:
            signal.write_text(f"paused at call {n}\n")
            threading.Event().wait()  # until kill -9

    register_backend(fake_spec(respond, on_call=on_call))
    app(args=argv, prog_name="curate")


if __name__ == "__main__":
    main(sys.argv[1:])
