"""Writing output files: atomically, and safe to open in a spreadsheet.

An output file is either complete or not written: everything is written to a temporary
file beside the destination and moved into place with :func:`os.replace`, which is atomic
on POSIX and Windows when both paths are on the same file system.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import IO, Iterator

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

# Spreadsheet apps run a cell that starts with one of these as a formula (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "w", encoding: str | None = "utf-8", newline: str | None = None) -> Iterator[IO]:
    """Open a temporary file beside *path*; on success move it over *path*, on error delete it.

    >>> with atomic_write("out.csv") as fh:   # doctest: +SKIP
    ...     fh.write("a,b\\n")
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        kwargs = {} if "b" in mode else {"encoding": encoding, "newline": newline}
        with os.fdopen(fd, mode, **kwargs) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        # mkstemp creates the file 0600; an output is meant to be shared, so apply the umask.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def excel_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """Neutralise text cells a spreadsheet would run as a formula, by prefixing a quote.

    Only text columns are touched; numbers (including negative ones) stay numbers.
    """
    out = frame.copy()
    for col in out.columns:
        s = out[col]
        if not (pd.api.types.is_string_dtype(s.dtype) or s.dtype == object):
            continue
        text = s.astype("string")
        risky = text.str.startswith(_FORMULA_START).fillna(False)
        if risky.any():
            out[col] = text.mask(risky, "'" + text)
    return out


def _risky_cells(arr: pa.Array) -> np.ndarray | None:
    """Mask of the cells of a string array that start with a formula character, or ``None``.

    Every character of :data:`_FORMULA_START` is one ASCII byte, so the first byte of each
    cell's UTF-8 data decides; reading it straight from the offsets buffer is one numpy
    gather instead of a string kernel per character. The usual answer, "none", is found
    from that gather alone; empty and missing cells (whose offset points at the next
    cell's first byte, or past the data) are only sorted out when some byte is risky.
    """
    n = len(arr)
    data = arr.buffers()[2]
    if not n or data is None or arr.null_count == n or not data.size:
        return None
    otype = np.int64 if pa.types.is_large_string(arr.type) else np.int32
    offsets = np.frombuffer(arr.buffers()[1], dtype=otype)[arr.offset: arr.offset + n + 1]
    starts = offsets[:-1]
    first = np.frombuffer(data, dtype=np.uint8).take(starts, mode="clip")
    risky = _RISKY_FIRST_BYTE[first]
    if not risky.any():
        return None
    risky &= offsets[1:] > starts
    if arr.null_count:
        risky &= arr.is_valid().to_numpy(zero_copy_only=False)
    return risky if risky.any() else None


_RISKY_FIRST_BYTE = np.zeros(256, dtype=bool)
_RISKY_FIRST_BYTE[[ord(c) for c in _FORMULA_START]] = True


def _safe_text(arr: pa.Array) -> pa.Array:
    """*arr* (string or large_string) with ``'`` put before every cell that starts like a formula."""
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    risky = _risky_cells(arr)
    if risky is None:  # the usual case: nothing to escape, no string is copied
        return arr
    quote, empty = pa.scalar("'", arr.type), pa.scalar("", arr.type)
    return pc.if_else(pa.array(risky), pc.binary_join_element_wise(quote, arr, empty), arr)


def _text_array(s: pd.Series) -> pa.Array:
    """A text column as one large_string array, without a copy when it is Arrow-backed already."""
    if isinstance(s.dtype, pd.StringDtype) and s.dtype.storage == "pyarrow":
        arr = pa.array(s.array)
        return arr if pa.types.is_large_string(arr.type) else arr.cast(pa.large_string())
    return pa.array(s.astype("string"), type=pa.large_string(), from_pandas=True)


def _date_text(s: pd.Series) -> pa.Array:
    """Dates as ``YYYY-MM-DD`` strings (missing stays missing).

    Flooring to whole days in numpy and casting Arrow dates to text gives what
    ``strftime("%Y-%m-%d")`` gives for naive timestamps. Arrow's date cast costs ~50 ns a
    value, so when the chunk's days span no more days than it has rows (the usual case:
    a few years of dates) each day of the span is cast once and the cells are taken from
    that table by day number.
    """
    values = s.to_numpy()
    if values.dtype.kind != "M":  # tz-aware: Arrow converts to UTC, as it always did here
        return pc.strftime(pa.array(s, type=pa.timestamp("ns")), format="%Y-%m-%d")
    days = values.astype("datetime64[D]")
    missing = np.isnat(days)
    mask = missing if missing.any() else None
    day_no = days.view(np.int64)
    present = day_no[~missing] if mask is not None else day_no
    if not len(present) or int(present.max()) - int(present.min()) >= len(days):
        return pa.array(days, type=pa.date32(), from_pandas=True).cast(pa.string())
    lo = int(present.min())
    span = np.arange(lo, int(present.max()) + 1, dtype=np.int64).astype("datetime64[D]")
    table = pa.array(span, type=pa.date32()).cast(pa.string())
    index = day_no - lo
    if mask is not None:
        index[mask] = 0
    return table.take(pa.array(index, mask=mask))


# Arrow writes a whole float below 1e10 exactly as the same int64 ("28" for 28.0; from 1e10
# on it switches to "1e+10"), and formats ints about twice as fast; a margin is kept.
_INT_EXACT = 1e9


def _float_array(s: pd.Series) -> pa.Array:
    """A float column for CSV, as int64 when every value is a whole number below
    :data:`_INT_EXACT` (same text, cheaper to format); NaN is missing either way."""
    values = s.to_numpy(dtype=np.float64, na_value=np.nan)
    missing = np.isnan(values)
    present = values[~missing] if missing.any() else values
    whole = (np.abs(present) < _INT_EXACT).all() and (present == np.trunc(present)).all()
    if whole and not np.signbit(present[present == 0]).any():  # -0.0 is written "-0"
        ints = np.where(missing, 0.0, values).astype(np.int64)
        return pa.array(ints, mask=missing if missing.any() else None)
    return pa.array(values, type=pa.float64(), from_pandas=True)


def arrow_csv_table(frame: pd.DataFrame) -> pa.Table:
    """*frame* as an Arrow table ready for CSV: dates as ``YYYY-MM-DD``, text spreadsheet-safe,
    every column typed from its pandas dtype (so every chunk of a file writes the same way; a
    float column of whole numbers may be int64 in one chunk, which writes the same text)."""
    arrays, names = [], []
    for col in frame.columns:
        s = frame[col]
        if pd.api.types.is_datetime64_any_dtype(s.dtype):
            arr = _date_text(s)
        elif pd.api.types.is_bool_dtype(s.dtype):
            arr = pa.array(s, type=pa.bool_(), from_pandas=True)
        elif pd.api.types.is_integer_dtype(s.dtype):
            arr = pa.array(s, type=pa.int64(), from_pandas=True)
        elif pd.api.types.is_float_dtype(s.dtype):
            arr = _float_array(s)
        else:
            arr = _safe_text(_text_array(s))
        if isinstance(arr, pa.ChunkedArray):
            arr = arr.combine_chunks()
        arrays.append(arr)
        names.append(str(col))
    return pa.Table.from_arrays(arrays, names=names)


# Rows per batch of Arrow's CSV writer: it formats a batch column by column, then row by
# row; 4,096 rows cost ~15% less than its default 1,024 (fewer kernel calls, still in cache).
_CSV_BATCH = 4096
# Rows encoded in memory (pure C++, without the GIL) before one write to the file: writing
# to a Python file object instead makes Arrow take the GIL back for every batch, which in a
# threaded run waits for the scoring thread each time. ~9 MB of text, then one write.
_CSV_WRITE_ROWS = 16_384


def write_csv_chunk(frame: pd.DataFrame, fh: IO[bytes], header: bool) -> None:
    """Append *frame* to the binary file *fh* as UTF-8 CSV (see :func:`arrow_csv_table`)."""
    table = arrow_csv_table(frame)
    if table.num_rows:  # an all-missing column is empty cells in any type; Arrow's null type skips formatting them
        table = pa.Table.from_arrays([pa.nulls(len(c)) if c.null_count == len(c) else c for c in table.columns],
                                     names=table.column_names)
    for start in range(0, max(table.num_rows, 1), _CSV_WRITE_ROWS):
        buf = pa.BufferOutputStream()
        options = pacsv.WriteOptions(include_header=header and start == 0, batch_size=_CSV_BATCH)
        pacsv.write_csv(table.slice(start, _CSV_WRITE_ROWS), buf, write_options=options)
        fh.write(buf.getvalue())


class CsvSink:
    """Append DataFrame chunks to one CSV that only appears at *path* when :meth:`close` succeeds.

    Used by streaming scoring, which writes ``links.csv`` chunk by chunk.
    """

    def __init__(self, path: str | os.PathLike, columns: list[str] | None = None):
        self.path = Path(path)
        self.columns = columns
        self._cm = atomic_write(self.path, "wb")
        self._fh = self._cm.__enter__()
        self._header = True
        self.rows = 0

    def write(self, chunk: pd.DataFrame) -> None:
        if self.columns is not None:
            chunk = chunk.reindex(columns=self.columns)
        write_csv_chunk(chunk, self._fh, self._header)
        self._header = False
        self.rows += len(chunk)

    def write_encoded(self, data: bytes, rows: int) -> None:
        """Append CSV rows already encoded by :func:`write_csv_chunk` without a header."""
        self._write_header()
        self._fh.write(data)
        self.rows += rows

    def _write_header(self) -> None:
        if self._header and self.columns is not None:
            self._fh.write((",".join(f'"{c}"' for c in self.columns) + "\n").encode())
        self._header = False

    def close(self) -> None:
        self._write_header()  # no chunk at all: still write the header
        self._cm.__exit__(None, None, None)

    def abort(self, exc: BaseException) -> None:
        with contextlib.suppress(BaseException):
            self._cm.__exit__(type(exc), exc, exc.__traceback__)

    def __enter__(self) -> "CsvSink":
        return self

    def __exit__(self, et, ev, tb) -> None:
        if et is None:
            self.close()
        else:
            self.abort(ev)


def write_csv(frame: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Write *frame* to *path* atomically, spreadsheet-safe, without the index.

    For small tables of any column types (lists included). The bytes are those of
    ``excel_safe(frame).to_csv(path, index=False, date_format="%Y-%m-%d")``; tables whose
    columns are all text, bool, int, float or lists of str (the roll-up, the disavow diff)
    are formatted and quoted column by column in Arrow instead of row by row in Python.
    """
    # Formatted a slice of rows at a time, so the cells' temporaries stay the size of the
    # slice (the roll-up of a large export has 100k+ sites with long reason texts).
    columns = _csv_columns(frame.iloc[:_CSV_ROWS])
    if columns is not None:
        try:
            with atomic_write(path, "wb") as fh:
                fh.write(_csv_line([str(c) for c in frame.columns]).encode("utf-8"))
                for start in range(0, len(frame), _CSV_ROWS):
                    if start:
                        columns = _csv_columns(frame.iloc[start: start + _CSV_ROWS])
                        if columns is None:  # a later slice needs pandas: the file is not written
                            raise _NeedsPandas
                    lines = _csv_rows(columns)
                    if len(lines):  # the rows' bytes are the array's data buffer, back to back
                        offsets = np.frombuffer(lines.buffers()[1], dtype=np.int64)
                        fh.write(memoryview(lines.buffers()[2])[offsets[lines.offset]: offsets[lines.offset + len(lines)]])
            return Path(path)
        except _NeedsPandas:
            pass
    with atomic_write(path, newline="") as fh:  # other column types: pandas itself
        excel_safe(frame).to_csv(fh, index=False, date_format="%Y-%m-%d")
    return Path(path)


class _NeedsPandas(Exception):
    """A slice of the table has a column type only pandas' writer formats."""


# Rows formatted per slice by write_csv's Arrow path.
_CSV_ROWS = 8_000  # (at 20k rows, the roll-up of a 1M-link export took +86 MB to write; at 8k +39, and no slower)


def _csv_line(fields: list[str]) -> str:
    """One row as pandas' ``to_csv`` writes it (the csv module, minimal quoting, ``\\n``)."""
    import csv
    import io

    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerow(fields)
    return buf.getvalue()


# Characters that make the csv module quote a field (minimal quoting; whether a lone "\r"
# does depends on the Python version, so it is asked, not assumed).
_CSV_QUOTE_RE = "[" + "".join(esc for c, esc in ((",", ","), ('"', '"'), ("\n", r"\n"), ("\r", r"\r"), ("\t", r"\t"))
                              if _csv_line(["a" + c + "b", "x"]).startswith('"')) + "]"


def _csv_columns(frame: pd.DataFrame) -> list[pa.Array] | None:
    """Each column of *frame* as the CSV cells ``write_csv`` writes (large_string, no nulls),
    or ``None`` when a column's type needs pandas (dates, categories, nullable ints...)."""
    if frame.shape[1] < 2 or not len(frame) or not all(isinstance(c, str) for c in frame.columns):
        return None  # a one-column row of one empty cell is written '""' by the csv module
    out = []
    for col in range(frame.shape[1]):
        cells = _csv_cells(frame.iloc[:, col])
        if cells is None:
            return None
        out.append(cells)
    return out


def _csv_cells(s: pd.Series) -> pa.Array | None:
    """One column as the text pandas' ``to_csv`` writes for it after :func:`excel_safe`
    (missing as empty, bools ``True``/``False``, floats as ``str(numpy.float64)``, objects as
    ``str()``), quoted as the csv module quotes; ``None`` for other column types."""
    dtype = s.dtype
    text = pa.large_string()
    if isinstance(dtype, np.dtype) and dtype.kind == "b":
        return pc.if_else(pa.array(s.to_numpy()), pa.scalar("True", text), pa.scalar("False", text))
    if isinstance(dtype, np.dtype) and dtype.kind in "iu":
        return pa.array(s.to_numpy()).cast(text)
    if isinstance(dtype, np.dtype) and dtype.kind == "f":
        return _float_cells(s.to_numpy())
    if isinstance(dtype, pd.StringDtype):
        arr = _safe_text(_text_array(s))
    elif dtype == object:
        values = s.to_numpy()
        if set(map(type, values)) == {list}:  # e.g. disavow_entries: written as str(list)
            arr = pa.array(list(map(str, values)), type=text)  # starts with "[": never a formula
        elif pd.api.types.infer_dtype(values, skipna=True) in ("string", "empty"):
            arr = _safe_text(_text_array(s))
        else:
            return None
    else:
        return None
    arr = pc.fill_null(arr, pa.scalar("", text))
    need = pc.match_substring_regex(arr, _CSV_QUOTE_RE)
    if pc.any(need).as_py():
        q, empty = pa.scalar('"', text), pa.scalar("", text)
        quoted = pc.binary_join_element_wise(q, pc.replace_substring(arr, '"', '""'), q, empty)
        arr = pc.if_else(need, quoted, arr)
    return arr


def _float_cells(values: np.ndarray) -> pa.Array:
    """Floats as pandas' ``to_csv`` writes them: ``values.astype(str)`` (numpy's shortest
    repr, as Python's ``repr``: ``1.0``, ``0.25``, ``1e-05``, ``1e+16``), NaN as empty.

    Arrow's cast writes the same shortest digits 6x faster; only its notation differs: no
    ``.0`` on whole numbers (added here), and another switch to exponents, so values
    Python writes with an exponent (below 1e-4, from 1e16 on), those Arrow writes with one,
    and inf/NaN are formatted by numpy.
    """
    text = pa.large_string()
    if values.dtype != np.float64:
        cells = values.astype(str).astype(object)
        cells[np.isnan(values)] = ""
        return pa.array(cells, type=text)
    magnitude = np.abs(values)
    cells = pc.cast(pa.array(values), text)
    odd = ~((magnitude >= 1e-4) & (magnitude < 1e16)) & (values != 0)
    odd |= np.asarray(pc.match_substring(cells, "e"))
    whole = pc.invert(pc.match_substring(cells, "."))
    cells = pc.if_else(whole, pc.binary_join_element_wise(cells, pa.scalar(".0", text), pa.scalar("", text)), cells)
    if odd.any():
        sub = values[odd]
        fixed = sub.astype(str).astype(object)
        fixed[np.isnan(sub)] = ""
        cells = pc.replace_with_mask(cells, pa.array(odd), pa.array(fixed, type=text))
    return cells


def _csv_rows(columns: list[pa.Array]) -> pa.Array:
    """The cells of each row joined with ``,`` and ended with ``\\n``: one string per row."""
    text = pa.large_string()
    rows = pc.binary_join_element_wise(*columns, pa.scalar(",", text))
    return pc.binary_join_element_wise(rows, pa.scalar("", text), pa.scalar("\n", text))
