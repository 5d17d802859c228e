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

import pandas as pd

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


class CsvSink:
    """Append DataFrame chunks to one CSV that only appears at *path* when :meth:`close` succeeds.

    Used by streaming scoring, which writes ``links.csv`` chunk by chunk.
    """

    def __init__(self, path: str | os.PathLike, columns: list[str] | None = None):
        self.path = Path(path)
        self.columns = columns
        self._cm = atomic_write(self.path, newline="")
        self._fh = self._cm.__enter__()
        self._header = True
        self.rows = 0

    def write(self, chunk: pd.DataFrame) -> None:
        if self.columns is not None:
            chunk = chunk.reindex(columns=self.columns)
        excel_safe(chunk).to_csv(self._fh, index=False, header=self._header, date_format="%Y-%m-%d")
        self._header = False
        self.rows += len(chunk)

    def close(self) -> None:
        if self._header and self.columns is not None:  # no chunk at all: still write the header
            pd.DataFrame(columns=self.columns).to_csv(self._fh, index=False)
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
    """Write *frame* to *path* atomically, spreadsheet-safe, without the index."""
    with CsvSink(path, list(frame.columns)) as sink:
        sink.write(frame)
    return Path(path)
