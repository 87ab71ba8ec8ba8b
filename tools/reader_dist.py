"""Keep the standalone reader distribution (reader/python) made from usagectl's reader.

    python tools/reader_dist.py --write    # copy usagectl/consent.py to reader/python/usage_consent.py
    python tools/reader_dist.py --check    # exit 1 when the copy differs

The `usage-consent` distribution ships one module, ``usage_consent``, which is
usagectl/consent.py byte for byte: frameworks depend on it (or vendor the file) and
usagectl imports the same code as ``usagectl.consent``. A copy, not a symlink, so that
the sdist and a vendored file are ordinary files; tests/test_reader_dist.py fails when
the copy is stale.
"""

import argparse
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SOURCE = os.path.join(ROOT, "usagectl", "consent.py")
COPY = os.path.join(ROOT, "reader", "python", "usage_consent.py")


def stale():
    with open(SOURCE, "rb") as handle:
        source = handle.read()
    try:
        with open(COPY, "rb") as handle:
            return handle.read() != source
    except FileNotFoundError:
        return True


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when the copy is stale")
    parser.add_argument("--write", action="store_true", help="refresh the copy (the default)")
    args = parser.parse_args(argv)
    if args.check:
        if stale():
            print("%s differs from %s: run python tools/reader_dist.py --write"
                  % (os.path.relpath(COPY, ROOT), os.path.relpath(SOURCE, ROOT)), file=sys.stderr)
            return 1
        return 0
    with open(SOURCE, "rb") as handle:
        data = handle.read()
    with open(COPY, "wb") as handle:
        handle.write(data)
    return 0


if __name__ == "__main__":
    sys.exit(main())
