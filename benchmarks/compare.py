"""One command for the README table: apikee (native, pure) vs apikee 0.1.2, PyJWT, itsdangerous.

    python benchmarks/compare.py                # full run (about 2 minutes)
    python benchmarks/compare.py --quick        # a few seconds, rougher numbers
    python benchmarks/compare.py --markdown     # the README table (+ all rows) as Markdown
    python benchmarks/compare.py --json out.json   # also save every number (--json alone: stdout)
    python benchmarks/compare.py --check        # exit 1 unless every target passes
    python benchmarks/compare.py --from-json out.json --markdown   # re-print a saved run

Every operation is timed with ``timeit`` (garbage collector off while timing): the loop count is
autoranged so that one repeat lasts at least ``--min-time`` seconds, then each contender of the
operation runs ``--repeat`` times, interleaved (round 1 of every contender, then round 2, ...),
and the table shows the minimum: on a shared, noisy machine other work only ever adds time, so
the fastest of several interleaved repeats is the stablest estimate of what the code costs,
and interleaving keeps the *ratios* of one run comparable, which is what the targets are.

It installs nothing. A contender that is missing is listed with the command that installs it,
and its rows are left out; the compiled implementation missing is reported as
``native: not available (reason)`` and its targets as ``n/a``.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, Callable

try:
    import apikee  # noqa: F401  (fail early and clearly, before importing the workload)
except ImportError:
    sys.exit("apikee is not importable: install it first (pip install -e . from the repository)")

import _workload as W

# ── targets of the native implementation (the native issue) ─────────────────────────────────


class Target:
    """One promise of the native implementation, measured from the results."""

    def __init__(
        self,
        label: str,
        goal: str,
        value: Callable[[dict], float],
        passes: Callable[[float], bool],
        unit: str,
        needs: tuple[tuple[str, str], ...],
    ) -> None:
        self.label, self.goal, self.value, self.passes, self.unit = label, goal, value, passes, unit
        self.needs = needs  # (operation slug, contender) pairs the value is computed from


def _us(results: dict, slug: str, contender: str) -> float:
    return results[(slug, contender)]["seconds"] * 1e6


TARGETS = (
    Target(
        "native verify, typical key (226 chars)",
        "<= 0.55 µs",
        lambda r: _us(r, "verify", "native"),
        lambda v: v <= 0.55,
        "µs",
        (("verify", "native"),),
    ),
    Target(
        "native verify vs apikee 0.1.2 verify, same key",
        ">= 50x faster",
        lambda r: _us(r, "verify", "apikee-0.1.2") / _us(r, "verify", "native"),
        lambda v: v >= 50,
        "x",
        (("verify", "native"), ("verify", "apikee-0.1.2")),
    ),
    Target(
        "pure verify vs apikee 0.1.2 verify, same key",
        ">= 3.5x faster",
        lambda r: _us(r, "verify", "apikee-0.1.2") / _us(r, "verify", "pure"),
        lambda v: v >= 3.5,
        "x",
        (("verify", "pure"), ("verify", "apikee-0.1.2")),
    ),
    Target(
        "native verify vs PyJWT HS256 decode, same claims",
        ">= 12x faster",
        lambda r: _us(r, "verify", "pyjwt") / _us(r, "verify", "native"),
        lambda v: v >= 12,
        "x",
        (("verify", "native"), ("verify", "pyjwt")),
    ),
    Target(
        "native reject forged signature",
        "<= 1 µs",
        lambda r: _us(r, "reject-forged", "native"),
        lambda v: v <= 1.0,
        "µs",
        (("reject-forged", "native"),),
    ),
    Target(
        "native reject 1 MB string",
        "<= 5 µs",
        lambda r: _us(r, "reject-1mb", "native"),
        lambda v: v <= 5.0,
        "µs",
        (("reject-1mb", "native"),),
    ),
    Target(
        "native worst case: forged key of the maximum default length",
        "<= 30 µs",
        lambda r: _us(r, "reject-forged-max", "native"),
        lambda v: v <= 30.0,
        "µs",
        (("reject-forged-max", "native"),),
    ),
    Target(
        "pure worst case: forged key of the maximum default length",
        "<= 300 µs",
        lambda r: _us(r, "reject-forged-max", "pure"),
        lambda v: v <= 300.0,
        "µs",
        (("reject-forged-max", "pure"),),
    ),
    # (It was "vs pure" until the pure decoder stopped looping per digit: 14.0 -> 3.6 us.)
    Target(
        "native b62decode 129 B vs apikee 0.1.2",
        ">= 30x faster",
        lambda r: _us(r, "b62decode-129", "apikee-0.1.2") / _us(r, "b62decode-129", "native"),
        lambda v: v >= 30,
        "x",
        (("b62decode-129", "native"), ("b62decode-129", "apikee-0.1.2")),
    ),
    Target(
        "ASGI middleware per request, minus the verify call (native)",
        "<= 0.4 µs",
        lambda r: _us(r, "asgi-rest", "native"),
        lambda v: v <= 0.4,
        "µs",
        (("asgi-rest", "native"),),
    ),
    Target(
        "native rotation: 3 secrets (matching last) - 1 secret",
        "<= 0.25 µs",
        lambda r: _us(r, "verify-3", "native") - _us(r, "verify", "native"),
        lambda v: v <= 0.25,
        "µs",
        (("verify-3", "native"), ("verify", "native")),
    ),
)


def _missing_text(contender: str, detail: str) -> str:
    if contender in W.APIKEE_IMPLEMENTATIONS:
        return f"{contender}: not available ({detail})"
    return f"{contender}: {detail}"


def evaluate_targets(results: dict, missing: dict[str, str]) -> list[dict[str, Any]]:
    """Each target's measured value and PASS / MISS (or n/a with the reason)."""
    rows = []
    for target in TARGETS:
        absent = [(slug, c) for slug, c in target.needs if (slug, c) not in results]
        if absent:
            slug, contender = absent[0]
            reason = (
                _missing_text(contender, missing[contender])
                if contender in missing
                else f"{slug} / {contender} not measured in this run"
            )
            rows.append(
                {
                    "target": target.label,
                    "goal": target.goal,
                    "value": None,
                    "unit": target.unit,
                    "status": "n/a",
                    "reason": reason,
                }
            )
            continue
        value = target.value(results)
        rows.append(
            {
                "target": target.label,
                "goal": target.goal,
                "value": value,
                "unit": target.unit,
                "status": "PASS" if target.passes(value) else "MISS",
            }
        )
    return rows


# ── measuring ───────────────────────────────────────────────────────────────────────────────


def run(
    operations: list[W.Operation], repeat: int, min_time: float, progress: bool
) -> tuple[dict, dict[str, str], list[dict]]:
    """Measure every available (operation, contender); returns results, missing, failures."""
    missing = {
        name: detail
        for name in W.CONTENDERS
        for available, detail in [W.contender_status(name)]
        if not available
    }
    results: dict[tuple[str, str], dict[str, Any]] = {}
    failures: list[dict] = []
    for family in _families(operations):
        if family[0].slug == "asgi-rest":
            _run_asgi(family[0], repeat, min_time, missing, results, failures, progress)
            continue
        cases = []
        for op in family:
            for contender in op.contenders:
                if contender in missing:
                    continue
                try:
                    case = W.make_case(op, contender)
                    case.check()
                except Exception as exc:  # timing a case that misbehaves would mislead
                    error = f"{type(exc).__name__}: {exc}"
                    failures.append({"operation": op.title, "contender": contender, "error": error})
                    continue
                cases.append(case)
        if progress:
            print("  " + ", ".join(op.title for op in family), file=sys.stderr, flush=True)
        timers = [case.timer() for case in cases]
        numbers = [W.calibrate(timer, min_time) for timer in timers]
        runs: list[list[float]] = [[] for _ in cases]
        for _ in range(repeat):  # interleaved: a slow moment hits every contender alike
            for i, timer in enumerate(timers):
                runs[i].append(timer.timeit(numbers[i]) / numbers[i])
        for case, number, times in zip(cases, numbers, runs, strict=True):
            results[(case.operation.slug, case.contender)] = {
                "seconds": min(times),
                "runs": times,
                "number": number,
            }
    return results, missing, failures


def _run_asgi(
    op: W.Operation,
    repeat: int,
    min_time: float,
    missing: dict[str, str],
    results: dict,
    failures: list[dict],
    progress: bool,
) -> None:
    """The ASGI row: batches of requests through a trivial app, with and without the
    middleware, and the verify call alone, interleaved (bench_middleware.own_work)."""
    if "native" in missing:
        return
    import bench_middleware

    if progress:
        print("  " + op.title, file=sys.stderr, flush=True)
    count = max(200, int(min_time * 2e5))  # ~0.5 us per request: about min_time per batch
    try:
        measured = bench_middleware.own_work("native", count, max(repeat, 5))
    except Exception as exc:  # a middleware that misbehaves must not be timed
        failures.append(
            {"operation": op.title, "contender": "native", "error": f"{type(exc).__name__}: {exc}"}
        )
        return
    results[(op.slug, "native")] = {
        "seconds": measured["rest"],
        "runs": [measured["rest"]],
        "number": count,
        "detail": measured,
    }


def _families(operations: list[W.Operation]) -> list[list[W.Operation]]:
    """Operations grouped by ``family`` (each alone when it has none), in table order."""
    groups: dict[str, list[W.Operation]] = {}
    for op in operations:
        groups.setdefault(op.family or op.slug, []).append(op)
    return list(groups.values())


# ── printing ────────────────────────────────────────────────────────────────────────────────


def _speedup(base: float | None, this: float) -> str:
    if base is None:
        return ""
    return f"{base / this:.2f}x" if base / this < 10 else f"{base / this:.1f}x"


def table_rows(
    operations: list[W.Operation], results: dict, missing: dict[str, str]
) -> list[list[str]]:
    """operation, implementation, µs/op, ops/s, vs 0.1.2, native/pure."""
    rows = []
    for op in operations:
        reference = results.get((op.slug, "apikee-0.1.2"))
        pure = results.get((op.slug, "pure"))
        first = True
        for contender in op.contenders:
            result = results.get((op.slug, contender))
            if result is None:
                continue
            seconds = result["seconds"]
            rows.append(
                [
                    op.title if first else "",
                    contender,
                    f"{seconds * 1e6:,.3f}" if seconds < 1e-5 else f"{seconds * 1e6:,.2f}",
                    f"{1 / seconds:,.0f}",
                    _speedup(reference and reference["seconds"], seconds),
                    _speedup(pure["seconds"], seconds) if contender == "native" and pure else "",
                ]
            )
            first = False
        for contender, reason in op.not_measured.items():
            rows.append([op.title if first else "", contender, "-", "-", f"not run: {reason}", ""])
            first = False
        for contender in op.contenders:
            if contender in missing:
                label = (
                    "not available" if contender in W.APIKEE_IMPLEMENTATIONS else "not installed"
                )
                rows.append(
                    [op.title if first else "", contender, "-", "-", f"not run: {label}", ""]
                )
                first = False
    return rows


HEADERS = ["operation", "implementation", "µs/op", "ops/s", "vs 0.1.2", "native/pure"]


def format_text(rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in rows + [HEADERS]) for i in range(len(HEADERS) - 2)]
    lines = []
    numeric = {2, 3}
    for row in [HEADERS] + rows:
        cells = []
        for i, width in enumerate(widths):
            cells.append(
                row[i].rjust(width) if i in numeric and row is not HEADERS else row[i].ljust(width)
            )
        cells.append(row[4].rjust(9) if not row[4].startswith("not run") else row[4])
        cells.append(row[5].rjust(11))
        lines.append("  ".join(cells).rstrip())
        if row is HEADERS:
            lines.append("-" * len(lines[-1]))
    return "\n".join(lines)


def format_markdown(rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(HEADERS) + " |", "|" + "---|" * 2 + "---:|" * 4]
    for row in rows:
        lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |")
    return "\n".join(lines)


SUMMARY_OPERATIONS = (
    "verify",
    "verify-distinct",
    "verify-3",
    "reject-forged",
    "reject-garbage",
    "reject-1mb",
    "reject-forged-max",
    "create",
    "b62decode-129",
)
SUMMARY_COLUMNS = {
    "native": "native",
    "pure": "pure",
    "apikee-0.1.2": "apikee 0.1.2",
    "pyjwt": "PyJWT",
    "itsdangerous": "itsdangerous",
}


def _cell(seconds: float) -> str:
    us = seconds * 1e6
    return f"{us:,.2f}" if us < 100 else f"{us:,.0f}"


def format_summary(results: dict) -> str:
    """The short README table: µs per operation, one column per implementation."""
    ops = [W.OPERATION_BY_SLUG[slug] for slug in SUMMARY_OPERATIONS]
    columns = [c for c in SUMMARY_COLUMNS if any((op.slug, c) in results for op in ops)]
    lines = [
        "| µs per call (min of repeats) | "
        + " | ".join(SUMMARY_COLUMNS[c] for c in columns)
        + " | native vs 0.1.2 |",
        "|---|" + "---:|" * (len(columns) + 1),
    ]
    for op in ops:
        if not any((op.slug, c) in results for c in columns):
            continue
        cells = []
        for c in columns:
            result = results.get((op.slug, c))
            if result:
                cells.append(_cell(result["seconds"]))
            else:
                cells.append("not run" if c in op.not_measured else "–")
        native, reference = results.get((op.slug, "native")), results.get((op.slug, "apikee-0.1.2"))
        ratio = (
            f"{reference['seconds'] / native['seconds']:.1f}x faster"
            if native and reference
            else ""
        )
        lines.append(f"| {op.title} | " + " | ".join(cells) + f" | {ratio} |")
    return "\n".join(lines)


def format_targets(rows: list[dict]) -> str:
    width = max(len(r["target"]) for r in rows)
    lines = []
    for row in rows:
        if row["value"] is None:
            measured = f"n/a ({row['reason']})"
        elif row["unit"] == "x":
            measured = f"{row['value']:.1f}x faster"
        else:
            measured = f"{row['value']:.3f} µs"
        status = row["status"] if row["status"] != "n/a" else "n/a "
        lines.append(
            f"  {status:4s}  {row['target']:{width}s}  goal {row['goal']:14s} measured {measured}"
        )
    return "\n".join(lines)


def contender_lines(status: dict[str, dict[str, Any]]) -> list[str]:
    lines = []
    for name, entry in status.items():
        if entry["available"]:
            lines.append(f"  {name:13s} {entry['detail']}")
        else:
            lines.append(f"  {_missing_text(name, entry['detail'])}")
    return lines


# ── command line ────────────────────────────────────────────────────────────────────────────


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Compare apikee's verify (native, pure) with apikee 0.1.2, PyJWT and "
        "itsdangerous; print the README table and the native targets."
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="3 repeats of >= 0.02 s each: seconds instead of minutes, rougher",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=None,
        metavar="N",
        help="repeats per case; the minimum is reported (default 7, quick 3)",
    )
    parser.add_argument(
        "--min-time",
        type=float,
        default=None,
        metavar="SECONDS",
        help="minimum duration of one repeat (default 0.2, quick 0.02)",
    )
    parser.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="TEXT",
        help="only operations whose slug or title contains TEXT (repeatable)",
    )
    parser.add_argument(
        "--json",
        nargs="?",
        const="-",
        default=None,
        metavar="PATH",
        help="save every number as JSON to PATH; without PATH print JSON only",
    )
    parser.add_argument(
        "--from-json",
        default=None,
        metavar="PATH",
        help="measure nothing: print the report of a run saved with --json PATH",
    )
    parser.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    parser.add_argument(
        "--check",
        action="store_true",
        help="exit 1 unless every target is measured and passes",
    )
    args = parser.parse_args(argv)
    if args.repeat is None:
        args.repeat = 3 if args.quick else 7
    if args.min_time is None:
        args.min_time = 0.02 if args.quick else 0.2
    if args.repeat < 1 or args.min_time <= 0:
        parser.error("--repeat must be >= 1 and --min-time > 0")
    return args


def _document(info, settings, status, operations, results, targets, failures) -> dict:
    """Everything a run measured, as saved by ``--json`` and read by ``--from-json``."""
    return {
        "machine": info,
        "settings": settings,
        "contenders": status,
        "results": [
            {
                "operation": op.title,
                "slug": op.slug,
                "contender": contender,
                "us_per_op": r["seconds"] * 1e6,
                "ops_per_s": 1 / r["seconds"],
                "runs_us": [t * 1e6 for t in r["runs"]],
                "number": r["number"],
            }
            for op in operations
            for contender in op.contenders
            for r in [results.get((op.slug, contender))]
            if r is not None
        ],
        "targets": targets,
        "failures": failures,
    }


def _load(path: str) -> tuple[dict, dict, dict, dict]:
    """info, settings, contender status and results of a saved run."""
    with open(path, encoding="utf-8") as handle:
        document = json.load(handle)
    results = {
        (r["slug"], r["contender"]): {
            "seconds": r["us_per_op"] / 1e6,
            "runs": [t / 1e6 for t in r["runs_us"]],
            "number": r["number"],
        }
        for r in document["results"]
    }
    return document["machine"], document["settings"], document["contenders"], results


def _print_header(info: dict, settings: dict, status: dict, out: Any) -> None:
    command = "python benchmarks/compare.py" + (" --quick" if settings["quick"] else "")
    print(f"apikee benchmark: {command}", file=out)
    for line in W.machine_lines(info):
        print(line, file=out)
    print(f"method:  {settings['method']}", file=out)
    print("contenders:", file=out)
    for line in contender_lines(status):
        print(line, file=out)


def _print_tables(operations, results, missing, targets, markdown: bool, out: Any) -> None:
    rows = table_rows(operations, results, missing)
    print(file=out)
    if markdown:  # the README's short table, then every number in a folded section
        print(format_summary(results), file=out)
        print("\n<details><summary>every operation</summary>\n", file=out)
        print(format_markdown(rows), file=out)
        print("\n</details>", file=out)
    else:
        print(format_text(rows), file=out)
    print(
        "\nvs 0.1.2: apikee 0.1.2's time / this time (above 1 = faster than 0.1.2); "
        "native/pure: pure's time / native's.",
        file=out,
    )
    print("\ntargets:", file=out)
    print(format_targets(targets), file=out)
    if ("verify-3", "native") in results and ("verify-2", "native") in results:
        extra = _us(results, "verify-3", "native") - _us(results, "verify-2", "native")
        print(f"  info  native 3 secrets - 2 secrets: {extra:.3f} µs", file=out)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    operations = [
        op
        for op in W.OPERATIONS
        if not args.only or any(t in op.slug or t in op.title for t in args.only)
    ]
    if not operations:
        slugs = ", ".join(op.slug for op in W.OPERATIONS)
        print(f"no operation matches {args.only}; slugs: {slugs}", file=sys.stderr)
        return 2
    failures: list[dict] = []
    if args.from_json:
        try:
            info, settings, status, results = _load(args.from_json)
        except (OSError, ValueError, KeyError) as exc:
            print(f"cannot read {args.from_json}: {type(exc).__name__}: {exc}", file=sys.stderr)
            return 2
        missing = {n: e["detail"] for n, e in status.items() if not e["available"]}
        targets = evaluate_targets(results, missing)
        _print_header(info, settings, status, sys.stdout)
        _print_tables(operations, results, missing, targets, args.markdown, sys.stdout)
        return 1 if args.check and any(t["status"] != "PASS" for t in targets) else 0

    info = W.machine_info()
    status = {
        name: {"available": ok, "detail": detail}
        for name in W.CONTENDERS
        for ok, detail in [W.contender_status(name)]
    }
    settings = {
        "repeat": args.repeat,
        "min_time": args.min_time,
        "quick": args.quick,
        "method": f"timeit, minimum of {args.repeat} interleaved repeats of >= {args.min_time:g} s "
        f"each (GC off while timing){' [--quick]' if args.quick else ''}",
    }
    json_only = args.json == "-"
    out = sys.stderr if json_only else sys.stdout
    _print_header(info, settings, status, out)
    out.flush()
    print("measuring:", file=sys.stderr, flush=True)
    results, missing, failures = run(operations, args.repeat, args.min_time, progress=True)
    targets = evaluate_targets(results, missing)
    if not json_only:
        _print_tables(operations, results, missing, targets, args.markdown, sys.stdout)
    for failure in failures:
        print(
            f"FAILED CHECK: {failure['operation']} / {failure['contender']}: {failure['error']}",
            file=sys.stderr,
        )
    if args.json is not None:
        document = _document(info, settings, status, operations, results, targets, failures)
        if json_only:
            sys.stdout.write(W.to_json(document))
        else:
            with open(args.json, "w", encoding="utf-8") as handle:
                handle.write(W.to_json(document))
            print(f"\nsaved {args.json}")
    if failures:
        return 2
    if args.check and any(t["status"] != "PASS" for t in targets):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
