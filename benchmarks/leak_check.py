"""Leak check of the verify path: run it a million times per input kind and watch the RSS.

    python benchmarks/leak_check.py                  # native 1,000,000 and pure 200,000 per kind
    python benchmarks/leak_check.py --impl native --n 3000000
    python benchmarks/leak_check.py --kinds forged,garbage --threshold-mb 1

A reference-count or ``malloc`` leak in the compiled code shows up as a resident set that keeps
growing with the number of calls; Python's own allocator makes the RSS settle once warm. For
each implementation and input kind, the loop prints the RSS (``VmRSS`` from /proc/self/status,
else the peak from ``resource``) every ``--every`` calls; the first interval is the warm-up, and
the check fails when the RSS at the end exceeds the RSS after the warm-up by more than
``--threshold-mb``. Even a 16-byte leak per call would add 16 MB over a million calls.

Input kinds: ``valid`` (verify, then read every claim as a handler would), ``bytes`` (the valid
key as the raw header bytes), ``forged`` (INVALID_SIGNATURE), ``garbage`` (INVALID_PREFIX),
``expired`` (a valid key verified after its expiry: claims built, then EXPIRED), ``huge`` (a 1 MB
string: INVALID_FORMAT).

The pure implementation runs fewer calls by default (``--pure-n``, 200,000: it is about ten
times slower, and being plain Python it serves as the control: its RSS must stay flat too).

Exit status: 0 when every run stays under the threshold, 1 when one grows more, 2 when the
native implementation was asked for and is not available.
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
from typing import Any, Callable

try:
    import apikee  # noqa: F401
except ImportError:
    sys.exit("apikee is not importable: install it first (pip install -e . from the repository)")

import _workload as W

KINDS = ("valid", "bytes", "forged", "garbage", "expired", "huge")
FAR_FUTURE = 253402300799  # verified "now" for the expired kind: after every 90-day expiry


def rss_kib() -> int:
    """Resident set size in KiB (current where /proc exists, else the peak so far)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak // 1024 if sys.platform == "darwin" else peak  # bytes on macOS, KiB elsewhere


def _loop(impl: str, kind: str) -> Callable[[int], None]:
    """A function running ``count`` verifications of one kind (errors are the expected ones)."""
    from apikee import Apikee, ApikeeError, ErrorCode

    workload = W.workload()
    verify = Apikee(secrets=[W.SECRET], implementation=impl).verify
    if kind in ("valid", "bytes"):
        key: Any = workload.key if kind == "valid" else workload.key.encode("ascii")

        def run(count: int) -> None:
            for _ in range(count):
                claims = verify(key)
                # What a handler reads: also exercises the lazily built values.
                claims.id, claims.tenant, claims.scopes, claims.environment  # noqa: B018 (the reads are what is measured)
                claims.meta["plan"], claims.expires_at, claims.has_scopes("read")

        return run
    key, now, code = {
        "forged": (workload.forged, None, ErrorCode.INVALID_SIGNATURE),
        "garbage": (workload.garbage, None, ErrorCode.INVALID_PREFIX),
        "expired": (workload.key, FAR_FUTURE, ErrorCode.EXPIRED),
        "huge": (workload.huge, None, ErrorCode.INVALID_FORMAT),
    }[kind]

    def run_rejections(count: int) -> None:
        for _ in range(count):
            try:
                verify(key, now=now)
            except ApikeeError as exc:
                if exc.code != code:
                    raise AssertionError(f"{kind}: expected {code}, got {exc.code}") from None
            else:
                raise AssertionError(f"{kind}: the key was accepted")

    return run_rejections


def check(impl: str, kind: str, n: int, every: int, threshold_kib: int) -> dict[str, Any]:
    """Run one (implementation, kind) and return its RSS trace and verdict."""
    run = _loop(impl, kind)
    every = max(1, min(every, n // 10))  # at least ten points, the first being the warm-up
    trace = []
    done = 0
    start = time.perf_counter()
    while done < n:
        step = min(every, n - done)
        run(step)
        done += step
        gc.collect()
        trace.append((done, rss_kib()))
        print(f"  {impl:6s} {kind:8s} {done:>10,d} calls  RSS {trace[-1][1]:>8,d} KiB", flush=True)
    growth = trace[-1][1] - trace[0][1]
    return {
        "impl": impl,
        "kind": kind,
        "calls": n,
        "seconds": time.perf_counter() - start,
        "rss_after_warmup_kib": trace[0][1],
        "rss_end_kib": trace[-1][1],
        "growth_kib": growth,
        "ok": growth <= threshold_kib,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="RSS leak check of apikee's verify path")
    parser.add_argument("--impl", choices=("native", "pure", "both"), default="both")
    parser.add_argument(
        "--n", type=int, default=1_000_000, help="calls per kind for native (default 1,000,000)"
    )
    parser.add_argument(
        "--pure-n",
        type=int,
        default=200_000,
        help="calls per kind for pure (default 200,000: it is ~10x slower)",
    )
    parser.add_argument(
        "--every",
        type=int,
        default=100_000,
        help="print the RSS every this many calls (default 100,000; at most "
        "n/10 so that there is a warm-up and nine more points)",
    )
    parser.add_argument(
        "--threshold-mb",
        type=float,
        default=2.0,
        help="allowed RSS growth after the warm-up, in MiB (default 2)",
    )
    parser.add_argument(
        "--kinds",
        default=",".join(KINDS),
        help=f"comma-separated input kinds (default {','.join(KINDS)})",
    )
    args = parser.parse_args(argv)
    kinds = [k.strip() for k in args.kinds.split(",") if k.strip()]
    unknown = sorted(set(kinds) - set(KINDS))
    if unknown or not kinds:
        parser.error(f"unknown kinds {unknown}; choose from {', '.join(KINDS)}")
    if min(args.n, args.pure_n) < 10 or args.every < 1 or args.threshold_mb < 0:
        parser.error("--n and --pure-n must be >= 10, --every >= 1, --threshold-mb >= 0")

    for line in W.machine_lines(W.machine_info()):
        print(line)
    impls = ["native", "pure"] if args.impl == "both" else [args.impl]
    if "native" in impls:
        available, detail = W.contender_status("native")
        if not available:
            print(f"native: not available ({detail})")
            return 2
    threshold_kib = int(args.threshold_mb * 1024)
    results = []
    for impl in impls:
        n = args.n if impl == "native" else args.pure_n
        for kind in kinds:
            results.append(check(impl, kind, n, args.every, threshold_kib))
    print(f"\nRSS growth after warm-up (threshold {args.threshold_mb:g} MiB):")
    for r in results:
        verdict = "ok" if r["ok"] else "LEAK?"
        print(
            f"  {verdict:5s} {r['impl']:6s} {r['kind']:8s} {r['calls']:>10,d} calls "
            f"in {r['seconds']:6.1f} s  {r['rss_after_warmup_kib']:>8,d} -> "
            f"{r['rss_end_kib']:>8,d} KiB  ({r['growth_kib']:+,d} KiB)"
        )
    return 0 if all(r["ok"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
