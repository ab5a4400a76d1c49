"""``python -m gcstream``: the same as the ``gcstream`` command."""

import sys

from gcstream.cli import main

if __name__ == "__main__":
    sys.exit(main())
