"""End-to-end scoring benchmark: ``toxlink score`` on seeded Ahrefs-style exports.

Generates exports of 100k and 1M links (UTF-16 LE, tab-separated, as Ahrefs writes them;
benchmarks/synth.py, seed 0) into benchmarks/out/ (git-ignored), then runs
``toxlink score EXPORT -o OUT --timings`` in a fresh process per size and prints links/s,
peak RSS of that process, and the seconds per stage (stages of the reader, hosts and
scoring threads overlap with the main thread's, so their shares of the wall time add up to
more than 100%).

    python benchmarks/score.py                      # 100k and 1M, scoring in one process
    python benchmarks/score.py 1000000 --workers 2  # pass 2 on 2 worker processes

Targets (issue 6, on a 2-core machine): >= 100k links/s at 1M links end to end, peak RSS
<= 1 GiB, and RSS at 1M within 1.2x of RSS at 100k.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"

_RUN = r"""
import json, resource, sys, time
from toxlink.cli import main
t = time.perf_counter()
code = main(["score", sys.argv[1], "-o", sys.argv[2], "--timings", sys.argv[3], "--workers", sys.argv[4]])
wall = time.perf_counter() - t
print(json.dumps({"code": code, "wall": wall, "rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                  "worker_rss_kib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}))
"""


def export_for(n: int) -> Path:
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"score-ahrefs-{n}-seed0.csv"
    if not path.exists():
        sys.path.insert(0, str(HERE))
        from synth import synth_links, write_ahrefs_export

        tmp = path.with_suffix(".tmp")
        write_ahrefs_export(synth_links(n, seed=0), tmp)
        os.replace(tmp, path)
    return path


def run(n: int, workers: int = 1) -> dict:
    export = export_for(n)
    out_dir = OUT / f"score-{n}"
    timings = OUT / f"score-{n}-timings.json"
    # A fresh process per size: ru_maxrss is per process, and generation must not count.
    proc = subprocess.run([sys.executable, "-c", _RUN, str(export), str(out_dir), str(timings), str(workers)],
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"toxlink score failed on {export}:\n{proc.stderr}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    if result["code"] != 0:
        raise SystemExit(f"toxlink score exited {result['code']} on {export}:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    result["stages"] = json.loads(timings.read_text())
    result["n"] = n
    return result


def report(r: dict, workers: int) -> None:
    n = r["n"]
    rss = r["rss_kib"] / 1024
    extra = f", largest worker {r['worker_rss_kib'] / 1024:,.0f} MiB" if workers > 1 else ""
    print(f"\n{n:>9,} links, {workers} worker(s): {r['wall']:.1f} s  ->  {n / r['wall']:,.0f} links/s,  "
          f"peak RSS {rss:,.0f} MiB{extra}")
    # Stages marked "(... thread)" run beside the main thread's, so
    # their seconds overlap: shares are of the wall time and may add up to more than 100%.
    for stage, sec in r["stages"].items():
        share = f"{sec / r['wall']:6.1%}" if not stage.endswith("(workers)") else "  (CPU in workers)"
        print(f"    {stage:<52} {sec:7.2f} s  {share}")


def main(argv: list[str]) -> None:
    workers = int(argv[argv.index("--workers") + 1]) if "--workers" in argv else 1
    sizes = [int(x) for i, x in enumerate(argv) if x.isdigit() and (i == 0 or argv[i - 1] != "--workers")]
    print(f"toxlink score benchmark on {os.cpu_count()} cores")
    results = []
    for n in sizes or [100_000, 1_000_000]:
        r = run(n, workers)
        results.append(r)
        report(r, workers)
    if len(results) >= 2:
        a, b = results[0], results[-1]
        print(f"\nRSS at {b['n']:,} / RSS at {a['n']:,}: {b['rss_kib'] / a['rss_kib']:.2f}x")


if __name__ == "__main__":
    main(sys.argv[1:])
