"""What the three harnesses share: the byte reader, the two implementations, the comparisons.

Each harness is a module with ``check(data: bytes) -> None`` that raises on any difference
between the native and the pure implementation (or on any exception the API promises never to
raise). ``check`` needs neither atheris nor libFuzzer: ``tests/test_ub.py`` replays the
committed corpus through it, and ``python fuzz/fuzz_X.py --replay FILES`` does the same by hand.
Run as a fuzzer (``python fuzz/fuzz_X.py [libFuzzer flags] [corpus dirs]``), the harness first
imports apikee's Python modules under atheris' bytecode instrumentation, so that coverage of the
pure twin and of the shared decoder guides the fuzzer as well as the native module's own
SanitizerCoverage counters (when it was built with ``-fsanitize=fuzzer-no-link``, as
``.ci/sanitize`` does).
"""

from __future__ import annotations

import os
import pickle
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

NOW = 1_800_000_000
# The wire alphabet (apikee._wire.ALPHABET), written out: importing apikee at this point would
# import it before prepare() can have atheris instrument it.
ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
# Fixed secrets: the harnesses sign fuzzed payloads themselves to get past the MAC.
SECRET = b"apikee-fuzz-secret-0123456789abcdef"
OLD_SECRET = b"x" * 100  # longer than a SHA-256 block: hashed first (RFC 2104)
WRONG_SECRET = b"not-the-secret-that-signed-the-key"

# atheris instruments apikee's Python modules (bytecode coverage for the fuzzer): the shared
# general decoder and the claims checks decide most outcomes behind the MAC. Not the pure
# twin's codec and verify loops (_core_py): instrumented, they cost ten times the run time of
# everything else, and the native module's own coverage counters describe the same branches.
# The native module is C: SanitizerCoverage (-fsanitize=fuzzer-no-link) covers it.
NOT_INSTRUMENTED = ("apikee._core_py",)


def prepare(fuzzing: bool, instrument_python: bool = True) -> None:
    """Import apikee, under atheris' instrumentation when this process is the fuzzer."""
    if fuzzing and instrument_python and "--replay" not in sys.argv:
        import atheris

        with atheris.instrument_imports(include=["apikee"], exclude=list(NOT_INSTRUMENTED)):
            import apikee  # noqa: F401  (and the modules it imports)
            import apikee._core  # noqa: F401
            import apikee._payload  # noqa: F401
    from apikee._core import load_backend

    global native, pure
    native = load_backend("native")  # ImportError here is a failure: nothing to compare
    pure = load_backend("pure")


native = pure = None  # set by prepare()


class Reader:
    """Deterministic choices from the fuzzer's bytes; past the end every read is 0."""

    __slots__ = ("data", "pos")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def byte(self) -> int:
        if self.pos >= len(self.data):
            return 0
        self.pos += 1
        return self.data[self.pos - 1]

    def below(self, n: int) -> int:
        """0 <= value < n (n up to 65536)."""
        if n <= 256:
            return self.byte() % n
        return ((self.byte() << 8) | self.byte()) % n

    def chance(self, one_in: int) -> bool:
        """True one time in ``one_in``; never once the bytes have run out (so that the tail
        of a short input takes the plain choices, not the rare ones)."""
        return self.below(one_in) == one_in - 1

    def take(self, n: int) -> bytes:
        chunk = self.data[self.pos : self.pos + n]
        self.pos += len(chunk)
        return chunk

    def rest(self) -> bytes:
        return self.take(len(self.data))

    def left(self) -> int:
        return len(self.data) - self.pos


class Mismatch(AssertionError):
    """native and pure answered differently (the message shows both answers)."""


def same(what: str, left, right) -> None:
    if left != right:
        raise Mismatch(f"{what}: native and pure differ\n  native: {left!r}\n  pure:   {right!r}")


def attempt(function):
    """The repr of a result or the type and message of an exception: comparable, NaN-safe."""
    try:
        return ("=", repr(function()))
    except Exception as exc:  # compared across the twins, never swallowed silently
        return ("raise", type(exc).__name__, str(exc))


def describe(claims) -> tuple:
    """Everything a caller can read from a claims object, as comparable values."""
    return (
        repr(claims.id),
        repr(claims.tenant),
        repr(claims.scopes),
        repr(claims.environment),
        type(claims.exp).__name__,
        repr(claims.exp),
        type(claims.nbf).__name__,
        repr(claims.nbf),
        repr(claims.raw_key),
        attempt(claims.to_dict),
        attempt(lambda: dict(claims.meta)),
        attempt(lambda: claims.expires_at),
        attempt(lambda: claims.not_before),
        attempt(lambda: repr(claims)),
        attempt(lambda: claims.has_scopes("read", "res:x")),
        attempt(lambda: claims.has_scopes("read", "res:x", any_of=True)),
        attempt(lambda: pickle.loads(pickle.dumps(claims)).to_dict()),
    )


def verify_outcome(verifier, key, now, kwargs):
    """("ok", claims, description) or ("error", code, message). Any other exception escapes:
    verify() promises ApikeeError and nothing else, whatever the key."""
    from apikee import ApikeeError

    try:
        claims = verifier.verify(key, now, **kwargs)
    except ApikeeError as exc:
        return None, ("error", exc.code, exc.message)
    return claims, ("ok",) + describe(claims)


def compare_verify(native_verifier, pure_verifier, key, now=NOW, **kwargs):
    """Verify with both twins; raise Mismatch unless they agree. Returns the pure outcome."""
    left_claims, left = verify_outcome(native_verifier, key, now, kwargs)
    right_claims, right = verify_outcome(pure_verifier, key, now, kwargs)
    if left != right and now is None:
        # The wall clock moved between the two calls: ask again in the other order; a real
        # difference survives it, a key that expired between the calls does not.
        right_claims, right = verify_outcome(pure_verifier, key, now, kwargs)
        left_claims, left = verify_outcome(native_verifier, key, now, kwargs)
    same(f"verify({key!r:.200})", left, right)
    if left_claims is not None and not _has_nan(right_claims.to_dict()):
        # Equality works across the twins' claims classes (and NaN, from MessagePack, is
        # never equal to itself, hence the guard).
        same("claims ==", left_claims == right_claims, True)
        same("claims == (reflected)", right_claims == left_claims, True)
    return right


def _has_nan(value) -> bool:
    if type(value) is float:
        return value != value
    if type(value) is dict:
        return any(_has_nan(v) for v in value.values())
    if type(value) in (list, tuple):
        return any(_has_nan(v) for v in value)
    return False


def signed_key(payload: bytes, secret: bytes = SECRET) -> str:
    """A key whose signature is genuine for ``payload``, whatever the payload is."""
    signature = pure.Verifier([secret]).sign(payload).lstrip(b"\x00")
    return "apikee_" + pure.b62encode(payload) + "." + pure.b62encode(signature)


def main(check, argv=None) -> None:
    """``--replay FILE...``: run ``check`` on each file; otherwise fuzz with atheris."""
    argv = list(sys.argv if argv is None else argv)
    if "--replay" in argv:
        files = [a for a in argv[1:] if a != "--replay"]
        paths = []
        for name in files:
            if os.path.isdir(name):
                paths += sorted(os.path.join(name, f) for f in os.listdir(name))
            else:
                paths.append(name)
        for path in paths:
            with open(path, "rb") as handle:
                check(handle.read())
        print(f"replayed {len(paths)} inputs: no difference")
        return
    import atheris

    print(f"native module: {native.__file__}", flush=True)
    print(f"pure module:   {pure.__file__}", flush=True)
    atheris.Setup(argv, check)
    atheris.Fuzz()
