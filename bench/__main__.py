"""`python -m bench [name ...]`: run the named benchmarks (all when none is named)."""

from __future__ import annotations

import importlib
import sys

ORDER = ("ack", "repo_setup", "first_token", "overhead", "concurrency")


def main(names: list[str]) -> int:
    unknown = sorted(set(names) - set(ORDER))
    if unknown:
        print(f"unknown benchmark(s) {unknown}; choose from {list(ORDER)}", file=sys.stderr)
        return 2
    for name in [n for n in ORDER if n in names] or ORDER:
        print(f"== {name}", flush=True)
        importlib.import_module(f"bench.{name}").main()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
