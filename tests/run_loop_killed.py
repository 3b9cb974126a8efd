"""`curate loop` with `--backend fake`, killed with SIGKILL inside one step of round 2.

    python tests/run_loop_killed.py STEP loop CONFIG --out DIR ...
    python tests/run_loop_killed.py chain STEP,STEP,... loop CONFIG --out DIR ...

The chain form imports torch, transformers, peft and the loop once, then forks one child per STEP,
in order, each resuming the loop where the last was killed (the parent runs no model, so the
children start clean); it prints a JSON list: per child the signal that ended it and whether
rounds/002/STEP exists without its done marker, as the child left it.

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
from loop_fakes import judge_longer, loop_respond  # noqa: E402

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
    judge = BackendSpec("judge", lambda o: ScriptedBackend(judge_longer, model=o.model), "judge")
    register_backend(judge)
    arm(step)
    from curate.cli import app

    app(args=argv, prog_name="curate")


def chain(steps: list[str], argv: list[str]) -> None:
    import json

    import peft  # noqa: F401  the heavy imports, once, before the forks
    import transformers.models.llama.modeling_llama  # noqa: F401
    from transformers import Trainer  # noqa: F401

    import curate.filters.pipeline  # noqa: F401
    import curate.generate.loop  # noqa: F401
    import curate.loop.report  # noqa: F401
    import curate.loop.run  # noqa: F401
    import train.eval_run  # noqa: F401
    import train.recipe  # noqa: F401
    from curate.cli import app  # noqa: F401

    out = Path(argv[argv.index("--out") + 1])
    seen = []
    for step in steps:
        pid = os.fork()
        if pid == 0:
            try:
                main([step, *argv])
            finally:
                os._exit(3)  # not killed: the parent sees no signal
        _, status = os.waitpid(pid, 0)
        d = out / "rounds" / "002" / step
        signal_ = os.WTERMSIG(status) if os.WIFSIGNALED(status) else None
        seen.append({"step": step, "signal": signal_, "dir": d.is_dir(), "done": (d / ".done.json").exists()})  # fmt: skip
    print(json.dumps(seen))


if __name__ == "__main__":
    if sys.argv[1] == "chain":
        chain(sys.argv[2].split(","), sys.argv[3:])
    else:
        main(sys.argv[1:])
