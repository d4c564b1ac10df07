"""Reading one file for ``apikee scan``: without blocking, and as text whatever its encoding.

A file is opened non-blocking and checked with ``fstat()`` (one swapped for a FIFO after the
walk cannot hang the scan), read up to the size limit, and told apart: UTF-8 (or any
ASCII-compatible text), UTF-16 or UTF-32 (a BOM, or the NUL-byte pattern of UTF-16 without
one: Windows tools write it), or binary (another NUL byte in the first 8 KiB, git's rule).
"""

from __future__ import annotations

import codecs
import os
import stat

from ..files import open_nonblocking, special_kind

__all__ = ["BINARY_SNIFF", "NotRegular", "read_file", "text_encoding"]

BINARY_SNIFF = 8192  # git's heuristic: a NUL byte in the first 8 KiB means binary


class NotRegular(Exception):
    """The path turned into a special file (``kind``) between the walk and the open()."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


def read_file(path: str, size: int, max_size: int, follow_symlinks: bool) -> bytes:
    """The file's bytes (only its head when over ``max_size``: enough to tell binary from text).

    ``size`` is what stat() said. Raises :class:`NotRegular` when what was opened is not a
    regular file, OSError when it cannot be read.
    """
    with open(open_nonblocking(path, follow_symlinks), "rb") as handle:
        mode = os.fstat(handle.fileno()).st_mode
        if not stat.S_ISREG(mode):
            raise NotRegular(special_kind(mode))
        if size > max_size:
            return handle.read(BINARY_SNIFF)
        # read(n) allocates n bytes up front: ask for what stat() announced (+1 to notice
        # growth), never for the whole limit (3x slower on small files).
        data = handle.read(size + 1 if size else max_size + 1)
        if len(data) > size and size:
            data += handle.read(max_size + 1 - len(data))
        return data


_BOMS = (  # UTF-32 first: its little-endian BOM starts with UTF-16's
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
# The bytes of Latin text in UTF-16 units whose other byte is NUL: no control characters.
_TEXT_BYTES = frozenset(b"\t\n\r\f").union(range(0x20, 0x7F), range(0xA0, 0x100))


def _utf16_without_bom(head: bytes) -> str | None:
    """ "utf-16-le"/"utf-16-be" when ``head`` has the NUL-byte pattern of UTF-16 text (mostly
    Latin characters: every other byte NUL, the others text), else None."""
    pairs = len(head) // 2
    if pairs < 2:
        return None
    for encoding, low, high in (
        ("utf-16-le", head[0::2], head[1::2]),
        ("utf-16-be", head[1::2], head[0::2]),
    ):
        latin = [b for b, h in zip(low[:pairs], high[:pairs], strict=True) if h == 0]
        if len(latin) * 10 >= pairs * 9 and all(b in _TEXT_BYTES for b in latin):
            return encoding
    return None


def text_encoding(data: bytes) -> str | None:
    """How to read a file that starts with ``data``: "utf-8" (also plain bytes), a UTF-16 or
    UTF-32 codec (a BOM, or UTF-16's NUL-byte pattern), or None for binary (git's heuristic:
    another NUL byte in the first 8 KiB)."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return encoding
    head = data[:BINARY_SNIFF]
    if head.find(b"\x00") == -1:
        return "utf-8"
    return _utf16_without_bom(head)
