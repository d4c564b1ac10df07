"""Revocation state layer: propagation latency, resync time, load time and snapshot memory.

    python benchmarks/bench_revocation.py            # the full run (about two minutes)
    python benchmarks/bench_revocation.py --quick    # a smoke run (seconds; figures are rough)

Sections (each prints a table):

1. transport: raw Redis pub/sub vs streams (XADD / XREAD BLOCK), publisher and subscriber in
   two processes: what the Redis feed is built on;
2. propagation: revoke N keys in this process, observe them in another process's
   RevocationSnapshot (SQLite polling at 0.2 s; Redis pub/sub), p50/p99/max;
3. idle cost of a refresher (CPU per second) and of one SQLite change check;
4. resync after a Redis restart (SIGKILL, restart on the same port): until healthy again and
   until a new revocation is seen; and full-load time for stores of 10k / 100k entries;
5. memory (RSS delta) of a snapshot of 1,000,000 key ids, against more compact layouts, and the
   time to publish one change at that size.

``--sections memory,load`` runs a subset.

Latencies use time.monotonic(), which on Linux is one clock for every process. Redis sections
need redis-server and the redis package; they are skipped (with a note) without them.
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # the redis_server helper of the tests

from apikee._ids import new_key_id  # noqa: E402 (after the sys.path set-up above)
from apikee._store import Revocation, Revocations, RevocationSnapshot, open_store  # noqa: E402


def _quantiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)

    def at(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    return {
        "n": len(ordered),
        "p50": at(0.50),
        "p99": at(0.99),
        "max": ordered[-1],
        "mean": statistics.fmean(ordered),
    }


def _row(label: str, stats: dict[str, float], unit: float = 1e3, suffix: str = "ms") -> str:
    return (
        f"  {label:<34} n={int(stats['n']):>5}  p50 {stats['p50'] * unit:8.2f} {suffix}"
        f"  p99 {stats['p99'] * unit:8.2f} {suffix}  max {stats['max'] * unit:8.2f} {suffix}"
    )


def _rss() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _redis_available() -> bool:
    try:
        import redis  # noqa: F401
    except ImportError:
        return False
    return shutil.which("redis-server") is not None


def _server(directory: Path) -> Any:
    from redis_server import RedisServer

    return RedisServer(directory).start()


def _child(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, __file__, *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )


# ── child roles ─────────────────────────────────────────────────────────────────────────────


def observe(url: str, count: int) -> None:
    """Child: record when each new id first appears in a snapshot; print them as JSON."""
    seen: dict[str, float] = {}
    previous: list[frozenset[str]] = [frozenset()]
    done = threading.Event()

    def listener(ids: frozenset[str], tenants: dict[str, float]) -> None:
        now = time.monotonic()
        for key_id in ids - previous[0]:
            seen.setdefault(key_id, now)
        previous[0] = ids
        if len(seen) >= count:
            done.set()

    snapshot = RevocationSnapshot(url)
    snapshot.add_listener(listener)
    snapshot.start(wait=10)
    print("ready", flush=True)
    done.wait(120)
    snapshot.close()
    print(json.dumps(seen), flush=True)


def subscribe_raw(port: int, mode: str, count: int) -> None:
    """Child: receive ``count`` timestamps over pub/sub or a stream; print the latencies."""
    import redis

    client = redis.Redis(port=port, decode_responses=True)
    latencies: list[float] = []
    if mode == "pubsub":
        pubsub = client.pubsub()
        pubsub.subscribe("bench")
        pubsub.get_message(timeout=5)
        print("ready", flush=True)
        while len(latencies) < count:
            message = pubsub.get_message(timeout=5)
            if message and message["type"] == "message":
                latencies.append(time.monotonic() - float(message["data"]))
    else:
        last = "$"
        print("ready", flush=True)
        while len(latencies) < count:
            for _stream, entries in client.xread({"bench": last}, block=5000, count=100) or []:
                now = time.monotonic()
                for entry_id, fields in entries:
                    latencies.append(now - float(fields["t"]))
                    last = entry_id
    print(json.dumps(latencies), flush=True)


# ── sections ────────────────────────────────────────────────────────────────────────────────


def bench_transport(work: Path, count: int) -> None:
    print("\n1. Redis transport, raw (publisher and subscriber in two processes)")
    server = _server(work / "transport")
    import redis

    client = redis.Redis(port=server.port, decode_responses=True)
    try:
        for mode in ("pubsub", "stream"):
            child = _child("--subscribe-raw", str(server.port), mode, str(count))
            assert child.stdout is not None
            child.stdout.readline()
            time.sleep(0.2)
            for _ in range(count):
                if mode == "pubsub":
                    client.publish("bench", repr(time.monotonic()))
                else:
                    client.xadd("bench", {"t": repr(time.monotonic())}, maxlen=10000)
                time.sleep(0.001)
            latencies = json.loads(child.stdout.readline())
            child.wait(30)
            print(_row(mode, _quantiles(latencies)))
    finally:
        server.stop()


def bench_propagation(label: str, url: str, count: int, spacing: float) -> None:
    child = _child("--observe", url, str(count))
    assert child.stdout is not None
    child.stdout.readline()  # ready
    revocations = Revocations(url)
    started: dict[str, float] = {}
    for _ in range(count):
        key_id = new_key_id()
        started[key_id] = time.monotonic()
        revocations.revoke_id(key_id, expires_at=time.time() + 3600)
        time.sleep(spacing)
    seen = json.loads(child.stdout.readline())
    child.wait(30)
    revocations.close()
    missing = [k for k in started if k not in seen]
    latencies = [seen[k] - started[k] for k in started if k in seen]
    print(_row(label, _quantiles(latencies)) + (f"  MISSING {len(missing)}" if missing else ""))


def bench_idle(url: str, label: str, seconds: float) -> None:
    before = resource.getrusage(resource.RUSAGE_SELF)
    with RevocationSnapshot(url) as snapshot:
        snapshot.start(wait=10)
        start = resource.getrusage(resource.RUSAGE_SELF)
        time.sleep(seconds)
        end = resource.getrusage(resource.RUSAGE_SELF)
    del before
    cpu = (end.ru_utime + end.ru_stime) - (start.ru_utime + start.ru_stime)
    print(
        f"  {label:<34} {cpu / seconds * 1e3:8.2f} ms CPU per second idle "
        f"({cpu / seconds * 100:.2f} % of a core)"
    )


def bench_version_check(url: str) -> None:
    store = open_store(url)
    store.version()
    rounds = 2000
    started = time.perf_counter()
    for _ in range(rounds):
        store.version()
    elapsed = (time.perf_counter() - started) / rounds
    store.close()
    print(f"  {'one SQLite change check':<34} {elapsed * 1e6:8.1f} us")


def bench_resync(work: Path, rounds: int, outage: float) -> None:
    print(
        f"\n4a. Redis restart after a {outage:g} s outage (SIGKILL, restart on the same port),"
        " default options (backoff_max 5 s)"
    )
    server = _server(work / "resync")
    healthy: list[float] = []
    seen: list[float] = []
    try:
        revocations = Revocations(server.url)
        revocations.revoke_id(new_key_id())
        with RevocationSnapshot(server.url) as reader:
            reader.start(wait=10)
            for _ in range(rounds):
                server.kill()
                time.sleep(outage)
                server.start()
                up = time.monotonic()
                while not reader.status()["healthy"] and time.monotonic() - up < 60:
                    time.sleep(0.005)
                healthy.append(time.monotonic() - up)
                key_id = new_key_id()
                while True:
                    try:
                        revocations.revoke_id(key_id)
                        break
                    except Exception:
                        time.sleep(0.01)
                while key_id not in reader.ids and time.monotonic() - up < 60:
                    time.sleep(0.001)
                seen.append(time.monotonic() - up)
        revocations.close()
    finally:
        server.stop()
    print(_row("server up -> snapshot healthy", _quantiles(healthy), 1, "s"))
    print(_row("server up -> new revocation seen", _quantiles(seen), 1, "s"))


def bench_load(work: Path, sizes: list[int], redis_ok: bool) -> None:
    print("\n4b. Full load (what a resync costs), per store size")
    server = _server(work / "load") if redis_ok else None
    try:
        for size in sizes:
            urls = [("sqlite", f"sqlite://{work / f'load-{size}.db'}")]
            if server is not None:
                urls.append(("redis", server.url + f"?prefix=load{size}"))
            for kind, url in urls:
                store = open_store(url, server_timeout=30)
                _fill(store, size)
                started = time.perf_counter()
                _version, ids, _tenants = store.load_index()
                elapsed = time.perf_counter() - started
                assert len(ids) == size
                print(f"  {kind:<8} {size:>9,} entries   load_index {elapsed:7.3f} s")
                store.close()
    finally:
        if server is not None:
            server.stop()


def _fill(store: Any, size: int) -> None:
    """Bulk-insert ``size`` id records (directly: the bench is about reading them)."""
    from apikee._store import SQLiteStore

    records = [Revocation("id", new_key_id(), revoked_at=1.0, host="bench") for _ in range(size)]
    if isinstance(store, SQLiteStore):
        conn = store._connect()
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(
            "INSERT INTO apikee_revocations (kind, value, reason, revoked_at, host) "
            "VALUES ('id', ?, NULL, 1.0, 'bench')",
            [(r.value,) for r in records],
        )
        conn.execute("UPDATE apikee_meta SET value = value + 1 WHERE name = 'version'")
        conn.execute("COMMIT")
        return
    pipe = store.client.pipeline(transaction=False)
    for index, record in enumerate(records):
        pipe.hset(store.keys[0], record.record_key, record.to_json())
        if index % 5000 == 4999:
            pipe.execute()
    pipe.incr(store.keys[2])
    pipe.execute()


LAYOUTS = {
    "frozenset[str] (the snapshot)": "str",
    "frozenset[bytes] (16-byte decoded ids)": "bytes16",
    "frozenset[int] (128-bit ids)": "int",
    "sorted 16-byte array (one bytes object)": "blob",
}


def memory_child(count: int, layout: str) -> None:
    """Child: RSS delta of ``count`` ids in ``layout``, built without an intermediate list."""
    from apikee import b62decode

    def raw() -> Any:
        return (b62decode(new_key_id()).rjust(16, b"\0") for _ in range(count))

    gc.collect()
    base = _rss()
    result: dict[str, float] = {}
    if layout == "str":
        built: Any = frozenset(new_key_id() for _ in range(count))
    elif layout == "bytes16":
        built = frozenset(raw())
    elif layout == "int":
        built = frozenset(int.from_bytes(b, "big") for b in raw())
    else:
        built = b"".join(sorted(raw()))
    gc.collect()
    result["rss"] = _rss() - base
    if layout == "str":
        probe = next(iter(built))
        started = time.perf_counter()
        for _ in range(1_000_000):
            probe in built  # noqa: B015
        result["lookup_ns"] = (time.perf_counter() - started) * 1e3
        started = time.perf_counter()
        bigger = built | {new_key_id()}
        result["change_ms"] = (time.perf_counter() - started) * 1e3
        result["peak"] = _rss() - base
        del bigger
    print(json.dumps(result), flush=True)


def bench_memory(count: int) -> None:
    print(f"\n5. Memory of a snapshot of {count:,} key ids (RSS delta, one fresh process each)")
    for label, layout in LAYOUTS.items():
        output = subprocess.run(
            [sys.executable, __file__, "--memory-child", str(count), layout],
            capture_output=True,
            text=True,
            timeout=600,
            check=True,
        ).stdout
        result = json.loads(output)
        print(f"  {label:<42} {result['rss'] / 2**20:8.1f} MiB")
        if "lookup_ns" in result:
            print(f"  {'  lookup (id in frozenset)':<42} {result['lookup_ns']:8.1f} ns")
            print(f"  {'  publish one change (new frozenset)':<42} {result['change_ms']:8.1f} ms")
            print(f"  {'  peak while both sets live':<42} {result['peak'] / 2**20:8.1f} MiB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small counts: a smoke run")
    parser.add_argument("--observe", nargs=2, metavar=("URL", "COUNT"), help=argparse.SUPPRESS)
    parser.add_argument("--subscribe-raw", nargs=3, help=argparse.SUPPRESS)
    parser.add_argument("--memory-child", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument(
        "--sections",
        default="transport,propagation,idle,resync,load,memory",
        help="comma-separated subset of: %(default)s",
    )
    options = parser.parse_args()
    if options.observe:
        return observe(options.observe[0], int(options.observe[1]))
    if options.subscribe_raw:
        port, mode, count = options.subscribe_raw
        return subscribe_raw(int(port), mode, int(count))
    if options.memory_child:
        return memory_child(int(options.memory_child[0]), options.memory_child[1])

    logging.getLogger("apikee").setLevel(logging.ERROR)  # outages are on purpose here
    quick = options.quick
    count = 100 if quick else 1000
    redis_ok = _redis_available()
    print(
        f"apikee revocation benchmark ({'quick' if quick else 'full'}), "
        f"python {sys.version.split()[0]}, {os.cpu_count()} cores"
    )
    if not redis_ok:
        print("(redis-server or the redis package is missing: Redis sections skipped)")
    sections = set(options.sections.split(","))
    with tempfile.TemporaryDirectory(prefix="apikee-bench-") as tmp:
        work = Path(tmp)
        if redis_ok and "transport" in sections:
            bench_transport(work, count)
        if "propagation" in sections:
            print(f"\n2. Propagation: revoke here, seen in another process ({count} revocations)")
            bench_propagation(
                "sqlite (poll 0.2 s)",
                f"sqlite://{work / 'prop.db'}",
                count,
                0.002 if quick else 0.01,
            )
            if redis_ok:
                server = _server(work / "prop")
                try:
                    bench_propagation("redis (pub/sub)", server.url, count, 0.002)
                finally:
                    server.stop()
        if "idle" in sections:
            print("\n3. Idle cost of one refresher")
            bench_version_check(f"sqlite://{work / 'idle.db'}")
            bench_idle(
                f"sqlite://{work / 'idle.db'}", "sqlite refresher, poll 0.2 s", 1 if quick else 5
            )
            if redis_ok:
                server = _server(work / "idle")
                try:
                    bench_idle(server.url, "redis refresher (pub/sub)", 1 if quick else 5)
                finally:
                    server.stop()
        if redis_ok and "resync" in sections:
            for outage in (0.5, 5.0) if not quick else (0.5,):
                bench_resync(work, 1 if quick else 3, outage)
        if "load" in sections:
            bench_load(work, [10_000] if quick else [10_000, 100_000], redis_ok)
        if "memory" in sections:
            bench_memory(100_000 if quick else 1_000_000)


if __name__ == "__main__":
    main()
