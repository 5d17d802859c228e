"""The Dask engine shares one large export among its workers: ``toxlink score --engine dask``
of one 1M-link file on a 2-worker local cluster.

    python benchmarks/dask_score.py            # 1,000,000 links
    python benchmarks/dask_score.py 300000

Uses the seeded export of ``benchmarks/score.py``. Starts a LocalCluster of 2 single-threaded
worker processes, scores the file with :func:`toxlink.scale.score_exports_dask` and prints
the wall time of each stage on the client, then each task: its worker, rows, when it ran
and its wall and CPU seconds. Both workers busy means two tasks of about the same rows whose
times overlap and whose CPU is close to their wall time. It also runs the embedded engine on
the same file and checks the outputs are the same bytes.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from score import OUT, export_for  # noqa: E402

OUTPUTS = ("links.csv", "domains.csv", "disavow.txt", "disavow-new.txt", "disavow-diff.csv")


def main(argv: list[str]) -> int:
    from dask.distributed import Client, LocalCluster

    from toxlink.engine import score_exports
    from toxlink.scale import score_exports_dask

    n = int(argv[0]) if argv else 1_000_000
    export = export_for(n)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        client.wait_for_workers(2, timeout=120)
        t = time.perf_counter()
        summary = score_exports_dask([export], OUT / f"dask-{n}", client=client)
        wall = time.perf_counter() - t
    print(f"toxlink score --engine dask, {n:,} links in one file, 2-worker LocalCluster: {wall:.1f} s "
          f"({n / wall:,.0f} links/s)")
    for stage, sec in summary.stage_seconds.items():
        if not stage.startswith("workers: "):
            print(f"    {stage:<44} {sec:7.2f} s")
    t0 = min(task["started"] for task in summary.tasks)
    print("  tasks (pass 2):")
    for task in summary.tasks:
        start = task["started"] - t0
        print(f"    {task['worker']:<24} batches {task['batches'][0]:>3}-{task['batches'][1]:<3} "
              f"{task['rows']:>9,} rows  ran {start:5.1f}-{start + task['seconds']:5.1f} s  "
              f"wall {task['seconds']:6.1f} s  CPU {task['cpu_seconds']:6.1f} s")
    busy = len({task["worker"] for task in summary.tasks}) == 2
    ends = sorted(task["started"] + task["seconds"] for task in summary.tasks)
    overlap = min(ends) - max(task["started"] for task in summary.tasks)
    print(f"  both workers busy: {'yes' if busy and overlap > 0 else 'NO'} (tasks overlap for {overlap:.1f} s)")

    t = time.perf_counter()
    score_exports([export], OUT / f"dask-{n}-embedded")
    print(f"embedded engine on the same file: {time.perf_counter() - t:.1f} s")
    differ = [name for name in OUTPUTS
              if (OUT / f"dask-{n}" / name).read_bytes() != (OUT / f"dask-{n}-embedded" / name).read_bytes()]
    print("outputs: " + ("the same bytes as the embedded engine's" if not differ else f"!!! DIFFERENT: {differ}"))
    return 1 if differ or not busy else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
