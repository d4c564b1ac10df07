"""The README's Python examples, extracted verbatim, for the tests and for the type check.

``python tests/readme_examples.py DIR`` writes each checked example to ``DIR/<name>.py`` (the
file name its first comment gives, e.g. ``# main.py``, or one made from its section), so that
``.ci/run`` can run ``mypy --strict DIR`` on exactly what a reader copies. ``tests/test_readme.py``
imports and runs the same files.
"""

from __future__ import annotations

import pathlib
import re
import sys

README = pathlib.Path(__file__).resolve().parent.parent / "README.md"

#: The sections whose ```python blocks are complete programs, checked and run.
CHECKED_SECTIONS = (
    "Quickstart",
    "Revoking keys",
    "Rate limits and IP allow lists",
    "Usage and metrics",
    "FastAPI",
    "Starlette (or any ASGI app)",
    "Flask",
)

_BLOCK = re.compile(r"^```python\n(.*?)^```", re.DOTALL | re.MULTILINE)
_HEADING = re.compile(r"^(#{2,4}) (.+)$", re.MULTILINE)
_FILE_COMMENT = re.compile(r"^# (\w+)\.py\b")


def examples(text: str | None = None) -> dict[str, str]:
    """``{module name: source}`` of every python block in the checked sections, in order."""
    text = README.read_text(encoding="utf-8") if text is None else text
    headings = [(m.start(), m.group(2).strip()) for m in _HEADING.finditer(text)]
    found: dict[str, str] = {}
    for match in _BLOCK.finditer(text):
        section = ""
        for position, title in headings:
            if position < match.start():
                section = title
        if section not in CHECKED_SECTIONS:
            continue
        source = match.group(1)
        named = _FILE_COMMENT.match(source)
        slug = re.sub(r"\W+", "_", section.lower()).strip("_")
        base = f"readme_{slug}_{named.group(1)}" if named else f"readme_{slug}"
        name, count = base, 1
        while name in found:
            count += 1
            name = f"{base}_{count}"
        found[name] = source
    return found


def write(directory: pathlib.Path) -> list[pathlib.Path]:
    """Write every example to ``directory`` as a module; returns the paths."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, source in examples().items():
        path = directory / f"{name}.py"
        path.write_text(source, encoding="utf-8")
        paths.append(path)
    return paths


if __name__ == "__main__":
    for written in write(pathlib.Path(sys.argv[1])):
        print(written)
