"""Throughput of toxlink.features.compute on synthetic links (all seven families).

Usage: ``python benchmarks/features.py [N] [--profile]`` (default N = 1,000,000). The links
come from ``benchmarks/synth.py`` (``synth_links(N, seed=0)``); generating them is not
timed. Prints links/s of ``compute(links)`` (profile features from the table itself) and
the process's peak RSS (which includes the synthetic table itself). ``--profile`` adds a
cProfile top-25 by cumulative time.
"""

from __future__ import annotations

import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from synth import synth_links  # noqa: E402

from toxlink.features import compute, feature_names  # noqa: E402


def main(argv: list[str]) -> None:
    args = [a for a in argv if not a.startswith("--")]
    n = int(args[0]) if args else 1_000_000
    links = synth_links(n, seed=0)
    compute(links.head(1000))  # warm-up: loads word lists, compiles patterns
    if "--profile" in argv:
        import cProfile
        import pstats

        prof = cProfile.Profile()
        prof.enable()
    c0, t0 = time.process_time(), time.perf_counter()
    X = compute(links)
    dt, cpu = time.perf_counter() - t0, time.process_time() - c0
    if "--profile" in argv:
        prof.disable()
        pstats.Stats(prof).sort_stats("cumulative").print_stats(25)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB
    print(f"links: {n:,}  features: {len(feature_names())}  shape: {X.shape}")
    print(f"compute: {dt:.2f} s wall  ->  {n / dt:,.0f} links/s   (CPU {cpu:.2f} s -> {n / cpu:,.0f} links/CPU-s)")
    print(f"peak RSS: {peak_mb:,.0f} MB")


if __name__ == "__main__":
    main(sys.argv[1:])
