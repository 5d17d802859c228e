"""The report as a file: written atomically, or rebuilt from a ``toxlink score`` run folder."""

from __future__ import annotations

import csv
import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from toxlink import schema as S
from toxlink.outputs import atomic_write
from toxlink.report.aggregates import REPORT_COLUMNS, ReportAccumulator
from toxlink.report.diff import DisavowDiff
from toxlink.report.branding import Branding
from toxlink.report.method import RUN_INFO, read_run_branding, read_run_info
from toxlink.report.render import build_report_from
#: Bytes of CSV parsed at a time (tens of thousands of links.csv rows).
_BLOCK_BYTES = 16 << 20


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
                    *, chunksize: int = 200_000, changes_html: str = "", branding=None) -> Path:
    """Rebuild the report of a ``toxlink score`` run from its output folder.

    Reads ``links.csv`` (at most *chunksize* rows at a time, into a
    :class:`ReportAccumulator`) and ``domains.csv`` (and ``disavow-diff.csv``,
    ``disavow.txt`` and ``run-info.json``, the model's facts, when present) and writes
    ``report.html`` there, or to *output*. *changes_html* is the "Changes since the
    previous audit" section, when there is one
    (:func:`toxlink.report.changes.previous_audit_section`); *branding*
    (:class:`~toxlink.report.branding.Branding`) puts a client's name and logo on it; what
    it leaves out (``None``: all of it) is taken from the run's ``run-info.json``, where
    ``toxlink score`` saved the branding of its own report.
    """
    d = Path(scored_dir)
    check_run_files(d, {"links.csv": (S.RISK, S.BAND), "domains.csv": (S.DOMAIN, S.ACTION)})
    try:
        return _report_from_files(d, output, title, chunksize, changes_html, branding)
    except (pa.ArrowInvalid, UnicodeDecodeError) as e:
        raise ReportError(f"{d}: a CSV file of the run cannot be read ({e})") from None


class ReportError(ValueError):
    """The files of a run cannot make a report; ``str()`` names the file."""


def check_run_files(d: Path, needed: Mapping[str, Sequence[str]]) -> None:
    """Check that the folder *d* holds the files of a ``toxlink score`` run that a reader needs.

    *needed* maps a file name (``links.csv``) to the columns its header must have. Raises
    :class:`FileNotFoundError` (the folder or a file is missing) or :class:`ReportError`
    (not a CSV file, or not the one toxlink writes), each naming the path, before anything
    is read: a user who gave the wrong folder hears so at once.
    """
    if not d.is_dir():
        raise FileNotFoundError(2, "no such folder: give the output folder of `toxlink score`", str(d))
    for name, columns in needed.items():
        if not (d / name).is_file():
            raise FileNotFoundError(2, f"no {name} here: is this the output folder of `toxlink score`?", str(d / name))
        try:
            with open(d / name, newline="", encoding="utf-8-sig") as fh:
                header = next(csv.reader(fh), [])
        except (UnicodeDecodeError, csv.Error) as e:
            raise ReportError(f"{d / name}: not a CSV file written by toxlink score ({e})") from None
        missing = [c for c in columns if c not in header]
        if missing:
            raise ReportError(f"{d / name}, line 1: not the {name} of toxlink score (no {', '.join(missing)} column)")


def _report_from_files(d: Path, output, title, chunksize: int, changes_html: str, branding) -> Path:
    # Streamed: the report only needs aggregates, so links.csv is never held whole.
    acc = ReportAccumulator()
    for scored in read_text_csv(d / "links.csv", REPORT_COLUMNS, chunksize=chunksize):
        scored[S.RISK] = pd.to_numeric(scored[S.RISK], errors="coerce")
        scored[S.FIRST_SEEN] = pd.to_datetime(scored[S.FIRST_SEEN], errors="coerce")
        scored[S.ANCHOR] = scored[S.ANCHOR].str.removeprefix("'")  # undo the spreadsheet neutralisation
        acc.update(scored)
    domains = pd.concat(read_text_csv(d / "domains.csv"))
    if S.DISAVOW_ENTRIES in domains.columns:  # a list cell is written as its items, "; "-joined
        entries = domains[S.DISAVOW_ENTRIES].fillna("")
        domains[S.DISAVOW_ENTRIES] = [v.split(S.LIST_SEPARATOR) if v else [] for v in entries.tolist()]
    return write_report_from(acc, Path(output) if output else d / "report.html", domains, diff=_diff_of_run(d),
                             title=title, changes_html=changes_html, model=read_run_info(d / RUN_INFO),
                             branding=(branding or Branding()).with_defaults(read_run_branding(d / RUN_INFO)))


def read_text_csv(path: Path, columns: Sequence[str] | None = None, *,
                   chunksize: int | None = None) -> Iterator[pd.DataFrame]:
    """The cells of a CSV file written by toxlink, as text, at most *chunksize* rows at a time.

    Only *columns* (those the file has; all by default) are read, as pandas ``string``
    columns. ``pyarrow.csv`` tells the two empty cells toxlink writes apart: ``""`` is an
    empty string (an image link's empty anchor), an unquoted empty cell is missing (an
    export without anchors). Nothing is typed by guessing: the caller converts numbers.
    """
    with open(path, newline="", encoding="utf-8-sig") as fh:
        header = next(csv.reader(fh), [])
    names = [c for c in header if columns is None or c in columns]
    reader = pacsv.open_csv(
        path,
        read_options=pacsv.ReadOptions(block_size=_BLOCK_BYTES),
        parse_options=pacsv.ParseOptions(newlines_in_values=True),
        convert_options=pacsv.ConvertOptions(
            include_columns=names, column_types={c: pa.large_string() for c in names},
            strings_can_be_null=True, quoted_strings_can_be_null=False),
    )
    empty = True
    for batch in reader:
        for start in range(0, batch.num_rows, chunksize or max(batch.num_rows, 1)):
            empty = False
            yield batch.slice(start, chunksize).to_pandas(types_mapper=_text_dtype)
    if empty:  # a header and no rows
        yield pd.DataFrame({c: pd.Series(dtype="string") for c in names})


def _text_dtype(arrow_type: pa.DataType):
    return pd.StringDtype("pyarrow") if pa.types.is_large_string(arrow_type) else None


def _diff_of_run(d: Path) -> DisavowDiff | None:
    """The disavow diff of a run, from its ``disavow-diff.csv`` (entries and their status)
    and merged ``disavow.txt`` (the existing file's size), or ``None`` when the run compared
    no disavow file."""
    from toxlink.disavow import ADDED, ALREADY_PRESENT, WHITELISTED

    if not (d / "disavow-diff.csv").is_file():
        return None
    rows = pd.concat(read_text_csv(d / "disavow-diff.csv")).fillna("")
    added = rows.loc[rows["status"] == ADDED, "entry"].tolist()
    existing = 0
    if (d / "disavow.txt").is_file():
        merged = (d / "disavow.txt").read_text(encoding="utf-8-sig").splitlines()
        existing = _existing_lines(merged) if added else len(merged)
    return DisavowDiff(
        added=added,
        already_present=rows.loc[rows["status"] == ALREADY_PRESENT, "entry"].tolist(),
        whitelisted=rows.loc[rows["status"] == WHITELISTED, "entry"].tolist(),
        existing_entries=existing,
        unit="lines",
    )


def _existing_lines(merged: list[str]) -> int:
    """Lines of the user's file in a merged ``disavow.txt`` that a merge added entries to.

    The merge appended a block from a dated ``# toxlink`` comment to the end (an older
    toxlink block above it is the user's), after a blank line when the user's file did not
    end with one. A file that itself ended with one blank line is counted a line short.
    """
    start = next((i for i in range(len(merged) - 1, -1, -1) if merged[i].startswith("# toxlink ")), None)
    if start is None:
        return len(merged)
    if start >= 2 and not merged[start - 1].strip() and merged[start - 2].strip():
        start -= 1
    return start
