"""instructforge's data side: read, convert, audit and grow instruction sets."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("instructforge")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0"
