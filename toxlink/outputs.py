"""Writing output files: atomically, and safe to open in a spreadsheet.

An output file is either complete or not written: everything is written to a temporary
file beside the destination and moved into place with :func:`os.replace`, which is atomic
on POSIX and Windows when both paths are on the same file system.

Every CSV output (``links.csv``, ``domains.csv``, ``disavow-diff.csv``) goes through one
writer, :class:`CsvWriter` (Arrow's CSV writer): text quoted, dates as ``YYYY-MM-DD``,
booleans ``true``/``false``, missing values as empty cells, and a text cell that a
spreadsheet would run as a formula prefixed with ``'``.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import IO, Iterator, Sequence

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from toxlink import schema as S

#: Spreadsheet apps run a cell that starts with one of these as a formula (CSV injection).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_FORMULA_FIRST_BYTES = pa.array([c.encode() for c in FORMULA_START], pa.large_binary())


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """A temporary path beside *path* to write to; on success the file is synced and moved
    over *path*, on error deleted."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        fd = os.open(tmp, os.O_RDWR)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        # mkstemp creates the file 0600; an output is meant to be shared, so apply the umask.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "w", encoding: str | None = "utf-8", newline: str | None = None) -> Iterator[IO]:
    """Open a temporary file beside *path*; on success move it over *path*, on error delete it.

    >>> with atomic_write("out.csv") as fh:   # doctest: +SKIP
    ...     fh.write("a,b\\n")
    """
    kwargs = {} if "b" in mode else {"encoding": encoding, "newline": newline}
    with atomic_path(path) as tmp, open(tmp, mode, **kwargs) as fh:
        yield fh


def excel_safe_text(arr: pa.Array) -> pa.Array:
    """*arr* (string or large_string) with ``'`` put before every cell that starts like a formula."""
    # Every formula character is one ASCII byte: the first byte of each cell decides.
    first = pc.binary_slice(arr.cast(pa.large_binary()), 0, 1)
    risky = pc.is_in(first, value_set=_FORMULA_FIRST_BYTES)
    if not pc.any(risky).as_py():  # the usual case: no cell is copied
        return arr
    quote, empty = pa.scalar("'", arr.type), pa.scalar("", arr.type)
    return pc.if_else(risky, pc.binary_join_element_wise(quote, arr, empty), arr)


def csv_table(frame: pd.DataFrame) -> pa.Table:
    """*frame* as the Arrow table :class:`CsvWriter` writes.

    Parameters
    ----------
    frame : DataFrame, shape (n, k)
        Any column types; list cells are written as their items joined by
        :data:`toxlink.schema.LIST_SEPARATOR`, the risks of :data:`toxlink.schema.ROUNDED`
        with :data:`toxlink.schema.RISK_DECIMALS` decimals.

    Returns
    -------
    pyarrow.Table, shape (n, k)
        Timestamps as dates (the day, floored), lists as text, and text cells that start
        like a formula (:data:`FORMULA_START`) prefixed with ``'``.
    """
    frame = frame.reset_index(drop=True)  # a new frame: the caller's is never changed
    for name in frame.columns:
        if frame[name].dtype == object and frame[name].map(type).eq(list).any():
            # e.g. disavow_entries: "domain:a.com; domain:b.com", not a Python list
            frame[name] = frame[name].map(lambda v: S.LIST_SEPARATOR.join(v) if isinstance(v, list) else v)
        elif name in S.ROUNDED and pd.api.types.is_float_dtype(frame[name]):
            frame[name] = frame[name].round(S.RISK_DECIMALS)
    table = pa.Table.from_pandas(frame, preserve_index=False, nthreads=1)
    arrays = []
    for arr in table.columns:
        arr = arr.chunk(0) if arr.num_chunks == 1 else arr.combine_chunks()  # (combining one chunk copies it)
        if pa.types.is_timestamp(arr.type):
            arr = pc.cast(arr, pa.date32())
        elif pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type):
            arr = excel_safe_text(arr)
        arrays.append(arr)
    return pa.Table.from_arrays(arrays, names=table.column_names)


# Rows Arrow formats at a time: it formats a batch column by column, then row by row; 4,096
# rows cost about a third less than its default 1,024 (links.csv of the 100k-link export).
_CSV_BATCH = 4096


class CsvWriter:
    """One CSV file written chunk by chunk, which only appears at *path* when :meth:`close` succeeds.

    Parameters
    ----------
    path : path
    columns : sequence of str
        The columns, in order; every chunk is reindexed to them (a missing column is empty),
        and every chunk's columns have the same types (as canonical links do).
    header : bool, default True
        Write the header line. A file written without one can be appended to a file with
        one (:meth:`append_rows_of`): the Dask engine's workers write ``links.csv`` in parts.
    bom : bool, default False
        Start the file with a UTF-8 byte order mark, by which Excel on Windows knows the
        file is UTF-8 (without it, it reads ``café`` as ``cafÃ©``).
    """

    def __init__(self, path: str | os.PathLike, columns: Sequence[str], *, header: bool = True, bom: bool = False):
        self.path = Path(path)
        self.columns = list(columns)
        self.rows = 0
        self._cm = atomic_path(self.path)
        # An Arrow file: the writer formats and writes in C++ without taking the GIL back
        # (half the CPU of formatting into memory and writing that through Python).
        self._sink = pa.OSFile(str(self._cm.__enter__()), "wb")
        self._writer: pacsv.CSVWriter | None = None
        if bom:
            self._sink.write(b"\xef\xbb\xbf")
        if header:
            empty = pa.table({c: pa.array([], pa.null()) for c in self.columns})
            pacsv.write_csv(empty, self._sink)

    def write(self, frame: pd.DataFrame) -> None:
        """Append the rows of *frame* (its columns reindexed to :attr:`columns`)."""
        if not len(frame):
            return
        table = csv_table(frame.reindex(columns=self.columns))
        if self._writer is None:
            options = pacsv.WriteOptions(include_header=False, batch_size=_CSV_BATCH)
            self._writer = pacsv.CSVWriter(self._sink, table.schema, write_options=options)
            self._schema = table.schema
        elif not table.schema.equals(self._schema):
            table = table.cast(self._schema)  # e.g. a column of nulls only in this chunk
        self._writer.write_table(table)
        self.rows += len(frame)

    def append_rows_of(self, path: str | os.PathLike, rows: int) -> None:
        """Append the rows of a CSV file written by a ``CsvWriter(..., header=False)``."""
        with open(path, "rb") as src:
            for block in iter(lambda: src.read(1 << 20), b""):
                self._sink.write(block)
        self.rows += rows

    def close(self) -> None:
        self._close_files()
        self._cm.__exit__(None, None, None)

    def abort(self, exc: BaseException) -> None:
        with contextlib.suppress(BaseException):
            self._close_files()
        with contextlib.suppress(BaseException):
            self._cm.__exit__(type(exc), exc, exc.__traceback__)

    def _close_files(self) -> None:
        if self._writer is not None:
            self._writer.close()
        self._sink.close()

    def __enter__(self) -> "CsvWriter":
        return self

    def __exit__(self, et, ev, tb) -> None:
        if et is None:
            self.close()
        else:
            self.abort(ev)


def write_csv(frame: pd.DataFrame, path: str | os.PathLike, *, bom: bool = False) -> Path:
    """Write *frame* to *path* atomically through :class:`CsvWriter` (without the index)."""
    with CsvWriter(path, [str(c) for c in frame.columns], bom=bom) as writer:
        writer.write(frame.set_axis([str(c) for c in frame.columns], axis=1))
    return Path(path)
