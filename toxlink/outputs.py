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
    gather instead of a string kernel per character.
    """
    n = len(arr)
    data = arr.buffers()[2]
    if not n or data is None:
        return None
    otype = np.int64 if pa.types.is_large_string(arr.type) else np.int32
    offsets = np.frombuffer(arr.buffers()[1], dtype=otype)[arr.offset: arr.offset + n + 1]
    starts = offsets[:-1]
    nonempty = offsets[1:] > starts
    first = np.zeros(n, dtype=np.uint8)
    first[nonempty] = np.frombuffer(data, dtype=np.uint8)[starts[nonempty]]
    risky = _RISKY_FIRST_BYTE[first] & nonempty
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
    ``strftime("%Y-%m-%d")`` gives for naive timestamps, at a fraction of its cost.
    """
    values = s.to_numpy()
    if values.dtype.kind != "M":  # tz-aware: Arrow converts to UTC, as it always did here
        return pc.strftime(pa.array(s, type=pa.timestamp("ns")), format="%Y-%m-%d")
    return pa.array(values.astype("datetime64[D]"), type=pa.date32(), from_pandas=True).cast(pa.string())


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


def write_csv_chunk(frame: pd.DataFrame, fh: IO[bytes], header: bool) -> None:
    """Append *frame* to the binary file *fh* as UTF-8 CSV (see :func:`arrow_csv_table`)."""
    pacsv.write_csv(arrow_csv_table(frame), fh, write_options=pacsv.WriteOptions(include_header=header))


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

    For small tables of any column types (lists included), via pandas.
    """
    with atomic_write(path, newline="") as fh:
        excel_safe(frame).to_csv(fh, index=False, date_format="%Y-%m-%d")
    return Path(path)
