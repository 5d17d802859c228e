"""What the engine's threads buy: ``toxlink score`` with and without them.

    python benchmarks/threads.py            # 1,000,000 links, each variant twice, interleaved
    python benchmarks/threads.py 300000 3

Pass 1 reads the next chunk in a worker thread (``toxlink.engine.prefetched``) while the
caller finds the hosts of this one; pass 2 scores two chunks at once
(``toxlink.engine.in_order``, :data:`toxlink.engine.SCORING_THREADS`) while the caller writes
the one before. Without them, each pass runs in one thread (the libraries' own threads
aside). Each run is a fresh process on the
seeded export of ``benchmarks/score.py``; prints wall time, CPU time and peak RSS.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from score import OUT, ROOT, export_for  # noqa: E402

_RUN = r"""
import json, sys, time
t, c = time.perf_counter(), time.process_time()
from toxlink import engine
if sys.argv[3] == "serial":
    engine.prefetched = iter  # each pass in one thread
    engine.SCORING_THREADS = 1
from toxlink.cli import main
code = main(["score", sys.argv[1], "-o", sys.argv[2]])
with open("/proc/self/status") as fh:
    rss_kib = next(int(line.split()[1]) for line in fh if line.startswith("VmHWM"))
print(json.dumps({"code": code, "wall": time.perf_counter() - t, "cpu": time.process_time() - c, "rss_kib": rss_kib}))
"""


def main(argv: list[str]) -> None:
    n = int(argv[0]) if argv else 1_000_000
    repeat = int(argv[1]) if len(argv) > 1 else 2
    export = export_for(n)
    print(f"toxlink score, {n:,} links, with and without the engine's threads")
    results: dict[str, list[dict]] = {"threads": [], "serial": []}
    for _ in range(repeat):
        for variant in results:
            proc = subprocess.run([sys.executable, "-c", _RUN, str(export), str(OUT / f"threads-{variant}"), variant],
                                  cwd=ROOT, capture_output=True, text=True, check=True)
            r = json.loads(proc.stdout.strip().splitlines()[-1])
            results[variant].append(r)
            print(f"  {variant:<9} {r['wall']:6.1f} s wall  {r['cpu']:6.1f} s CPU  {r['rss_kib'] / 1024:5.0f} MiB", flush=True)
    best = {v: min(r["wall"] for r in rs) for v, rs in results.items()}
    print(f"best of {repeat}: threads {best['threads']:.1f} s, serial {best['serial']:.1f} s "
          f"({best['serial'] / best['threads']:.2f}x)")


if __name__ == "__main__":
    main(sys.argv[1:])
