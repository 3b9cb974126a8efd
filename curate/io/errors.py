"""What goes wrong with input, said with file, line and field."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from curate.jsonout import dumps


@dataclass
class Reject:
    """A record the reader could not turn into a Record: kept, with the reason."""

    source: str  # "path:line"
    error: str
    field: str = ""
    raw: str = ""

    def to_dict(self) -> dict[str, str]:
        return asdict(self)

    def to_json(self) -> str:
        return dumps(self.to_dict(), ensure_ascii=False)

    def __str__(self) -> str:
        where = f"{self.source}: {self.field}" if self.field else self.source
        return f"{where}: {self.error}"


class FieldError(ValueError):
    """A row has a missing, mistyped or empty field."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


class InputError(Exception):
    """The input as a whole cannot be read (missing, empty, a directory, unknown format).

    The CLI prints it as one line, without a traceback.
    """


class StrictError(Exception):
    """Raised in --strict mode on the first malformed record."""

    def __init__(self, reject: Reject):
        super().__init__(str(reject))
        self.reject = reject
