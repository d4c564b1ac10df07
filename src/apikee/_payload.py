"""Decoding a signed payload in the general case, shared by both implementations.

The pure implementation decodes every payload here; the compiled one parses the common compact
claims object itself and hands everything else here, so an unusual payload gets the very same
answer from both. The rules below make that answer independent of interpreter state (the
caller's stack depth, ``sys.set_int_max_str_digits``) and stricter than ``json.loads``:

- JSON is strict RFC 8259: ``NaN``/``Infinity`` are not JSON;
- integers longer than ``MAX_INT_DIGITS`` digits are rejected (every Python accepts that many);
- objects/arrays nested deeper than ``MAX_DEPTH`` levels (the claims object is level 1) are
  rejected, so a claims object is always safe to copy recursively;
- numbers too large for a float (``1e400``) are rejected rather than read as infinity, and a
  MessagePack payload may hold only what JSON can (str keys; str, int, finite float, bool,
  None, lists, maps: no bytes, extension types or NaN), so claims are always plain JSON data.

All of these are ``DECODE_ERROR``, as is invalid UTF-8 or JSON.
"""

from __future__ import annotations

import json
import json.scanner
import math
from typing import Any

from ._errors import (
    MSG_BAD_JSON,
    MSG_BAD_UTF8,
    MSG_NOT_JSON_DATA,
    MSG_TOO_DEEP,
    ApikeeError,
    ErrorCode,
)
from ._msgpack import load_msgpack

__all__ = ["MAX_DEPTH", "MAX_INT_DIGITS", "load_json", "load_payload"]

MAX_DEPTH = 32
MAX_INT_DIGITS = 640  # the lowest limit sys.set_int_max_str_digits() accepts


def _parse_int(text: str) -> int:
    if len(text) - (text[0] == "-") > MAX_INT_DIGITS:
        raise ValueError("integer too long")
    return int(text)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _parse_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError("number too large")
    return value


_DECODER = json.JSONDecoder(
    parse_int=_parse_int, parse_float=_parse_float, parse_constant=_reject_constant
)
# The same decoder without the integer hook, for payloads that cannot break a limit it checks
# (see load_json). parse_float and parse_constant stay: they run only on floats and on
# NaN/Infinity, which are rare, and they decide what is refused.
_SHORT_DECODER = json.JSONDecoder(parse_float=_parse_float, parse_constant=_reject_constant)
# Its scanner, called directly on the common payload (no surrounding whitespace): what
# JSONDecoder.decode() does around it (two regex matches, raw_decode) costs as much as the scan.
_SHORT_SCAN = json.scanner.make_scanner(_SHORT_DECODER)  # type: ignore[arg-type]  # typeshed
_SCALARS = (str, int, bool, type(None))


def _too_deep(value: Any) -> bool:
    """Whether containers nest deeper than MAX_DEPTH (iterative: no recursion limit involved)."""
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        children = node.values() if type(node) is dict else node
        for child in children:
            if type(child) is dict or type(child) is list:
                if depth >= MAX_DEPTH:
                    return True
                stack.append((child, depth + 1))
    return False


def _checked(value: Any) -> Any:
    if (type(value) is dict or type(value) is list) and _too_deep(value):
        raise ApikeeError(ErrorCode.DECODE_ERROR, MSG_TOO_DEEP)
    return value


def _json_data(value: Any) -> bool:
    """Whether decoded MessagePack holds only what JSON can (iterative; depth already bounded)."""
    stack = [value]
    while stack:
        node = stack.pop()
        kind = type(node)
        if kind is dict:
            for key, child in node.items():
                if type(key) is not str:
                    return False
                stack.append(child)
        elif kind is list:
            stack.extend(node)
        elif kind is float:
            if not math.isfinite(node):
                return False
        elif kind not in _SCALARS:
            return False
    return True


def load_json(payload: bytes) -> Any:
    """Strict UTF-8 JSON with the limits above; any failure is ``DECODE_ERROR``."""
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError:
        raise ApikeeError(ErrorCode.DECODE_ERROR, MSG_BAD_UTF8) from None
    # The fast path, for a payload too short to break the integer limit (no literal can have
    # more than MAX_INT_DIGITS digits) with too few brackets to break the depth limit (nesting
    # needs one "[" or "{" per level; brackets inside strings only make the count larger): the
    # integer hook (one Python call per integer) and the depth walk cannot change the result,
    # so both are skipped. NaN/Infinity and 1e400 are refused by the hooks that stay.
    if len(payload) <= MAX_INT_DIGITS and payload.count(b"{") + payload.count(b"[") <= MAX_DEPTH:
        try:
            value, end = _SHORT_SCAN(text, 0)
            if end == len(text):
                return value
        except (ValueError, StopIteration):
            pass
        # Whitespace around the value, trailing data or an error: decode() says which.
        try:
            return _SHORT_DECODER.decode(text)
        except ValueError:  # JSONDecodeError, NaN/Infinity, 1e400
            raise ApikeeError(ErrorCode.DECODE_ERROR, MSG_BAD_JSON) from None
    try:
        value = _DECODER.decode(text)
    except (ValueError, RecursionError):  # JSONDecodeError, our limits, too deep for the stack
        raise ApikeeError(ErrorCode.DECODE_ERROR, MSG_BAD_JSON) from None
    return _checked(value)


def load_payload(payload: bytes) -> Any:
    """JSON when the first byte is ASCII, else legacy MessagePack (docs/SPEC.md section 1)."""
    if payload[0] >= 0x80:
        value = _checked(load_msgpack(payload))
        if not _json_data(value):
            raise ApikeeError(ErrorCode.DECODE_ERROR, MSG_NOT_JSON_DATA)
        return value
    return load_json(payload)
