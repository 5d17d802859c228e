"""Benchmark the streamed export reader on a synthetic Ahrefs export.

Writes a seeded N-row Ahrefs-style export (UTF-16 LE + BOM, tab-separated, see
``benchmarks/synth.py``) into ``benchmarks/out/`` (git-ignored), then reads it with
``toxlink.exports.iter_export`` in a *separate process*, so that generating the file does not
count towards the reader's peak memory. Prints rows/s and the reader process' peak RSS.

Usage::

    python benchmarks/read_exports.py              # 1,000,000 rows
    python benchmarks/read_exports.py --rows 100000 --chunksize 100000
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))


def _read(path: str, chunksize: int) -> None:
    """Child process: stream the file, print one JSON line of measurements."""
    import resource

    from toxlink.exports import iter_export

    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    rows = flagged = dups = chunks = 0
    for chunk in iter_export(path, chunksize=chunksize):
        rows += len(chunk)
        flagged += int(chunk["row_issue"].notna().sum())
        dups += int(chunk["duplicate_of"].notna().sum())
        chunks += 1
    seconds = time.perf_counter() - start
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    print(json.dumps({"rows": rows, "seconds": seconds, "chunks": chunks, "flagged": flagged,
                      "duplicates": dups, "peak_rss_mib": peak_kib / 1024,
                      "rss_after_imports_mib": rss_before / 1024}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--chunksize", type=int, default=100_000)
    ap.add_argument("--read", help=argparse.SUPPRESS)  # child mode
    args = ap.parse_args()
    if args.read:
        _read(args.read, args.chunksize)
        return

    out = HERE / "out"
    out.mkdir(exist_ok=True)
    path = out / f"ahrefs-{args.rows}-seed{args.seed}.csv"
    if not path.exists():
        # Generated in its own process too: Linux carries ru_maxrss over fork + exec, so this
        # parent must stay small for the reader's figure to be its own.
        t = time.perf_counter()
        code = ("import sys; sys.path.insert(0, sys.argv[1]); from synth import synth_links, write_ahrefs_export; "
                "write_ahrefs_export(synth_links(int(sys.argv[2]), seed=int(sys.argv[3])), sys.argv[4])")
        subprocess.run([sys.executable, "-c", code, str(HERE), str(args.rows), str(args.seed), str(path)], check=True)
        print(f"generated {path.name} ({path.stat().st_size / 2**20:.0f} MiB) in {time.perf_counter() - t:.1f} s")
    size_mib = path.stat().st_size / 2**20
    proc = subprocess.run([sys.executable, __file__, "--read", str(path), "--chunksize", str(args.chunksize)],
                          capture_output=True, text=True, check=True)
    r = json.loads(proc.stdout.strip().splitlines()[-1])
    print(f"file      {path} ({size_mib:.0f} MiB, UTF-16 LE, tab-separated)")
    print(f"rows      {r['rows']:,} in {r['chunks']} chunks of <= {args.chunksize:,} "
          f"({r['flagged']:,} flagged, {r['duplicates']:,} duplicates)")
    print(f"time      {r['seconds']:.2f} s -> {r['rows'] / r['seconds']:,.0f} rows/s "
          f"({size_mib / r['seconds']:.0f} MiB/s)")
    print(f"peak RSS  {r['peak_rss_mib']:.0f} MiB for the reading process "
          f"({r['rss_after_imports_mib']:.0f} MiB after imports)")


if __name__ == "__main__":
    main()
