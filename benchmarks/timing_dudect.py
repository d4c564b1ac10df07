"""Timing-leak check of the MAC comparison and of verify, dudect style (Welch's t-test).

    python benchmarks/timing_dudect.py                 # ~40 s, every test
    python benchmarks/timing_dudect.py --seconds 120   # more samples: smaller effects show
    python benchmarks/timing_dudect.py --tests compare-native,verify-mac-native

Not part of the test suite (no timing is asserted anywhere in CI): a tool to run by hand on a
quiet machine, and again after any change to the comparison or the verify path.

Method (Reparaz, Balasch, Verbauwhede, "Dude, is my code constant time?", 2017): groups of
inputs that must be indistinguishable; measurements in an order drawn at random (so drift,
frequency scaling and the other process on the core hit every group alike), each one timing a
batch of calls of one group with ``time.perf_counter_ns`` (batches of about 2 us; the timer
costs ~30 ns), on an input drawn from a pool of equal copies renewed every 512 measurements (so
where an object sits in memory is no difference between groups: measured, it gives |t| in the
tens by itself); then Welch's t statistic, on all measurements and on measurements cropped at
several percentiles of the pooled distribution (interrupts and the scheduler dominate the raw
variance). The largest |t| is reported; |t| > 4.5 (dudect's threshold) says the groups are
distinguishable: a timing leak, or an artefact of the measurement, which is what the A/A
controls are for (the same input split at random must stay below it; a control above it means
the run says nothing). On a shared machine the noise comes in bursts, the samples are not
independent and |t| overshoots now and then (measured: 2 to 6 for the same test from run to
run, with either sign): a test above the threshold is measured again, and a leak is reported
only if the second measurement is above it too, with the same sign.

Two kinds of test:

- pair: class 0 against class 1, Welch's t on the difference of their means;
- 2x2 (verify): the decoder's work depends on the digits it is sent (public: the caller's own
  key; measured, two 43-digit signatures decode 0.7 ns apart, |t| ~ 45), so two keys cannot
  simply be compared. Each verify test times the same two keys on the verifier under test and
  on a control verifier for which the property does not hold (an unrelated secret, or the
  secrets in the other order), and the t statistic is that of the interaction
  ``(test_0 - test_1) - (control_0 - control_1)``: what the keys cost by themselves cancels,
  what depends on the secret remains.

Tests:

- compare-native / compare-pure (pair): ``constant_time_compare(mac, x)``, x differing from mac
  in its first vs its last byte (an early-exit comparison leaks exactly this);
- compare-native-aa / compare-pure-aa (pair, control): first byte vs first byte;
- verify-mac-native / verify-mac-pure (2x2): keys whose signature differs from the true MAC in
  the first vs the last byte; control: a verifier with an unrelated secret;
- verify-wrong-secret-native (2x2): a key signed with wrong secret A vs wrong secret B;
  control: a verifier with another unrelated secret;
- verify-which-secret-native (2x2): verifier [S1, S2], a valid key of S1 vs of S2 (the time
  must not tell which secret matched); control: verifier [S2, S1];
- verify-native-aa (2x2, control): two unrelated-secret verifiers, the same two keys;
- leaky-reference (pair, positive control): ``bytes ==`` (memcmp, which stops at the first
  difference: ~1 ns over 32 bytes) must come out far above the threshold, or the run could
  not have seen a leak of that size.
"""

from __future__ import annotations

import argparse
import gc
import math
import operator
import random
import sys
import time

try:
    from apikee import ApikeeError
    from apikee._core import load_backend
except ImportError:
    sys.exit("apikee is not importable: install it first (pip install -e . from the repository)")

THRESHOLD = 4.5
NOW = 1_800_000_000
SECRET = b"dudect-secret-0123456789abcdef0123456789"
OTHER = b"another-secret-for-rotation-0123456789ab"
UNRELATED = (
    b"unrelated-secret-one-0123456789abcdefghij",
    b"unrelated-secret-two-0123456789abcdefghij",
)
PAYLOAD = b'{"id":"k","tid":"acme","scp":["read"],"env":"production","exp":1900000000}'
CROPS = (None, 99.9, 99.0, 95.0, 90.0, 75.0, 50.0)  # None: every measurement
POOL = 32  # distinct copies of each group's input
REFRESH = 512  # measurements between two fresh pools


# ── statistics ──────────────────────────────────────────────────────────────────────────────


def mean_var(values: list[int]) -> tuple[float, float, int]:
    n = len(values)
    if n < 2:
        return 0.0, 0.0, n
    mean = sum(values) / n
    return mean, sum((x - mean) ** 2 for x in values) / (n - 1), n


def contrast_t(groups: list[list[int]], weights: tuple[int, ...]) -> float:
    """Welch-style t of sum(w_i * mean_i): (1, -1) is Welch's t-test, (1, -1, -1, 1) the
    interaction of a 2x2 design."""
    stats = [mean_var(g) for g in groups]
    if any(n < 2 for _, _, n in stats):
        return 0.0
    estimate = sum(w * m for w, (m, _, _) in zip(weights, stats, strict=True))
    variance = sum(w * w * v / n for w, (_, v, n) in zip(weights, stats, strict=True))
    return estimate / math.sqrt(variance) if variance > 0 else 0.0


def analyse(groups: list[list[int]], weights: tuple[int, ...]) -> tuple[float, str]:
    """The largest |t| over the raw and the cropped samples, with the crop that gave it."""
    pooled = sorted(x for g in groups for x in g)
    best, where = 0.0, "all"
    for crop in CROPS:
        if crop is None:
            t, label = contrast_t(groups, weights), "all"
        else:
            limit = pooled[min(len(pooled) - 1, int(len(pooled) * crop / 100.0))]
            t, label = (
                contrast_t([[x for x in g if x <= limit] for g in groups], weights),
                f"p{crop:g}",
            )
        if abs(t) > abs(best):
            best, where = t, label
    return best, where


# ── measuring ───────────────────────────────────────────────────────────────────────────────


def calibrate(call, args) -> int:
    """Calls per measurement: about 2 us of work, at least one call."""
    for _ in range(200):
        call(*args)
    start = time.perf_counter_ns()
    for _ in range(2000):
        call(*args)
    per_call = (time.perf_counter_ns() - start) / 2000
    return max(1, int(2000 / max(per_call, 1.0)))


def copy(value):
    if isinstance(value, bytes):
        return bytes(bytearray(value))
    if isinstance(value, str):
        return value.encode("utf-8").decode("utf-8")
    return value


def pools(groups, rng: random.Random):
    """POOL equal copies of each group's arguments, all allocated in one random sequence with
    random gaps, so that no group's objects sit at a fixed offset (cache lines, alignment)."""
    result = [[] for _ in groups]
    labels = [g for g in range(len(groups)) for _ in range(POOL)]
    rng.shuffle(labels)
    padding = []
    for g in labels:
        padding.append(bytes(rng.randrange(1, 200)))
        result[g].append(tuple(copy(v) for v in groups[g][1]))
    return result, padding  # the padding lives as long as the pool: the gaps stay gaps


def measure(groups, seconds: float, rng: random.Random):
    """Measurements of every (call, args) group in random order for ``seconds``."""
    batch = min(calibrate(call, args) for call, args in groups)
    samples: list[list[int]] = [[] for _ in groups]
    calls = [call for call, _ in groups]
    clock = time.perf_counter_ns
    loop = range(batch)
    count = len(groups)
    deadline = time.monotonic() + seconds
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        while time.monotonic() < deadline:
            pool, _padding = pools(groups, rng)  # drawn outside the timed part, as the order
            order = [(rng.randrange(count), rng.randrange(POOL)) for _ in range(REFRESH)]
            # Times go to one list, split by group afterwards: appending to the group's own
            # list right after each measurement biased the next measurements by group (measured:
            # |t| ~ 20 between three identical groups of a pure-Python call).
            times = []
            for g, which in order:
                call, args = calls[g], pool[g][which]
                start = clock()
                for _ in loop:
                    call(*args)
                times.append(clock() - start)
            for (g, _), elapsed in zip(order, times, strict=True):
                samples[g].append(elapsed)
    finally:
        if gc_was_enabled:
            gc.enable()
    return samples, batch


# ── inputs ──────────────────────────────────────────────────────────────────────────────────


def key_for(core, payload: bytes, signature: bytes) -> str:
    return "apikee_" + core.b62encode(payload) + "." + core.b62encode(signature.lstrip(b"\x00"))


def flipped(core, mac: bytes, index: int) -> bytes:
    """``mac`` with byte ``index`` changed, keeping its digit count and no leading zero byte."""
    width = len(core.b62encode(mac))
    for delta in range(1, 256):
        candidate = bytearray(mac)
        candidate[index] ^= delta
        candidate = bytes(candidate)
        if candidate[0] != 0 and len(core.b62encode(candidate)) == width:
            return candidate
    raise RuntimeError("no flip keeps the width")  # pragma: no cover


def payload_signed_alike(core, secrets: list[bytes]) -> bytes:
    """A payload whose signatures under every secret have the same digit count and no leading
    zero byte (so that the keys have the same length and are canonical)."""
    for n in range(100_000):
        payload = PAYLOAD[:-1] + b',"n":%d}' % n
        macs = [core.Verifier([s]).sign(payload) for s in secrets]
        if all(m[0] != 0 for m in macs) and len({len(core.b62encode(m)) for m in macs}) == 1:
            return payload
    raise RuntimeError("no payload found")  # pragma: no cover


def quiet(verify):
    def call(key):
        try:
            verify(key, NOW)
        except ApikeeError:
            pass

    return call


PAIR = (1, -1)
INTERACTION = (
    1,
    -1,
    -1,
    1,
)  # groups: (test, key 0), (test, key 1), (control, key 0), (control, key 1)


def two_by_two(test_verify, control_verify, key0, key1):
    return [
        (test_verify, (key0,)),
        (test_verify, (key1,)),
        (control_verify, (key0,)),
        (control_verify, (key1,)),
    ]


def build_tests() -> dict:
    """name -> (description, groups, weights, role): role "test", "aa" (must stay below the
    threshold) or "positive" (a known leak: must be above it)."""
    tests = {}
    for impl in ("native", "pure"):
        try:
            core = load_backend(impl)
        except ImportError as exc:
            print(f"({impl}: not available, its tests are skipped: {exc})")
            continue
        mac = core.Verifier([SECRET]).sign(PAYLOAD)
        first, last = flipped(core, mac, 0), flipped(core, mac, 31)
        compare = core.constant_time_compare
        tests[f"compare-{impl}"] = (
            f"{impl} constant_time_compare: differs in byte 1 vs byte 32",
            [(compare, (mac, first)), (compare, (mac, last))],
            PAIR,
            "test",
        )
        verify = quiet(core.Verifier([SECRET]).verify)
        unrelated = quiet(core.Verifier([UNRELATED[0]]).verify)
        key_first, key_last = key_for(core, PAYLOAD, first), key_for(core, PAYLOAD, last)
        assert len(key_first) == len(key_last)
        tests[f"verify-mac-{impl}"] = (
            f"{impl} verify: signature off the MAC in byte 1 vs byte 32",
            two_by_two(verify, unrelated, key_first, key_last),
            INTERACTION,
            "test",
        )
        tests[f"compare-{impl}-aa"] = (
            f"A/A control: {impl} constant_time_compare, byte 1 vs byte 1",
            [(compare, (mac, first)), (compare, (mac, first))],
            PAIR,
            "aa",
        )
        if impl != "native":
            continue
        tests["leaky-reference"] = (
            "positive control: bytes == (memcmp, exits early), 1 vs 32",
            [(operator.eq, (mac, first)), (operator.eq, (mac, last))],
            PAIR,
            "positive",
        )
        wrong_a, wrong_b = (
            b"wrong-secret-number-one-0123456789abcdef",
            b"wrong-secret-number-two-0123456789abcdef",
        )
        payload = payload_signed_alike(core, [wrong_a, wrong_b])
        key_a = key_for(core, payload, core.Verifier([wrong_a]).sign(payload))
        key_b = key_for(core, payload, core.Verifier([wrong_b]).sign(payload))
        assert len(key_a) == len(key_b)
        tests["verify-wrong-secret-native"] = (
            "native verify: key of wrong secret A vs wrong secret B",
            two_by_two(verify, quiet(core.Verifier([UNRELATED[1]]).verify), key_a, key_b),
            INTERACTION,
            "test",
        )
        payload = payload_signed_alike(core, [SECRET, OTHER])
        key_1 = key_for(core, payload, core.Verifier([SECRET]).sign(payload))
        key_2 = key_for(core, payload, core.Verifier([OTHER]).sign(payload))
        forward, backward = core.Verifier([SECRET, OTHER]), core.Verifier([OTHER, SECRET])
        for verifier in (forward, backward):
            verifier.verify(key_1, NOW), verifier.verify(key_2, NOW)  # all four valid
        tests["verify-which-secret-native"] = (
            "native verify, 2 secrets: valid key of secret 1 vs secret 2",
            two_by_two(quiet(forward.verify), quiet(backward.verify), key_1, key_2),
            INTERACTION,
            "test",
        )
        tests["verify-native-aa"] = (
            "A/A control: 2x2 of two unrelated-secret verifiers",
            two_by_two(unrelated, quiet(core.Verifier([UNRELATED[1]]).verify), key_first, key_last),
            INTERACTION,
            "aa",
        )
    return tests


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--seconds", type=float, default=40.0, help="total measuring time (default 40)"
    )
    parser.add_argument("--tests", default="", help="comma-separated test names (default: all)")
    parser.add_argument(
        "--seed", type=int, default=None, help="seed of the measuring order (default: random)"
    )
    parser.add_argument(
        "--strict", action="store_true", help="exit 1 when a non-control test passes |t| > 4.5"
    )
    args = parser.parse_args(argv)
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(2**32)
    rng = random.Random(seed)
    tests = build_tests()
    if args.tests:
        wanted = [t.strip() for t in args.tests.split(",") if t.strip()]
        unknown = [t for t in wanted if t not in tests]
        if unknown:
            parser.error(f"unknown test(s) {unknown}; known: {', '.join(tests)}")
        tests = {name: tests[name] for name in wanted}
    per_test = args.seconds / max(1, len(tests))
    print(
        f"dudect-style Welch t-test, {per_test:.1f} s per test, seed {seed}, threshold |t| > {THRESHOLD}"
    )
    print(
        f"{'test':<27} {'what':<58} {'kind':<4} {'batch':>5} {'samples':>8} "
        f"{'ns/call 0':>9} {'ns/call 1':>9} {'t':>8} {'crop':>6}  verdict"
    )
    leaks, noisy = [], []
    for name, (what, groups, weights, role) in tests.items():
        samples, batch = measure(groups, per_test, rng)
        t, crop = analyse(samples, weights)
        medians = [sorted(s)[len(s) // 2] / batch if s else float("nan") for s in samples]
        again = ""
        if abs(t) > THRESHOLD and role != "positive":
            # Measured on a shared machine, the noise comes in bursts, so the samples are not
            # independent and |t| overshoots now and then. A real difference keeps its sign and
            # size: above the threshold, the test is measured again and counts only if the
            # second measurement is above it too, with the same sign.
            t2, _ = analyse(measure(groups, per_test, rng)[0], weights)
            again = f" (again: {t2:+.2f})"
            above = abs(t2) > THRESHOLD and (t2 > 0) == (t > 0)
        else:
            above = abs(t) > THRESHOLD
        if role == "positive":
            verdict = "ok (leak seen)" if above else "CONTROL FAILED: a 1 ns leak went unseen"
            if not above:
                noisy.append(name)
        elif role == "aa":
            if above:
                verdict = "CONTROL FAILED: this run says nothing"
                noisy.append(name)
            else:
                verdict = "ok (control)" + (", not reproduced" if again else "")
        elif above:
            verdict = "LEAK: reproduced"
            leaks.append(name)
        else:
            verdict = "ok" + (": not reproduced" if again else "")
        kind = "pair" if len(groups) == 2 else "2x2"
        print(
            f"{name:<27} {what:<58} {kind:<4} {batch:>5} {sum(map(len, samples)):>8} "
            f"{medians[0]:>9.1f} {medians[1]:>9.1f} {t:>+8.2f} {crop:>6}  {verdict}{again}",
            flush=True,
        )
    print(
        "(ns/call: the median per call of class 0 and class 1 on the verifier under test; t: the "
        "largest |t| of the difference (pair) or of the interaction (2x2), over the raw and "
        "cropped samples, with its sign; above 4.5 a test is measured again)"
    )
    if noisy:
        print(f"controls that failed: {', '.join(noisy)}: this run cannot tell")
    if leaks:
        print(
            f"reproduced above the threshold: {', '.join(leaks)}: check on a quiet machine "
            "(--seconds 120); then it is a leak"
        )
    return 1 if (args.strict and leaks) else 0


if __name__ == "__main__":
    sys.exit(main())
