"""Plot verify time against key length from ``scaling.py --json`` (needs matplotlib).

    python benchmarks/scaling.py --json docs/verify-vs-length.json
    python benchmarks/plot_scaling.py docs/verify-vs-length.json      # -> docs/verify-vs-length.png

Log-log axes: a straight line of slope 1 is linear growth, of slope 2 quadratic; the legend
gives each implementation's measured slope (over the longer half of the keys). The title says
where the numbers were measured.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import sys

DEFAULT_OUT = pathlib.Path(__file__).resolve().parent.parent / "docs" / "verify-vs-length.png"
STYLE = {  # contender -> (label, marker)
    "native": ("apikee native", "o"),
    "pure": ("apikee pure Python", "s"),
    "apikee-0.1.2": ("apikee 0.1.2", "^"),
}


def plot(data: dict, out: pathlib.Path) -> None:
    """Write the PNG for one scaling result document."""
    import matplotlib

    matplotlib.use("Agg")  # files only: no display needed (CI, servers)
    import matplotlib.pyplot as plt

    lengths = data["lengths"]
    chars = [row["key_chars"] for row in lengths["rows"]]
    fig, ax = plt.subplots(figsize=(8, 5), dpi=120)
    for contender in lengths["contenders"]:
        label, marker = STYLE.get(contender, (contender, "x"))
        times = [row["us_per_verify"][contender] for row in lengths["rows"]]
        slope = lengths["growth_exponent"][contender]
        ax.plot(chars, times, marker=marker, label=f"{label} (slope {slope:.2f})")
    # Guides through the first native point: what linear and quadratic growth would look like.
    first = lengths["rows"][0]
    anchor = min(first["us_per_verify"].values())
    for power, name, style in ((1, "linear", ":"), (2, "quadratic", "--")):
        ax.plot(
            chars,
            [anchor * (c / chars[0]) ** power for c in chars],
            linestyle=style,
            color="grey",
            linewidth=0.8,
            alpha=0.7,
            label=f"{name} growth (guide)",
        )
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("key length (characters)")
    ax.set_ylabel("verify time (µs, median)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    machine = data["machine"]
    ax.set_title(
        f"apikee verify time vs key length\n{machine['cpu']}, {machine['python']}",
        fontsize=10,
    )
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="plot verify time vs key length")
    parser.add_argument("results", type=pathlib.Path, help="JSON written by scaling.py --json")
    parser.add_argument(
        "--out",
        type=pathlib.Path,
        default=DEFAULT_OUT,
        help=f"PNG to write (default {DEFAULT_OUT})",
    )
    args = parser.parse_args(argv)
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        print("matplotlib is needed for the plot: pip install matplotlib", file=sys.stderr)
        return 2
    try:
        data = json.loads(args.results.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        print(f"cannot read {args.results}: {exc}", file=sys.stderr)
        return 2
    if "lengths" not in data:
        print(
            f"{args.results} has no length results (was scaling.py run with --skip-lengths?)",
            file=sys.stderr,
        )
        return 2
    plot(data, args.out)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
