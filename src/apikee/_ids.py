"""Key identifiers: unique and roughly time-ordered.

48 bits of milliseconds since the epoch followed by 80 random bits, written as 22 base62 digits
(left-padded), so ids sort lexicographically by creation time and never collide in practice.
"""

from __future__ import annotations

import os
import time

from ._core import b62encode
from ._wire import ID_LENGTH


def new_key_id() -> str:
    """A fresh 22-character base62 key id."""
    millis = int(time.time() * 1000) & 0xFFFFFFFFFFFF
    value = (millis << 80) | int.from_bytes(os.urandom(10), "big")  # < 2**128 < 62**22
    digits = b62encode(value.to_bytes(16, "big").lstrip(b"\x00"))
    return digits.rjust(ID_LENGTH, "0")
