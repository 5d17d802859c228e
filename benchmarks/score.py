"""End-to-end scoring benchmark: today's ``toxlink score`` and this checkout's, side by side.

    python benchmarks/score.py --baseline /work/baseline            # 100k, 300k and 1M links
    python benchmarks/score.py --baseline /work/baseline 300000     # one size

Generates seeded Ahrefs-style exports (``benchmarks/synth.py``, seed 0; UTF-16 LE,
tab-separated, as Ahrefs writes them) into ``benchmarks/out/`` (git-ignored), the 300k one
also as a UTF-8 CSV. For each size it runs ``toxlink score EXPORT -o OUT --timings`` of the
baseline checkout (a checkout with its own ``.venv``) and of this one, each in a fresh
process in its own checkout, and prints wall time, links/s and the process's peak RSS for
both, and the seconds per stage of this checkout (stages in the two threads of a pass
overlap, so they add up to more than the wall time). For the 300k UTF-8 CSV it also times a
bare ``pandas.read_csv`` of the file in a fresh process.

Then it checks that both runs' outputs hold the same content: ``links.csv``, ``domains.csv``,
``disavow-diff.csv`` (same rows and values once parsed: the CSV writer may quote and
format differently), ``disavow.txt``, ``disavow-new.txt`` and ``disavow-overflow.txt``
(same lines, but for the date in toxlink's header). A difference is printed loudly and makes
the exit code 1.

Targets (issue 14, on this 2-core machine): 1M links no slower than the baseline and peak
RSS <= 1 GiB; the 300k-link UTF-8 CSV scored in at most 6x the time ``pandas.read_csv`` takes.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
OUT = HERE / "out"
SIZES = (100_000, 300_000, 1_000_000)
TEXT_OUTPUTS = ("disavow.txt", "disavow-new.txt", "disavow-overflow.txt")
CSV_OUTPUTS = ("links.csv", "domains.csv", "disavow-diff.csv")

# Peak RSS from VmHWM: ru_maxrss would include the benchmark process' own peak, which Linux
# hands down to a child at fork and keeps across exec.
_RUN = r"""
import json, sys, time
t = time.perf_counter()
from toxlink.cli import main
code = main(["score", sys.argv[1], "-o", sys.argv[2], "--timings", sys.argv[3]])
wall = time.perf_counter() - t
with open("/proc/self/status") as fh:
    rss_kib = next(int(line.split()[1]) for line in fh if line.startswith("VmHWM"))
print(json.dumps({"code": code, "wall": wall, "rss_kib": rss_kib}))
"""

_READ_CSV = r"""
import json, sys, time
import pandas as pd
t = time.perf_counter()
frame = pd.read_csv(sys.argv[1])
print(json.dumps({"wall": time.perf_counter() - t, "rows": len(frame)}))
"""


def export_for(n: int, encoding: str = "utf-16") -> Path:
    """The seeded export of *n* links (written once, then reused)."""
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / (f"score-ahrefs-{n}-seed0.csv" if encoding == "utf-16" else f"score-ahrefs-{n}-seed0-{encoding}.csv")
    if not path.exists():
        sys.path.insert(0, str(HERE))
        from synth import synth_links, write_ahrefs_export

        tmp = path.with_suffix(".tmp")
        write_ahrefs_export(synth_links(n, seed=0), tmp, encoding=encoding)
        os.replace(tmp, path)
    return path


def _json_line(proc: subprocess.CompletedProcess, what: str) -> dict:
    if proc.returncode != 0:
        raise SystemExit(f"{what} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def run(checkout: Path, python: Path, export: Path, name: str) -> dict:
    """``toxlink score`` of *checkout* on *export* in a fresh process (cwd: the checkout, so
    that its own ``toxlink`` package is the one imported)."""
    out_dir, timings = OUT / name, OUT / f"{name}-timings.json"
    proc = subprocess.run([str(python), "-c", _RUN, str(export), str(out_dir), str(timings)], cwd=checkout,
                          capture_output=True, text=True, check=False)
    result = _json_line(proc, f"toxlink score ({checkout}) on {export}")
    if result["code"] != 0:
        raise SystemExit(f"toxlink score ({checkout}) exited {result['code']} on {export}:\n{proc.stdout[-3000:]}")
    return {**result, "out": out_dir, "stages": json.loads(timings.read_text())}


def same_content(a: Path, b: Path) -> list[str]:
    """The outputs whose content differs between the run folders *a* and *b*."""
    import pandas as pd

    differ = []
    for name in TEXT_OUTPUTS + CSV_OUTPUTS:
        fa, fb = a / name, b / name
        if fa.exists() != fb.exists():
            differ.append(f"{name}: only in {fa.parent if fa.exists() else fb.parent}")
        elif not fa.exists() or fa.read_bytes() == fb.read_bytes():
            continue
        elif name in TEXT_OUTPUTS:
            undated = lambda f: re.sub(rb"^# toxlink \d{4}-\d{2}-\d{2}", b"# toxlink", f.read_bytes(), flags=re.M)  # noqa: E731
            if undated(fa) != undated(fb):  # the runs may straddle midnight
                differ.append(f"{name}: lines differ")
        else:
            read = lambda f: pd.read_csv(f, keep_default_na=False, na_values=[""], low_memory=False)  # noqa: E731
            try:
                pd.testing.assert_frame_equal(read(fa), read(fb), check_dtype=False)
            except AssertionError as exc:
                differ.append(f"{name}: {str(exc).splitlines()[0]}")
    return differ


def main(argv: list[str]) -> int:
    if "--baseline" not in argv:
        raise SystemExit(__doc__)
    baseline = Path(argv[argv.index("--baseline") + 1]).resolve()
    sizes = [int(x) for x in argv if x.isdigit()] or list(SIZES)
    python_old, python_new = baseline / ".venv" / "bin" / "python", Path(sys.executable)
    print(f"toxlink score, baseline {baseline} vs {ROOT}, on {os.cpu_count()} cores")
    failures = []
    exports = [(n, export_for(n)) for n in sizes]
    if 300_000 in sizes:
        exports.append((300_000, export_for(300_000, "utf-8")))
    rows = []
    for n, export in exports:
        tag = f"{n}" + ("-utf8" if "utf-8" in export.name else "")
        old = run(baseline, python_old, export, f"score-{tag}-baseline")
        new = run(ROOT, python_new, export, f"score-{tag}-new")
        rows.append((tag, n, old, new))
        differ = same_content(old["out"], new["out"])
        if differ:
            failures.append(f"{tag}: " + "; ".join(differ))
        print(f"\n{tag:>13} links   {'wall':>7} {'links/s':>9} {'peak RSS':>9}")
        for label, r in (("baseline", old), ("new", new)):
            print(f"{label:>19} {r['wall']:6.1f}s {n / r['wall']:9,.0f} {r['rss_kib'] / 1024:6,.0f} MiB")
        print(f"{'outputs':>19} " + ("same content" if not differ else "!!! DIFFERENT: " + "; ".join(differ)))
        print("    new code's stages (s):")
        for stage, sec in new["stages"].items():
            print(f"      {stage:<44} {sec:7.2f}")
    csv_runs = [r for r in rows if r[0].endswith("-utf8")]
    if csv_runs:
        tag, n, old, new = csv_runs[0]
        export = export_for(n, "utf-8")
        bare = _json_line(subprocess.run([str(python_new), "-c", _READ_CSV, str(export)], capture_output=True,
                                         text=True, check=False), "pandas.read_csv")
        print(f"\n{n:,}-link UTF-8 CSV: pandas.read_csv {bare['wall']:.2f} s; toxlink score: baseline "
              f"{old['wall']:.2f} s ({old['wall'] / bare['wall']:.1f}x), new {new['wall']:.2f} s "
              f"({new['wall'] / bare['wall']:.1f}x; target <= 6x)")
    print("\nsummary:", "outputs identical in content" if not failures else "!!! OUTPUTS DIFFER !!!")
    for f in failures:
        print("  !!!", f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
