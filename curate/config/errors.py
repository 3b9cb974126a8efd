"""The one error type for a config value a user can get wrong."""

from __future__ import annotations


class ConfigError(ValueError):
    """A bad config value or option: the message is one line naming where (file:line, the flag or
    ``--set``), the dotted key and what is wrong."""
