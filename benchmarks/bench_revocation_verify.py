"""What a revocation store costs verify(): per call, and in memory for a big snapshot.

    python benchmarks/bench_revocation_verify.py            # the full run (about a minute)
    python benchmarks/bench_revocation_verify.py --quick    # a smoke run (seconds; rough)
    python benchmarks/bench_revocation_verify.py --check    # exit 1 when a target is missed

The timed statement is ``verify(key)`` on the typical key of ``_workload`` (tenant
``acme-corp``, scopes read/write, 90-day expiry, meta ``{"plan": "pro"}``), which is not
revoked, by an ``Apikee`` of each implementation:

* with no store (the stateless baseline);
* with ``store="memory://"`` and nothing revoked (the refresher running);
* with 1,000 key ids revoked through the store (``Apikee.revoke``, the real install path);
* with 1,000,000 key ids installed directly (``apikee._verifier.set_revocations``, after
  ``close()`` stopped the refresher so it cannot put its own, empty, snapshot back), alone,
  with 1,000 revoked tenants beside them (the key's tenant is not one of them), and with one
  fingerprint among them (a snapshot holding any fingerprint makes verify() look up every
  key's SHA-256 as well).

Each figure is the minimum over interleaved repeats (every configuration once per round, the
order rotating) of ``timeit`` loops of the same length, so a slow moment of the machine hits
every configuration alike; the added cost is the difference with the no-store baseline. The
native target is an added cost <= 0.05 us; the same key is verified again and again, so the
set look-up runs warm in the CPU caches (a realistic mix of keys costs a cache miss more).

Memory: the process RSS (``/proc/self/statm``) before and after building the 1,000,000-entry
snapshot (a frozenset of 22-character ids, what the store layer installs), target <= 100 MB.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import time
import timeit
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

import _workload  # noqa: E402  (after the path)

from apikee import Apikee, ApikeeError, hash_key  # noqa: E402
from apikee._ids import new_key_id  # noqa: E402

MiB = 1024 * 1024
ADDED_TARGET_NATIVE = 0.05e-6  # seconds
RSS_TARGET = 100 * MiB
BIG = 1_000_000
SMALL = 1_000
TENANTS = 1_000


def rss() -> int:
    """The resident set size of this process, in bytes."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@dataclass
class Config:
    """One way of holding revocations: the Apikee that verifies, and how it got them."""

    label: str
    apikee: Apikee
    entries: int
    probe: str | None = None  # a key the snapshot revokes: proves it is installed
    best: dict[str, float] = field(default_factory=dict)

    def check(self, key: str) -> None:
        claims = self.apikee.verify(key)
        if claims.tenant != _workload.TENANT:
            raise AssertionError(f"{self.label}: wrong claims")
        if self.probe is not None:
            try:
                self.apikee.verify(self.probe)
            except ApikeeError as exc:
                if exc.code != "REVOKED":
                    raise AssertionError(f"{self.label}: probe gave {exc.code}") from None
            else:
                raise AssertionError(f"{self.label}: the snapshot is not installed")


def big_snapshot(count: int) -> tuple[frozenset[str], int, int]:
    """``count`` fresh key ids in a frozenset, and the RSS just before and after making it."""
    gc.collect()
    before = rss()
    ids = frozenset(new_key_id() for _ in range(count))
    gc.collect()
    return ids, before, rss()


def build_configs(impl: str, ids: frozenset[str]) -> list[Config]:
    secret = _workload.SECRET
    configs = [Config("no store", Apikee(secret=secret, implementation=impl), 0)]

    empty = Apikee(secret=secret, implementation=impl, store="memory://")
    configs.append(Config("store, 0 entries", empty, 0))

    small = Apikee(secret=secret, implementation=impl, store="memory://")
    probe = small.create("victim")
    small.revoke(probe)
    for _ in range(SMALL - 1):
        small.revoke(new_key_id())
    deadline = time.monotonic() + 30
    while small.store_status()["entries"] != SMALL and time.monotonic() < deadline:
        time.sleep(0.01)
    configs.append(Config(f"store, {SMALL:,} ids (via revoke)", small, SMALL, probe))

    for tenants, fingerprints in ((0, 0), (TENANTS, 0), (0, 1)):
        big = Apikee(secret=secret, implementation=impl, store="memory://")
        big.close()  # stop the refresher: it would reinstall the store's own (empty) snapshot
        probe = big.create("victim")
        revoked = ids | {probe_id(probe)}
        if fingerprints:  # any fingerprint in the set: every key's SHA-256 is looked up too
            revoked |= {hash_key(big.create("victim")) for _ in range(fingerprints)}
        cutoffs = {f"tenant-{n}": time.time() for n in range(tenants)}
        big._verifier.set_revocations(revoked, cutoffs)
        label = f"store, {len(ids):,} ids"
        label += f" + {tenants:,} tenants" if tenants else ""
        label += f" + {fingerprints} fingerprint" if fingerprints else ""
        configs.append(Config(label, big, len(revoked) + tenants, probe))
    return configs


def probe_id(key: str) -> str:
    from apikee import decode_unverified

    return decode_unverified(key).id


def measure(configs: list[Config], key: str, repeats: int, min_time: float) -> None:
    """Fill ``config.best[...]`` with the minimum seconds per verify over interleaved rounds."""
    timers = [
        timeit.Timer("verify(key)", globals={"verify": c.apikee.verify, "key": key})
        for c in configs
    ]
    number = _workload.calibrate(timers[0], min_time)
    best = [float("inf")] * len(configs)
    for round_ in range(repeats):
        order = list(range(len(configs)))
        order = order[round_ % len(order) :] + order[: round_ % len(order)]
        for index in order:
            best[index] = min(best[index], timers[index].timeit(number) / number)
    for config, seconds in zip(configs, best, strict=True):
        config.best = {"seconds": seconds, "number": number}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="few short repeats (rough)")
    parser.add_argument(
        "--implementations",
        default="native,pure",
        help="comma-separated: native, pure (default both)",
    )
    parser.add_argument(
        "--check", action="store_true", help="exit with status 1 when a target is missed"
    )
    options = parser.parse_args(argv)
    repeats, min_time = (5, 0.01) if options.quick else (25, 0.05)
    implementations = [name.strip() for name in options.implementations.split(",") if name]

    for line in _workload.machine_lines(_workload.machine_info()):
        print(line)
    key = _workload.create_key(_workload.SECRET)
    print(f"key:     the typical key of _workload ({len(key)} characters), not revoked")
    print(
        f"timing:  min of {repeats} interleaved repeats of one timeit loop each"
        f"{' (--quick: rough)' if options.quick else ''}"
    )
    print()

    # Memory first, in a process that holds nothing big yet.
    ids, before, after = big_snapshot(BIG)
    held = sys.getsizeof(ids) + sum(sys.getsizeof(i) for i in ids)
    missed: list[str] = []

    rows = []
    for impl in implementations:
        try:
            _workload.require(impl)
        except _workload.Unavailable as exc:
            print(f"{impl}: skipped ({exc})")
            if impl == "native":
                missed.append("native implementation not available")
            continue
        configs = build_configs(impl, ids)
        for config in configs:
            config.check(key)
        measure(configs, key, repeats, min_time)
        for config in configs:
            config.check(key)  # still installed after the timing (nothing replaced it)
        base = configs[0].best["seconds"]
        for config in configs:
            seconds = config.best["seconds"]
            added = seconds - base
            verdict = ""
            if impl == "native" and config is not configs[0]:
                ok = added <= ADDED_TARGET_NATIVE
                verdict = "ok" if ok else "MISSED"
                if not ok:
                    missed.append(f"native {config.label}: +{added * 1e6:.3f} us")
            rows.append(
                (
                    impl,
                    config.label,
                    seconds,
                    None if config is configs[0] else added,
                    verdict,
                    config.best["number"],
                )
            )
        for config in configs:
            config.apikee.close()

    print("verify() with a revocation snapshot (us per call; added = over 'no store')")
    header = f"  {'impl':<7} {'snapshot':<38} {'us/op':>8} {'added us':>9}  {'target':<17} loop"
    print(header)
    print("  " + "-" * (len(header) - 2))
    for impl, label, seconds, added, verdict, number in rows:
        added_text = "-" if added is None else f"{added * 1e6:+.3f}"
        target = f"<= +0.050 {verdict}" if verdict else ""
        print(
            f"  {impl:<7} {label:<38} {seconds * 1e6:8.3f} {added_text:>9}  {target:<17} {number:,}"
        )
    print()

    delta = after - before
    rss_ok = delta <= RSS_TARGET
    if not rss_ok:
        missed.append(f"RSS +{delta / MiB:.1f} MB")
    print(f"memory of a {len(ids):,}-entry snapshot (frozenset of {len(next(iter(ids)))}-char ids)")
    header = f"  {'RSS before':>12} {'RSS after':>12} {'delta':>10} {'objects':>10}  target"
    print(header)
    print("  " + "-" * (len(header) - 2))
    print(
        f"  {before / MiB:9.1f} MB {after / MiB:9.1f} MB {delta / MiB:7.1f} MB "
        f"{held / MiB:7.1f} MB  <= 100 MB {'ok' if rss_ok else 'MISSED'}"
    )
    print("  (objects: sys.getsizeof of the set plus its strings)")
    if missed:
        print("\nmissed: " + "; ".join(missed))
    return 1 if (missed and options.check) else 0


if __name__ == "__main__":
    sys.exit(main())
