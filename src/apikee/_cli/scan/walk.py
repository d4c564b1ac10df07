"""Walking the paths ``apikee scan`` is given: which files to read, which to skip and say so.

An ``os.scandir`` walk in name order that follows no symlinks and skips ``.git``/``.hg``/
``.svn``; ``--exclude`` globs; special files (FIFOs, sockets, devices) are recorded in the
result, never opened (opening a FIFO blocks until someone writes to it).
"""

from __future__ import annotations

import fnmatch
import os
import re
import stat
from collections.abc import Callable, Iterable, Iterator

from ..files import special_kind
from .findings import ScanResult

__all__ = ["exclude_matcher", "files_to_read"]

_SKIPPED_DIRS = frozenset({".git", ".hg", ".svn"})


def exclude_matcher(patterns: Iterable[str]) -> Callable[..., bool]:
    """A test ``(*paths) -> excluded`` for fnmatch-style globs.

    A glob matches the path relative to the scanned folder, the path as displayed or the bare
    name, so ``--exclude tests``, ``--exclude '*.min.js'`` and ``--exclude 'docs/*'`` all work.
    """
    patterns = [p.replace(os.sep, "/").rstrip("/") for p in patterns if p.strip()]
    if not patterns:
        return lambda *paths: False
    regex = re.compile("|".join(fnmatch.translate(p) for p in patterns))

    def excluded(*paths: str) -> bool:
        return any(regex.match(p.replace(os.sep, "/")) for p in paths)

    return excluded


def _walk(
    root: str, excluded: Callable[..., bool], result: ScanResult
) -> Iterator[tuple[str, int, bool]]:
    """(path, size, False) of every regular file under ``root``, skipping VCS folders and
    symlinks; special files (FIFOs, sockets, devices) are recorded, never opened."""
    stack = [(root, "")]  # (folder as opened, its path relative to root with a trailing "/")
    while stack:
        folder, rel_prefix = stack.pop()
        try:
            with os.scandir(folder) as entries:
                children = sorted(entries, key=lambda e: e.name)
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            result.unreadable.append((os.path.normpath(folder), reason))
            continue
        subfolders = []
        for entry in children:
            name, rel = entry.name, rel_prefix + entry.name
            path = os.path.normpath(entry.path)
            try:
                # A ".git" file is a worktree or submodule link; symlinks are never followed.
                if name in _SKIPPED_DIRS or entry.is_symlink():
                    continue
                if excluded(name, rel, path):
                    result.excluded += 1
                elif entry.is_dir(follow_symlinks=False):
                    subfolders.append((entry.path, rel + "/"))
                elif entry.is_file(follow_symlinks=False):
                    yield path, entry.stat(follow_symlinks=False).st_size, False
                else:  # a FIFO, a socket, a device: recorded, never opened
                    mode = entry.stat(follow_symlinks=False).st_mode
                    result.skipped_special.append((path, special_kind(mode)))
            except OSError as exc:
                result.unreadable.append((path, exc.strerror or type(exc).__name__))
        stack.extend(reversed(subfolders))  # depth first, in name order


def files_to_read(
    paths: Iterable[str], excluded: Callable[..., bool], result: ScanResult
) -> Iterator[tuple[str, int, bool]]:
    """(path, size, follow symlinks) of every regular file to read, in order; what is skipped
    is recorded in ``result``."""
    for root in paths:
        if os.path.isdir(root):
            yield from _walk(root, excluded, result)
            continue
        # A file named on the command line is scanned even if a glob matches it.
        try:
            info = os.stat(root)
        except OSError as exc:
            result.unreadable.append((root, exc.strerror or type(exc).__name__))
            continue
        if stat.S_ISREG(info.st_mode):
            yield os.path.normpath(root), info.st_size, True
        else:
            result.skipped_special.append((os.path.normpath(root), special_kind(info.st_mode)))
