#!/usr/bin/env python3
"""Committee sampling for docs/scaling.md: for N validators of which B are byzantine, a request's
committee is K validators drawn without replacement (as pallet-inference draws them) and needs
Q = ceil(2/3 K) agreeing results. Exact hypergeometric probabilities per request of
  - safety failure: at least Q byzantine members (they could finalize a wrong result),
  - liveness failure: fewer than Q honest members (the request expires and is refunded).
Usage: scripts/sim_committee.py [N ...]   (stdlib only)"""
from __future__ import annotations

import math
import sys


def hypergeom_tail(n: int, bad: int, k: int, at_least: int) -> float:
    """P(X >= at_least), X = byzantine members in a k-committee drawn from n with `bad` byzantine."""
    total = math.comb(n, k)
    return sum(math.comb(bad, x) * math.comb(n - bad, k - x) for x in range(at_least, min(k, bad) + 1)) / total


def main() -> None:
    sizes = [int(a) for a in sys.argv[1:]] or [100, 1000]
    print("| validators N | byzantine | committee K | quorum Q | P(safety failure) | P(liveness failure) |")
    print("|---|---|---|---|---|---|")
    for n in sizes:
        for frac in (0.10, 0.20, 1 / 3):
            bad = int(n * frac)
            for k in (16, 32, 64):
                if k > n:
                    continue
                q = math.ceil(2 * k / 3)
                safety = hypergeom_tail(n, bad, k, q)
                liveness = hypergeom_tail(n, bad, k, k - q + 1)
                print(f"| {n} | {bad} ({frac:.0%}) | {k} | {q} | {safety:.2e} | {liveness:.2e} |")


if __name__ == "__main__":
    main()
