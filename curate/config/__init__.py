"""The one config system of every command: a dataclass ↔ YAML ↔ flags.

``option()`` declares a field with its help text, an optional dedicated flag and choices;
``ConfigSpec.load`` resolves defaults ← shipped YAML ← ``--config`` ← flags ← ``--set``, every
value type-checked, every error one line naming ``file:line``, the flag or ``--set`` and the key.
The typer side (flags generated from the fields) is ``curate.config.cli``.
"""

from curate.config.errors import ConfigError
from curate.config.fields import Leaf, build, field_types, leaves, option, set_value
from curate.config.spec import ConfigSpec, Flag, Origins, flag_name, from_yaml
from curate.config.values import coerce, describe, from_text, type_name
from curate.config.yaml_text import dump, read_yaml, yaml_lines

__all__ = [
    "ConfigError",
    "ConfigSpec",
    "Flag",
    "Leaf",
    "build",
    "Origins",
    "coerce",
    "describe",
    "dump",
    "field_types",
    "flag_name",
    "from_text",
    "from_yaml",
    "leaves",
    "option",
    "read_yaml",
    "set_value",
    "type_name",
    "yaml_lines",
]
