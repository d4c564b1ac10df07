"""Reading ``--secret-file``: the signing secrets, one a line, current first.

It never blocks for long and never echoes a secret: the path is checked with ``stat()`` before
it is opened (sockets and devices are refused), opened with ``O_NONBLOCK`` (a FIFO swapped in
after the check cannot hang the open), and a pipe (``--secret-file <(vault read …)``) is read
until its end for at most a few seconds. A path that looks like a secret (someone passed the
secret itself) is masked in every message (:mod:`apikee._cli.masking`).
"""

from __future__ import annotations

import os
import stat
import time

from .files import open_nonblocking, special_kind
from .masking import shown_argument
from .output import CliError, err

__all__ = ["SECRET_FILE_LIMIT", "read_secret_file"]

SECRET_FILE_LIMIT = 1 << 16
_PIPE_WAIT_SECONDS = 10.0  # how long a pipe (`--secret-file <(vault read …)`) may take


def _read_pipe(fd: int, limit: int) -> bytes:
    """Up to ``limit`` bytes from a non-blocking pipe, until EOF; CliError after a while."""
    import select

    chunks: list[bytes] = []
    size, deadline = 0, time.monotonic() + _PIPE_WAIT_SECONDS
    while size < limit:
        try:
            chunk = os.read(fd, limit - size)
        except BlockingIOError:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([fd], [], [], remaining)[0]:
                raise CliError(
                    f"--secret-file: nothing came from the pipe within {_PIPE_WAIT_SECONDS:.0f} s"
                ) from None
            continue
        if not chunk:  # EOF (or a FIFO nobody writes to)
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def _refused(path: str, mode: int) -> CliError:
    return CliError(f"--secret-file: {shown_argument(path)} is {special_kind(mode)}, not a file")


def _read_bounded(path: str, limit: int) -> tuple[bytes, int]:
    """(at most ``limit`` bytes, st_mode) of a regular file or a pipe; never blocks for long."""
    mode = os.stat(path).st_mode
    if not (stat.S_ISREG(mode) or stat.S_ISFIFO(mode)):
        raise _refused(path, mode)
    fd = open_nonblocking(path)
    try:
        mode = os.fstat(fd).st_mode  # what was opened, which may differ from what was checked
        if stat.S_ISFIFO(mode):
            return _read_pipe(fd, limit), mode
        if not stat.S_ISREG(mode):
            raise _refused(path, mode)
        with open(fd, "rb", closefd=False) as handle:
            return handle.read(limit), mode
    finally:
        os.close(fd)


def read_secret_file(path: str) -> list[str]:
    """Secrets from a file (or a pipe): one a line, current first; blank lines and ``#``
    comments skipped. The path is not echoed in messages when it looks like a secret."""
    shown = shown_argument(path)
    try:
        data, mode = _read_bounded(path, SECRET_FILE_LIMIT + 1)
    except OSError as exc:
        raise CliError(f"--secret-file: cannot read {shown}: {exc.strerror or exc}") from None
    if len(data) > SECRET_FILE_LIMIT:
        raise CliError(f"--secret-file: {shown} is larger than 64 KiB: not a secrets file")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise CliError(f"--secret-file: {shown} is not UTF-8 text") from None
    secrets = [line.strip() for line in text.splitlines()]
    secrets = [s for s in secrets if s and not s.startswith("#")]
    if not secrets:
        raise CliError(f"--secret-file: {shown} holds no secret (one per line, current first)")
    if os.name == "posix" and stat.S_ISREG(mode) and mode & 0o077:
        err(f"apikee: warning: {shown} is readable by other users; restrict it: chmod 600 {shown}")
    return secrets
