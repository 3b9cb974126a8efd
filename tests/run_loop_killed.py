"""`curate loop` with `--backend fake`, killed with SIGKILL inside one step of round 2.

    python tests/run_loop_killed.py STEP loop CONFIG --out DIR ...

STEP (generate, filter, train, eval, or none): the process kills itself with SIGKILL in the
middle of that step of round 2: generate at the fake backend's second call, filter after kept and
rejected are written but before stats and report, train before the adapter is saved, eval once
the model is loaded, before scoring. Test-side only; the package has no such hook.
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from generate_fakes import ScriptedBackend  # noqa: E402
from loop_fakes import loop_respond  # noqa: E402

from curate.backends.registry import BackendSpec, register_backend  # noqa: E402


def die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def in_round_2(path: object) -> bool:
    return f"rounds{os.sep}002" in str(path)


def arm(step: str) -> None:
    if step == "filter":
        import curate.filters.pipeline as pipeline

        real = pipeline._finish
        pipeline._finish = lambda out, *a, **k: die() if in_round_2(out) else real(out, *a, **k)
    elif step == "train":
        import train.recipe as recipe

        real_save = recipe.save_adapter
        recipe.save_adapter = lambda m, t, c, out: (
            die() if in_round_2(out) else real_save(m, t, c, out)
        )
    elif step == "eval":
        import train.eval as ev

        real_score = ev.score
        ev.score = lambda s, *a, **k: die() if in_round_2(s.adapter) else real_score(s, *a, **k)


def main(argv: list[str]) -> None:
    step, argv = argv[0], argv[1:]

    def factory(opts):
        on_call = (
            (lambda n: die() if n == 2 else None) if step == "generate" and opts.adapter else None
        )
        return ScriptedBackend(loop_respond, model=opts.model, on_call=on_call)

    register_backend(BackendSpec("fake", factory, "scripted answers (tests only)"))
    arm(step)
    from curate.cli import app

    app(args=argv, prog_name="curate")


if __name__ == "__main__":
    main(sys.argv[1:])
