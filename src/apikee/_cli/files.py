"""Opening the files the user names without ever blocking: regular files, and the others.

``open()`` of a FIFO blocks until a writer comes, forever if none does; a terminal device
waits for typing. The command line checks what a path is with ``stat()`` first and opens with
``O_NONBLOCK`` (a FIFO swapped in after the check opens at once), then decides with
``fstat()`` on what it really opened.
"""

from __future__ import annotations

import os
import stat

__all__ = ["OPEN_FLAGS", "open_nonblocking", "special_kind"]

OPEN_FLAGS = (
    os.O_RDONLY
    | getattr(os, "O_NONBLOCK", 0)
    | getattr(os, "O_NOCTTY", 0)
    | getattr(os, "O_BINARY", 0)
)
_KINDS = (
    (stat.S_ISREG, "a regular file"),
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a pipe (FIFO)"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
)


def special_kind(mode: int) -> str:
    """What a file of this ``st_mode`` is, for messages: ``"a pipe (FIFO)"``, ``"a socket"``…"""
    for test, kind in _KINDS:
        if test(mode):
            return kind
    return "not a regular file"


def open_nonblocking(path: str, follow_symlinks: bool = True) -> int:
    """A read-only descriptor of ``path`` that did not block to open (OSError otherwise).

    Without ``follow_symlinks``, a path that is (or became) a symlink fails to open.
    """
    flags = OPEN_FLAGS | (0 if follow_symlinks else getattr(os, "O_NOFOLLOW", 0))
    return os.open(path, flags)
