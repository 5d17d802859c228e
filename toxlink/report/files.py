"""The report as a file: written atomically, or rebuilt from a ``toxlink score`` run folder."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from toxlink import schema as S
from toxlink.outputs import atomic_write
from toxlink.report.aggregates import ReportAccumulator
from toxlink.report.diff import DisavowDiff
from toxlink.report.render import build_report_from

#: The columns of links.csv the report reads.
_LINKS_COLUMNS = (S.SOURCE_URL, S.TARGET_URL, S.ANCHOR, S.FIRST_SEEN, S.HOST, S.DOMAIN, S.RISK, S.BAND, S.REASONS,
                  S.DUPLICATE_OF, S.ROW_ISSUE)


def write_report(path: str | os.PathLike, scored: pd.DataFrame, domains: pd.DataFrame, diff=None,
                 title: str | None = None, **kwargs) -> Path:
    """Build the report of a scored table and write it to *path* atomically (temp file
    beside it + ``os.replace``).

    Either the complete report is at *path* or the previous file is untouched.
    Keyword arguments go to :func:`build_report_from`. Returns the path written.
    """
    return write_report_from(ReportAccumulator().update(scored), path, domains, diff=diff, title=title, **kwargs)


def write_report_from(acc: ReportAccumulator, path: str | os.PathLike, domains: pd.DataFrame, diff=None,
                      title: str | None = None, **kwargs) -> Path:
    """Write the report of an accumulator to *path* atomically, as :func:`write_report` does.

    Keyword arguments go to :func:`build_report_from`. Returns the path written.
    """
    text = build_report_from(acc, domains, diff=diff, title=title, **kwargs)
    path = Path(path)
    with atomic_write(path, newline="\n") as fh:
        fh.write(text)
    return path


def report_from_dir(scored_dir: str | os.PathLike, output: str | os.PathLike | None = None, title: str | None = None,
                    *, chunksize: int = 200_000) -> Path:
    """Rebuild the report of a ``toxlink score`` run from its output folder.

    Reads ``links.csv`` (*chunksize* rows at a time, into a :class:`ReportAccumulator`) and
    ``domains.csv`` (and ``disavow-diff.csv`` and ``disavow.txt`` when present) and writes
    ``report.html`` there, or to *output*.
    """
    d = Path(scored_dir)
    for name in ("links.csv", "domains.csv"):
        if not (d / name).is_file():
            raise FileNotFoundError(2, f"no {name} here: is this the output folder of `toxlink score`?", str(d / name))
    # Streamed: the report only needs aggregates, so links.csv is never held whole.
    acc = ReportAccumulator()
    with pd.read_csv(d / "links.csv", usecols=lambda c: c in _LINKS_COLUMNS, dtype="string", keep_default_na=False,
                     na_values=[""], chunksize=chunksize) as reader:
        for scored in reader:
            scored[S.RISK] = pd.to_numeric(scored[S.RISK], errors="coerce")
            scored[S.FIRST_SEEN] = pd.to_datetime(scored[S.FIRST_SEEN], errors="coerce")
            scored[S.ANCHOR] = scored[S.ANCHOR].str.removeprefix("'")  # undo the spreadsheet neutralisation
            acc.update(scored)
    domains = pd.read_csv(d / "domains.csv", keep_default_na=False, na_values=[""])
    return write_report_from(acc, Path(output) if output else d / "report.html", domains,
                             diff=DisavowDiff.from_run(d), title=title)
