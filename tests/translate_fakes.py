"""The translate tests' fake translator: source records, a scripted backend answering the
prompts of prompts/translate/ from a table, and a launcher for kill -9 tests.

    python tests/translate_fakes.py [--pause-at-call N --signal FILE] translate --backend fake-mt ...
"""

from __future__ import annotations

import re
import sys
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from generate_fakes import ScriptedBackend  # noqa: E402

from curate.backends.base import BackendOptions, Completion, SamplingParams  # noqa: E402
from curate.backends.registry import BackendSpec  # noqa: E402

SOURCES = [
    {"id": "t01", "instruction": "Give three tips for staying healthy.", "input": "",
     "output": "1. Eat well.\n2. Sleep enough.\n3. Move every day."},
    {"id": "t02", "instruction": "Write a short invitation for {name} to the meeting at https://meet.example.com/abc.",
     "input": "", "output": "Dear {name}, please join us at https://meet.example.com/abc on Monday at 10 for the planning meeting."},
    {"id": "t03", "instruction": "Translate this sentence into French.", "input": "Good morning.", "output": "Bonjour."},
    {"id": "t04", "instruction": "Find a word that rhymes with cat.", "input": "", "output": "Hat."},
    {"id": "t05", "instruction": "Write a Python function that adds two numbers.", "input": "",
     "output": "```python\ndef add(a, b):\n    return a + b\n```"},
    {"id": "t06", "instruction": "Send the report to anna@example.org before Friday.", "input": "",
     "output": "I will send the report to anna@example.org before Friday morning, as agreed."},
    {"id": "t07", "instruction": "Describe the colour of the sky on a clear day.", "input": "",
     "output": "On a clear day the sky is a bright and even blue from one side to the other."},
    {"id": "t08", "instruction": "Explain why the sea is salty in a few sentences.", "input": "",
     "output": "Rivers carry dissolved minerals from rocks into the sea, and when the water evaporates the salt stays behind."},
    {"id": "t09", "instruction": "Name the largest planet of the solar system.", "input": "",
     "output": "The largest planet of the solar system is Jupiter, a gas giant far bigger than the Earth."},
    {"id": "t10", "instruction": "Explain what the command `ls -la` prints in a terminal window.", "input": "",
     "output": "It lists every file of the folder, hidden ones included, with their size and permissions."},
]  # fmt: skip

ES = {
    "Give three tips for staying healthy.": "Da tres consejos para mantenerse sano.",
    "[[1]]. Eat well.\n[[2]]. Sleep enough.\n[[3]]. Move every day.":
        "[[1]]. Come bien.\n[[2]]. Duerme lo suficiente.\n[[3]]. Muévete todos los días.",
    "Write a short invitation for [[1]] to the meeting at [[2]].":
        "Escribe una breve invitación para [[1]] a la reunión en [[2]].",
    "Dear [[1]], please join us at [[2]] on Monday at [[3]] for the planning meeting.":
        "Querido [[1]], únete a nosotros en [[2]] el lunes a las [[3]] para la reunión de planificación.",
    # t06: the model drops the e-mail marker of the output
    "Send the report to [[1]] before Friday.": "Envía el informe a [[1]] antes del viernes.",
    "I will send the report to [[1]] before Friday morning, as agreed.":
        "Enviaré el informe antes del viernes por la mañana, como acordamos.",
    # t07: an empty translation of the output
    "Describe the colour of the sky on a clear day.": "Describe el color del cielo en un día despejado.",
    "On a clear day the sky is a bright and even blue from one side to the other.": "",
    # t08: the output comes back in English (wrong language)
    "Explain why the sea is salty in a few sentences.": "Explica en pocas frases por qué el mar es salado.",
    "Rivers carry dissolved minerals from rocks into the sea, and when the water evaporates the salt stays behind.":
        "Rivers carry dissolved minerals from rocks into the sea, and when the water evaporates the salt stays behind.",
    # t09: cut at the token limit
    "Name the largest planet of the solar system.": "Nombra el planeta más grande del sistema solar.",
    "The largest planet of the solar system is Jupiter, a gas giant far bigger than the Earth.":
        "El planeta más grande del sistema solar es Júpiter, un gigante gaseoso mucho",
    "Explain what the command [[1]] prints in a terminal window.":
        "Explica qué imprime el comando [[1]] en una ventana de terminal.",
    "It lists every file of the folder, hidden ones included, with their size and permissions.":
        "Enumera todos los archivos de la carpeta, incluidos los ocultos, con su tamaño y permisos.",
}  # fmt: skip
TRUNCATED = {"El planeta más grande del sistema solar es Júpiter, un gigante gaseoso mucho"}
PROMPT = re.compile(r"\n\nEnglish:\n(.*)\n\n(?:Spanish|German):$", re.DOTALL)
EXPECTED = {  # source id → reason in rejected.jsonl ("" = kept)
    "t01": "", "t02": "", "t03": "translate:skip-translation-task", "t04": "translate:skip-english-task",
    "t05": "translate:skip-code-only", "t06": "translate:lost-span", "t07": "translate:empty",
    "t08": "lang-mismatch:en", "t09": "translate:truncated", "t10": "",
}  # fmt: skip


def respond(prompt: str, j: int, params: SamplingParams) -> str | Completion:
    m = PROMPT.search(prompt)
    if m is not None:
        text = ES.get(m.group(1), "Esta es una traducción al español de un texto desconocido.")
        finish = "length" if text in TRUNCATED else "stop"
        return Completion(text, finish, len(prompt.split()), len(text.split()) + 1)
    if "### Response (Spanish):" in prompt:
        return " Esta es una respuesta escrita directamente en español por el modelo de prueba."
    raise AssertionError(f"unexpected prompt {prompt[-80:]!r}")


def translate_spec(on_call=None) -> BackendSpec:
    def factory(opts: BackendOptions) -> ScriptedBackend:
        return ScriptedBackend(respond, model=opts.model, on_call=on_call)

    return BackendSpec("fake-mt", factory, "scripted Spanish translations (tests only)")


def main(argv: list[str]) -> None:
    from curate.backends.registry import register_backend
    from curate.cli import app

    pause_at, signal = None, None
    if argv[:1] == ["--pause-at-call"]:
        pause_at, signal, argv = int(argv[1]), Path(argv[3]), argv[4:]

    def on_call(n: int) -> None:
        if n == pause_at and signal is not None:
            signal.write_text(f"paused at call {n}\n")
            threading.Event().wait()  # until kill -9

    register_backend(translate_spec(on_call))
    app(args=argv, prog_name="curate")


if __name__ == "__main__":
    main(sys.argv[1:])
