"""How verify scales: with the key's length, and with threads and processes.

    python benchmarks/scaling.py                        # both parts, tables on stdout
    python benchmarks/scaling.py --quick                # seconds instead of a minute or two
    python benchmarks/scaling.py --json docs/verify-vs-length.json   # also save the numbers
    python benchmarks/plot_scaling.py docs/verify-vs-length.json     # -> docs/verify-vs-length.png

Length: valid keys whose JSON payload grows from 100 bytes to 6 KB (geometric steps; the key is
~1.34 characters per payload byte plus 51), verified by native, pure and apikee 0.1.2. The
verifiers here allow 16384-character keys (the default limit, 2048, stops at about a 1.5 KB
payload). The "growth" line is the slope of log(time) against log(length) over the longer half:
about 1 means linear, 2 quadratic (apikee 0.1.2 decodes base62 one digit at a time into a
growing integer).

Throughput: verifications per second of the typical key and of a long one (a 1400-byte
payload, ~1.9 KB: the native core verifies it without the GIL) with 1, 2 and 4 threads, then 1, 2 and
4 processes (``multiprocessing``, spawn), for native and pure. Each worker verifies in a loop
for ``--duration`` seconds after a common start barrier; the rate is the sum over workers. More
workers than usable cores cannot add throughput; threads share one interpreter lock.
"""

from __future__ import annotations

import argparse
import math
import multiprocessing
import sys
import threading
import time
import timeit
from statistics import median
from typing import Any

try:
    import apikee  # noqa: F401
except ImportError:
    sys.exit("apikee is not importable: install it first (pip install -e . from the repository)")

import _workload as W

MAX_KEY_LENGTH = 16384
CHUNK = 200  # verifications between two clock reads in the throughput loop
WORKER_COUNTS = (1, 2, 4)
LENGTH_CONTENDERS = ("native", "pure", "apikee-0.1.2")
THROUGHPUT_CONTENDERS = ("native", "pure")


def payload_sizes(smallest: int = 100, largest: int = 6144, steps: int = 10) -> list[int]:
    """``steps`` payload sizes from ``smallest`` to ``largest``, evenly spaced on a log scale."""
    ratio = (largest / smallest) ** (1 / (steps - 1))
    return [round(smallest * ratio**i) for i in range(steps)]


def _verifier(contender: str, secret: str = W.SECRET) -> Any:
    """A ``verify(key)`` callable of the contender that accepts the long keys."""
    module = W.require(contender)
    if contender in W.APIKEE_IMPLEMENTATIONS:
        from apikee import Apikee

        return Apikee(
            secrets=[secret], implementation=contender, max_key_length=MAX_KEY_LENGTH
        ).verify
    return module.Apikee(secrets=[secret]).verify


def growth_exponent(lengths: list[int], seconds: list[float]) -> float:
    """Least-squares slope of log(time) on log(length) over the longer half of the points."""
    half = len(lengths) // 2
    xs = [math.log(x) for x in lengths[half:]]
    ys = [math.log(y) for y in seconds[half:]]
    mean_x, mean_y = sum(xs) / len(xs), sum(ys) / len(ys)
    covariance = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True))
    variance = sum((x - mean_x) ** 2 for x in xs)
    return covariance / variance


def measure_lengths(sizes: list[int], repeat: int, min_time: float) -> dict[str, Any]:
    """Median verify time per contender and payload size (contenders interleaved per size)."""
    contenders = [c for c in LENGTH_CONTENDERS if W.contender_status(c)[0]]
    verifiers = {c: _verifier(c) for c in contenders}
    rows = []
    for size in sizes:
        key = W.key_with_payload_size(size, max_key_length=MAX_KEY_LENGTH)
        for contender, verify in verifiers.items():
            if verify(key).tenant != W.TENANT:
                raise AssertionError(f"{contender} returned wrong claims for a {size}-byte payload")
        timers = {
            c: timeit.Timer("verify(key)", globals={"verify": v, "key": key})
            for c, v in verifiers.items()
        }
        numbers = {c: W.calibrate(t, min_time) for c, t in timers.items()}
        runs: dict[str, list[float]] = {c: [] for c in timers}
        for _ in range(repeat):
            for contender, timer in timers.items():
                runs[contender].append(timer.timeit(numbers[contender]) / numbers[contender])
        rows.append(
            {
                "payload_bytes": size,
                "key_chars": len(key),
                "us_per_verify": {c: median(r) * 1e6 for c, r in runs.items()},
            }
        )
        print(f"  payload {size} B done", file=sys.stderr, flush=True)
    growth = {
        c: growth_exponent([r["key_chars"] for r in rows], [r["us_per_verify"][c] for r in rows])
        for c in contenders
    }
    return {"contenders": contenders, "rows": rows, "growth_exponent": growth}


# ── throughput ──────────────────────────────────────────────────────────────────────────────


def _spin(contender: str, key: str, duration: float, barrier: Any) -> tuple[int, float]:
    """Verify ``key`` in a loop for ``duration`` seconds after the barrier: (count, elapsed)."""
    verify = _verifier(contender)
    verify(key)  # warm: first call paths, caches
    barrier.wait()
    count = 0
    start = time.perf_counter()
    deadline = start + duration
    while True:
        for _ in range(CHUNK):
            verify(key)
        count += CHUNK
        now = time.perf_counter()
        if now >= deadline:
            return count, now - start


def _process_worker(contender: str, key: str, duration: float, barrier: Any, queue: Any) -> None:
    try:
        queue.put(_spin(contender, key, duration, barrier))
    except BaseException as exc:  # report, do not hang the parent on queue.get()
        queue.put(exc.__class__.__name__ + ": " + str(exc))
        raise


def _rate(results: list[Any]) -> float:
    for result in results:
        if isinstance(result, str):
            raise RuntimeError(f"a worker failed: {result}")
    return sum(count / elapsed for count, elapsed in results)


def threads_rate(contender: str, key: str, workers: int, duration: float) -> float:
    """Total verifications per second of ``workers`` threads of one process."""
    barrier = threading.Barrier(workers)
    results: list[Any] = [None] * workers

    def run(i: int) -> None:
        try:
            results[i] = _spin(contender, key, duration, barrier)
        except BaseException as exc:  # pragma: no cover - surfaced by _rate
            results[i] = f"{type(exc).__name__}: {exc}"
            barrier.abort()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return _rate(results)


def processes_rate(contender: str, key: str, workers: int, duration: float) -> float:
    """Total verifications per second of ``workers`` processes (spawned: no state inherited)."""
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(workers)
    queue = context.Queue()
    processes = [
        context.Process(target=_process_worker, args=(contender, key, duration, barrier, queue))
        for _ in range(workers)
    ]
    for process in processes:
        process.start()
    try:
        results = [queue.get(timeout=duration + 120) for _ in processes]
    finally:
        for process in processes:
            process.join(timeout=10)
            if process.is_alive():  # only our own children, by handle
                process.terminate()
    return _rate(results)


LONG_PAYLOAD = 1400  # bytes: a ~1.9 KB key, under the default limit, verified without the GIL


def measure_throughput(duration: float) -> dict[str, Any]:
    """Verifications/s per key (typical, long), contender, mode and worker count.

    The native core releases the GIL while it decodes and authenticates keys of 1024 characters
    or more, so on the long key threads can add throughput; the typical key keeps the GIL.
    """
    keys = {
        "typical": W.workload().key,
        "long": W.key_with_payload_size(LONG_PAYLOAD, max_key_length=MAX_KEY_LENGTH),
    }
    contenders = [c for c in THROUGHPUT_CONTENDERS if W.contender_status(c)[0]]
    rows = []
    for name, key in keys.items():
        for contender in contenders:
            for mode, measure in (("threads", threads_rate), ("processes", processes_rate)):
                for workers in WORKER_COUNTS:
                    rate = measure(contender, key, workers, duration)
                    rows.append(
                        {
                            "key": name,
                            "key_chars": len(key),
                            "contender": contender,
                            "mode": mode,
                            "workers": workers,
                            "verifications_per_s": rate,
                        }
                    )
                    print(
                        f"  {name} key {contender} {workers} {mode} done",
                        file=sys.stderr,
                        flush=True,
                    )
    return {"contenders": contenders, "duration_s": duration, "rows": rows}


# ── printing ────────────────────────────────────────────────────────────────────────────────


def print_lengths(data: dict[str, Any]) -> None:
    contenders = data["contenders"]
    header = ["payload B", "key chars"] + [f"{c} µs" for c in contenders]
    if "apikee-0.1.2" in contenders and "native" in contenders:
        header.append("0.1.2/native")
    print("  ".join(h.rjust(12) for h in header))
    for row in data["rows"]:
        times = row["us_per_verify"]
        cells = [str(row["payload_bytes"]), str(row["key_chars"])]
        cells += [f"{times[c]:,.2f}" for c in contenders]
        if len(header) > len(cells):
            cells.append(f"{times['apikee-0.1.2'] / times['native']:.1f}x")
        print("  ".join(c.rjust(12) for c in cells))
    first, last = data["rows"][0], data["rows"][-1]
    growth = ", ".join(
        f"{c} x{last['us_per_verify'][c] / first['us_per_verify'][c]:.1f} "
        f"(exponent {data['growth_exponent'][c]:.2f})"
        for c in contenders
    )
    print(
        f"growth from {first['key_chars']} to {last['key_chars']} chars "
        f"(x{last['key_chars'] / first['key_chars']:.1f}): {growth}"
    )


def print_throughput(data: dict[str, Any]) -> None:
    print(
        f"{'key':14s} {'implementation':15s} {'mode':10s} {'workers':>7s} "
        f"{'verifications/s':>16s} {'vs 1':>6s}"
    )
    single: dict[tuple[str, str, str], float] = {}
    for row in data["rows"]:
        name = row.get("key", "typical")
        key = (name, row["contender"], row["mode"])
        single.setdefault(key, row["verifications_per_s"])
        label = f"{name} ({row['key_chars']})" if "key_chars" in row else name
        print(
            f"{label:14s} {row['contender']:15s} {row['mode']:10s} {row['workers']:7d} "
            f"{row['verifications_per_s']:16,.0f} {row['verifications_per_s'] / single[key]:5.2f}x"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="verify time vs key length; throughput vs workers")
    parser.add_argument("--quick", action="store_true", help="shorter runs, rougher numbers")
    parser.add_argument("--steps", type=int, default=10, help="payload sizes (default 10)")
    parser.add_argument("--repeat", type=int, default=None, help="repeats per point (default 5)")
    parser.add_argument(
        "--duration",
        type=float,
        default=None,
        help="seconds per throughput run (default 2, quick 0.3)",
    )
    parser.add_argument("--skip-lengths", action="store_true", help="only the throughput part")
    parser.add_argument("--skip-throughput", action="store_true", help="only the length part")
    parser.add_argument(
        "--json",
        nargs="?",
        const="-",
        default=None,
        metavar="PATH",
        help="save the results as JSON to PATH (for plot_scaling.py); without PATH print JSON only",
    )
    args = parser.parse_args(argv)
    if args.steps < 3:
        parser.error("--steps must be at least 3")
    repeat = args.repeat or (3 if args.quick else 5)
    min_time = 0.01 if args.quick else 0.1
    duration = args.duration or (0.3 if args.quick else 2.0)
    json_only = args.json == "-"
    out = sys.stderr if json_only else sys.stdout

    info = W.machine_info()
    print(
        "apikee scaling: python benchmarks/scaling.py" + (" --quick" if args.quick else ""),
        file=out,
    )
    for line in W.machine_lines(info):
        print(line, file=out)
    for name in sorted(set(LENGTH_CONTENDERS + THROUGHPUT_CONTENDERS), key=W.CONTENDERS.index):
        available, detail = W.contender_status(name)
        if not available:
            what = "not available" if name in W.APIKEE_IMPLEMENTATIONS else "missing"
            print(f"{name}: {what} ({detail})", file=out)
    out.flush()

    document: dict[str, Any] = {
        "machine": info,
        "settings": {
            "repeat": repeat,
            "min_time": min_time,
            "duration": duration,
            "quick": args.quick,
        },
    }
    if not args.skip_lengths:
        document["lengths"] = measure_lengths(payload_sizes(steps=args.steps), repeat, min_time)
        if not json_only:
            print(
                f"\nverify time vs key length (median of {repeat}, "
                f"max_key_length={MAX_KEY_LENGTH}):"
            )
            print_lengths(document["lengths"])
    if not args.skip_throughput:
        document["throughput"] = measure_throughput(duration)
        if not json_only:
            print(
                f"\nthroughput, typical and long key ({duration:g} s per run, "
                f"{info['usable_cores']} usable cores):"
            )
            print_throughput(document["throughput"])
    if json_only:
        sys.stdout.write(W.to_json(document))
    elif args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            handle.write(W.to_json(document))
        print(f"\nsaved {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
