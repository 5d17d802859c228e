"""The report's per-chunk cost: ``ReportAccumulator.update`` over 1M synthetic scored links.

``toxlink score --report`` feeds every scored chunk of an export to the report's
accumulator, so its ``update`` is paid once per link. This times that loop alone, on
``synth_scored`` links from benchmarks/synth.py (seed 0: fake risk, band and reasons, ~5%
duplicates, ~3% rejected rows), cut into chunks as ``toxlink score`` cuts them.

    python benchmarks/report_update.py                                   # this checkout
    python benchmarks/report_update.py --baseline /work/baseline/.venv/bin/python

With ``--baseline`` the same loop also runs under that interpreter (another checkout's
toxlink, e.g. today's code), in its own process, and both are printed side by side. Each
run is a fresh process; the table is built before the clock starts, and the loop over its
chunks runs ``--repeat`` times (the fastest is shown: the machine is shared and noisy).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

# Run in a child process so each interpreter imports its own toxlink.
_CHILD = r"""
import json, resource, sys, time
sys.path.insert(0, sys.argv[1])
from synth import synth_scored
from toxlink.report import ReportAccumulator

n, chunksize = int(sys.argv[2]), int(sys.argv[3])
f = synth_scored(n, seed=0)
chunks = [f.iloc[i:i + chunksize] for i in range(0, n, chunksize)]
ReportAccumulator().update(chunks[0].iloc[:100])  # imports and word lists loaded before the clock starts
runs = []
for _ in range(int(sys.argv[4])):
    acc = ReportAccumulator()
    t, cpu = time.perf_counter(), time.process_time()
    for c in chunks:
        acc.update(c)
    runs.append((time.perf_counter() - t, time.process_time() - cpu))
print(json.dumps({"seconds": min(w for w, _ in runs), "cpu": min(c for _, c in runs), "n_counted": acc.n_counted,
                  "rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
"""


def run(python: str, n: int, chunksize: int, repeat: int) -> dict:
    proc = subprocess.run([python, "-c", _CHILD, str(HERE), str(n), str(chunksize), str(repeat)],
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"{python} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("n", nargs="?", type=int, default=1_000_000, help="links (default 1M)")
    ap.add_argument("--chunksize", type=int, default=100_000, help="rows per update (toxlink score's default)")
    ap.add_argument("--repeat", type=int, default=3, help="loops over the same chunks; the fastest is shown")
    ap.add_argument("--baseline", help="python of another checkout to time side by side (e.g. today's code)")
    args = ap.parse_args(argv)

    runs = [("this checkout", sys.executable)] + ([("baseline", args.baseline)] if args.baseline else [])
    results = {name: run(python, args.n, args.chunksize, args.repeat) for name, python in runs}
    counted = {r["n_counted"] for r in results.values()}
    if len(counted) != 1:
        raise SystemExit(f"the runs counted different links: {results}")
    print(f"ReportAccumulator.update over {args.n:,} links in chunks of {args.chunksize:,} "
          f"(fastest of {args.repeat} loops):")
    for name, r in results.items():
        print(f"  {name:<14} {r['seconds']:6.2f} s wall, {r['cpu']:6.2f} s CPU  ({args.n / r['seconds']:,.0f} links/s); "
              f"peak RSS of the process {r['rss_kib'] / 1024:,.0f} MiB (table included)")


if __name__ == "__main__":
    main()
