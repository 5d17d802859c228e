"""Roll-up benchmark: ``RollupAccumulator`` over a scored 1M-link export, in its own process.

Scores the seeded 1M-link Ahrefs-style export of benchmarks/score.py once (``toxlink score``,
kept in benchmarks/out/, git-ignored), keeps the columns the roll-up reads in a Parquet file
of 100k-row groups, then, in a fresh process per run, feeds the row groups one at a time to
``toxlink.policy.RollupAccumulator`` (``update`` per chunk, then ``finish``) and prints the
seconds of the updates and of ``finish``, the sites, and the process's peak RSS over what
it held before the first chunk.

    python benchmarks/rollup.py                                    # this checkout's toxlink
    python benchmarks/rollup.py --python /work/baseline/.venv/bin/python  # another one's

The run with another interpreter measures the toxlink that interpreter imports (e.g. the
code before the roll-up was rewritten on pyarrow's group_by) on the same chunks.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"
N = 1_000_000
COLUMNS = ["source_url", "host", "domain", "risk", "band", "reasons", "duplicate_of", "row_issue"]

_RUN = r"""
import itertools, json, resource, sys, time
import pyarrow.parquet as pq
from toxlink.policy import Policy, RollupAccumulator

def rss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

source = pq.ParquetFile(sys.argv[1])
chunks = (source.read_row_group(i).to_pandas() for i in range(source.num_row_groups))
acc = RollupAccumulator(Policy())
first = next(chunks)
before = rss_mib()
updates = 0.0
for chunk in itertools.chain([first], chunks):  # reading the chunks is not timed
    t = time.perf_counter()
    acc.update(chunk)
    updates += time.perf_counter() - t
t = time.perf_counter()
domains = acc.finish()
finish = time.perf_counter() - t
print(json.dumps({"updates_s": updates, "finish_s": finish, "sites": len(domains),
                  "peak_rss_mib": rss_mib(), "rss_before_mib": before}))
"""


def scored_parquet() -> Path:
    """The 1M-link export scored by this checkout's ``toxlink score``, the roll-up's columns only."""
    path = OUT / f"rollup-scored-{N}.parquet"
    if path.exists():
        return path
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    sys.path.insert(0, str(HERE))
    from score import export_for

    out_dir = OUT / f"rollup-score-{N}"
    subprocess.run([sys.executable, "-m", "toxlink.cli", "score", str(export_for(N)), "-o", str(out_dir)], check=True,
                   stdout=subprocess.DEVNULL)
    types = {c: pa.string() for c in COLUMNS if c != "risk"}
    table = pacsv.read_csv(out_dir / "links.csv", convert_options=pacsv.ConvertOptions(
        include_columns=COLUMNS, column_types=types, strings_can_be_null=True))
    pq.write_table(table, path, row_group_size=100_000)
    return path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--python", default=sys.executable, help="interpreter whose toxlink is measured")
    args = ap.parse_args()
    source = scored_parquet()
    # run outside the checkout, so that the interpreter imports its own toxlink
    proc = subprocess.run([args.python, "-c", _RUN, str(source)], capture_output=True, text=True, check=False, cwd=OUT)
    if proc.returncode != 0:
        raise SystemExit(proc.stderr)
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    print(f"{args.python}: updates {result['updates_s']:.2f} s, finish {result['finish_s']:.2f} s, "
          f"{result['sites']:,} sites, peak RSS {result['peak_rss_mib']:.0f} MiB "
          f"({result['peak_rss_mib'] - result['rss_before_mib']:.0f} MiB over the first chunk's)")


if __name__ == "__main__":
    main()
