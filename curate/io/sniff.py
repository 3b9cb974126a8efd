"""What a path is before anything parses it, and what every parsed JSON value must pass.

- ``file_status``: a regular file, or an InputError that names what it is instead (a FIFO, a
  symlink loop, a broken link, a file we may not read …).
- ``sniff``: the text encoding (a UTF-8/16/32 byte-order mark, else UTF-8), or an InputError
  when the bytes are not text at all (binary, compressed, a Parquet file under another name).
- ``decode``: bytes → text where undecodable bytes become lone surrogates, so that a line
  holding one is rejected (with its file:line) instead of silently changed.
- ``loads`` / ``value_problem``: JSON that is nested too deeply, holds a lone surrogate
  (``"\\ud800"``) or a number Python refuses is a reason to reject that record, never a traceback.
"""

from __future__ import annotations

import codecs
import errno
import json
import os
import re
import stat
from typing import Any

from curate.io.errors import InputError

MAX_DEPTH = 100  # levels of nested objects/lists a record may have (a real one has a handful)
HEAD_BYTES = 4096

_BOMS = (  # UTF-32-LE's mark starts with UTF-16-LE's: longest first
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_MAGIC = (
    (b"PAR1", "a Parquet file (name it .parquet)"),
    (b"\x1f\x8b", "gzip-compressed data (decompress it first)"),
    (b"PK\x03\x04", "a zip archive (extract it first)"),
    (b"BZh", "bzip2-compressed data (decompress it first)"),
    (b"\xfd7zXZ\x00", "xz-compressed data (decompress it first)"),
    (b"\x28\xb5\x2f\xfd", "zstd-compressed data (decompress it first)"),
)
# control bytes never valid in JSON text (tab, newline, CR, FF and ESC aside)
_BINARY = re.compile(rb"[\x00-\x08\x0b\x0e-\x1a\x1c-\x1f]")
SURROGATE = re.compile("[\ud800-\udfff]")
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")  # how a surrogate is written in JSON
_SPECIAL = (
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
)


def describe_oserror(path: str | os.PathLike[str], error: OSError) -> str:
    """One line: the path and what the system said about it, in words a user acts on."""
    reason = {
        errno.ELOOP: "too many levels of symbolic links (a symlink loop)",
        errno.EACCES: "permission denied",
        errno.EPERM: "operation not permitted",
        errno.ENOTDIR: "a parent of this path is not a directory",
        errno.ENAMETOOLONG: "file name too long",
        errno.EISDIR: "is a directory",
    }.get(error.errno or 0, error.strerror or type(error).__name__)
    return f"{path}: {reason}"


def file_status(path: str) -> os.stat_result | None:
    """The stat of ``path`` (a regular file or a directory); None when nothing is there (it may
    be a hub id); InputError naming what the path is when it cannot be read as a file."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        if os.path.islink(path):
            target = os.readlink(path)
            raise InputError(
                f"{path}: broken symbolic link (its target {target} does not exist)"
            ) from None
        return None
    except OSError as e:
        raise InputError(describe_oserror(path, e)) from e
    if stat.S_ISREG(st.st_mode) or stat.S_ISDIR(st.st_mode):
        return st
    what = next((name for test, name in _SPECIAL if test(st.st_mode)), "not a regular file")
    raise InputError(f"{path}: is {what}, not a regular file; save the data to a file first")


def _codec_mark(error: UnicodeError) -> tuple[str, int]:
    """Undecodable bytes → one lone surrogate each (U+DC80+byte, as surrogateescape does)."""
    if not isinstance(error, UnicodeDecodeError):
        raise error
    bad = error.object[error.start : error.end]
    return "".join(chr(0xDC00 | (b if b >= 0x80 else 0x80 | b)) for b in bad), error.end


codecs.register_error("curate.mark", _codec_mark)


def sniff(path: str, head: bytes | None = None) -> tuple[str, int]:
    """(encoding, length of its byte-order mark); InputError when the file is not text."""
    if head is None:
        try:
            with open(path, "rb") as f:
                head = f.read(HEAD_BYTES)
        except OSError as e:
            raise InputError(describe_oserror(path, e)) from e
    for bom, encoding in _BOMS:
        if head.startswith(bom):
            return encoding, len(bom)
    for magic, what in _MAGIC:
        if head.startswith(magic):
            raise InputError(f"{path}: not text but {what}")
    if b"\x00" in head[:64]:
        for order, zeros in (("LE", head[1:64:2]), ("BE", head[0:64:2])):
            if zeros.count(0) >= 0.9 * len(zeros):
                raise InputError(
                    f"{path}: looks like UTF-16-{order} text without a byte-order mark; "
                    "save it as UTF-8 (or with a byte-order mark)"
                )
    m = _BINARY.search(head)
    if m and head.lstrip()[:1] not in (b"{", b"["):
        raise InputError(
            f"{path}: not text but binary data (control byte {m.group()!r} at byte {m.start()}); "
            "expected JSON or JSON Lines in UTF-8, or in UTF-16/UTF-32 with a byte-order mark"
        )
    return "utf-8", 0


def decode(data: bytes, encoding: str) -> str:
    """Text in which each undecodable byte is a lone surrogate (see ``undecodable``)."""
    errors = "surrogateescape" if encoding == "utf-8" else "curate.mark"
    return data.decode(encoding, errors=errors)


def undecodable(text: str, encoding: str) -> str | None:
    """The reject reason when ``text`` (from ``decode``) held bytes that were not ``encoding``."""
    m = SURROGATE.search(text)
    if m is None:
        return None
    return f"undecodable bytes (not {encoding.upper()}) at character {m.start() + 1}"


class DuplicateKey(ValueError):
    pass


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """An object; a key given twice is an error (json keeps the last one without a word)."""
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise DuplicateKey(f"duplicate key {key!r}: which value is meant is ambiguous")
            seen.add(key)
    return obj


DECODER = json.JSONDecoder(object_pairs_hook=_unique_keys)


def loads(text: str) -> tuple[Any, str | None]:
    """(value, None) or (None, the reason it is not acceptable JSON)."""
    try:
        value = DECODER.decode(text)
    except json.JSONDecodeError as e:
        return None, f"invalid JSON: {e.msg} (column {e.colno})"
    except RecursionError:
        return None, f"nested too deeply (more than {MAX_DEPTH} levels)"
    except ValueError as e:  # a duplicate key, an integer too long to convert, …
        return None, f"invalid JSON: {e}"
    return value, value_problem(value, text)


def value_problem(value: Any, raw: str | None = None) -> str | None:
    """Why a parsed value cannot become a record: too deep, or a string that is not valid
    Unicode (a lone surrogate, which no encoder and no tokenizer accepts). ``raw``, the JSON
    text it came from, lets the common case skip both checks."""
    if raw is None or raw.count("[") + raw.count("{") > MAX_DEPTH:
        stack: list[tuple[Any, int]] = [(value, 0)]
        while stack:
            item, depth = stack.pop()
            if depth > MAX_DEPTH:
                return f"nested too deeply (more than {MAX_DEPTH} levels)"
            if isinstance(item, dict):
                stack.extend((v, depth + 1) for v in item.values())
            elif isinstance(item, list):
                stack.extend((v, depth + 1) for v in item)
    if raw is None or _SURROGATE_ESCAPE.search(raw):
        try:  # in C: a lone surrogate anywhere (a key, a value) cannot be encoded
            json.dumps(value, ensure_ascii=False, default=str).encode("utf-8")
        except UnicodeEncodeError as e:
            bad = e.object[e.start : e.end]
            return f"a lone surrogate (\\u{ord(bad[0]):04x}) in a string: not valid Unicode"
    return None
