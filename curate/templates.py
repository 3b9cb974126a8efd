"""Prompt templates: the files of the top-level ``prompts/`` package, read once, rendered strictly.

Generation prompts (``curate.generate.prompts``) and training prompts (``curate.render``) are both
rendered here. A template names its variables as ``{name}``; any other brace (JSON in a prompt)
is left as it is. Rendering checks that every variable the template names is given and that
nothing else is, so a template and its caller cannot drift apart: a mismatch is a
``TemplateError`` naming the file (``prompts/train/alpaca.txt: missing ['input']``).

Whether the file's final newline belongs to the prompt is the caller's choice: a generation
prompt ends where its last line ends, so the model continues that line; a training prompt keeps
it, so the response starts on a line of its own.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache
from importlib.resources import files

_VAR = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


class TemplateError(KeyError):
    """A template and the values given for it disagree (a KeyError, shown without quotes)."""

    def __str__(self) -> str:
        return str(self.args[0])


@lru_cache(maxsize=64)
def template_text(name: str, final_newline: bool = True) -> str:
    """``prompts/<name>`` (``name`` like ``train/alpaca.txt``), read once per process; without its
    final newline when ``final_newline`` is False."""
    text = files("prompts").joinpath(*name.split("/")).read_text(encoding="utf-8")
    return text if final_newline or not text.endswith("\n") else text[:-1]


@lru_cache(maxsize=64)
def _pieces(name: str, final_newline: bool) -> tuple[str, ...]:
    """The template cut at its variables: text, variable name, text, …, variable name, text."""
    return tuple(_VAR.split(template_text(name, final_newline)))


@lru_cache(maxsize=64)
def template_vars(name: str) -> frozenset[str]:
    """The ``{variables}`` a template names."""
    return frozenset(_pieces(name, True)[1::2])


def render_template(name: str, values: Mapping[str, object], *, final_newline: bool = True) -> str:
    """``prompts/<name>`` with each ``{var}`` replaced by ``str(values[var])``.

    A variable the template names but ``values`` lacks, or a value it does not name, is a
    TemplateError naming the file.
    """
    wanted = template_vars(name)
    if values.keys() != wanted:
        missing, extra = wanted - values.keys(), values.keys() - wanted
        raise TemplateError(
            f"prompts/{name}: missing {sorted(missing)}, unexpected {sorted(extra)}"
            if missing
            else f"prompts/{name}: unexpected {sorted(extra)}"
        )
    pieces = list(_pieces(name, final_newline))
    for i in range(1, len(pieces), 2):
        pieces[i] = str(values[pieces[i]])
    return "".join(pieces)
