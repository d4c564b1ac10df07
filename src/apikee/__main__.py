"""``python -m apikee``: the command line (a short demo when run without arguments)."""

import sys

from ._cli import main

if __name__ == "__main__":
    sys.exit(main())
