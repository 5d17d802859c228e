"""The public readers: stream exports as canonical chunks, read them whole, inspect them.

Each file goes through the stages of this package in turn: :func:`~toxlink.exports.vendors.detect`
(vendor, encoding, header), :func:`~toxlink.exports.records.blocks` (records and their lines),
:func:`~toxlink.exports.convert.canonical` (canonical columns and dtypes) and
:func:`~toxlink.exports.duplicates.mark_duplicates` (links read before, across all files).
"""

from __future__ import annotations

import os
from typing import Callable, Iterator

import numpy as np
import pandas as pd

from toxlink import schema as S
from toxlink.exports.convert import DateOrder, canonical
from toxlink.exports.duplicates import FirstSeen, LinkKeys, mark_duplicates
from toxlink.exports.errors import ExportError
from toxlink.exports.records import blocks
from toxlink.exports.vendors import detect


#: ``on_bytes(done, total)``: *done* of the *total* bytes of the exports read so far.
OnBytes = Callable[[int, int], None]


def iter_export(paths, *, format: str | None = None, chunksize: int = 100_000,
                on_bytes: OnBytes | None = None, notes: list[str] | None = None) -> Iterator[pd.DataFrame]:
    """Stream one or several exports as canonical chunks of at most *chunksize* rows.

    Every data row of every file comes out exactly once, in file order; fully blank lines
    are skipped (``inspect`` counts them). Rows are never dropped: an unusable source URL
    sets ``row_issue``; a repeated (source URL, target URL, anchor) sets ``duplicate_of``
    to ``"file:line"`` of its first occurrence across all *paths*. Bytes that are not in a
    file's encoding are read as U+FFFD: the row keeps its place, and a note counts such rows.

    Parameters
    ----------
    paths : str, Path or iterable of them
    format : str, optional
        Force one of :data:`FORMATS` for every file instead of detecting it.
    chunksize : int
        Upper bound on the rows of each yielded frame. Memory use does not grow with the
        file size (blocks of a few MiB are parsed at a time).
    on_bytes : callable ``(done, total)``, optional
        Told, before the chunks of each block are yielded and at the end of each file, how
        many of the *total* bytes of the files have been read (:func:`bytes_reached`).
    notes : list, optional
        Receives, once a file is read, how it was read: ``"<path>: <note>"`` per note
        (encoding guessed, rows with undecodable bytes, preamble skipped, ...).

    Yields
    ------
    DataFrame, shape (<= chunksize, len(schema.COLUMNS)), canonical dtypes.

    Raises
    ------
    ExportError
        One clear message with file, line and column where they apply.
    """
    return _iter(paths, format, chunksize, None, on_bytes, notes)


def read_export(paths, *, format: str | None = None) -> pd.DataFrame:
    """Read one or several exports into one canonical links table (see :func:`iter_export`)."""
    chunks = list(_iter(paths, format, 1 << 30, None, None))
    if not chunks:
        return S.empty_links()
    return pd.concat(chunks, ignore_index=True) if len(chunks) > 1 else chunks[0]


def inspect(paths, format: str | None = None) -> list[dict]:
    """Per file, what ``toxlink inspect`` prints: detection, mapping and row statistics.

    Reads every file completely (duplicates are counted across all *paths*).

    Returns
    -------
    list of dict, one per path, with keys ``path, vendor, encoding, delimiter,
    header_line, preamble_lines, rows, skipped_blank, mapped`` ({canonical: vendor
    column}), ``unmapped`` (vendor columns not used), ``flagged`` ({reason: rows}),
    ``duplicates`` (rows that repeat an earlier link) and ``notes``.
    """
    stats: dict = {}
    for _ in _iter(paths, format, 1 << 30, stats, None):
        pass
    out = []
    for st in stats.values():
        info = st["info"]
        out.append({
            "path": info.path,
            "vendor": info.vendor,
            "encoding": info.encoding + (" (BOM)" if info.bom else ""),
            "delimiter": {"\t": "tab", ",": "comma", ";": "semicolon", "|": "pipe", None: None}[info.delimiter],
            "header_line": info.header_line,
            "preamble_lines": (info.header_line - 1) if info.header_line else 0,
            "rows": st["rows"],
            "skipped_blank": st["skipped_blank"],
            "mapped": dict(info.mapping),
            "unmapped": list(info.unmapped),
            "flagged": dict(sorted(st["flagged"].items(), key=lambda kv: -kv[1])),
            "duplicates": st["duplicates"],
            "notes": list(info.notes),
        })
    return out


def _as_paths(paths) -> list:
    if isinstance(paths, (str, os.PathLike)):
        return [paths]
    return list(paths)


def _iter(paths, format, chunksize, stats: dict | None, on_bytes: OnBytes | None = None,
          notes: list[str] | None = None) -> Iterator[pd.DataFrame]:
    if chunksize is None or int(chunksize) < 1:
        raise ValueError("chunksize must be a positive integer")
    chunksize = int(chunksize)
    infos = [_guarded(p, detect, p, format=format) for p in _as_paths(paths)]  # fail before reading
    names = [info.path for info in infos]
    keys, seen = LinkKeys(), FirstSeen()
    sizes = [os.path.getsize(info.path) for info in infos] if on_bytes else []
    if on_bytes:
        on_bytes(0, sum(sizes))
    for number, info in enumerate(infos):
        lines = _guarded(info.path, line_total, info) if on_bytes else 0
        st = {"info": info, "rows": 0, "skipped_blank": 0, "flagged": {}, "duplicates": 0}
        damaged, first_damaged = 0, None
        if stats is not None:
            stats[number] = st
        dates = DateOrder()
        records = blocks(info)
        while (block := _guarded(info.path, next, records, None)) is not None:
            st["skipped_blank"] += block.blank
            if block.damaged is not None:
                damaged += int(block.damaged.sum())
                first_damaged = first_damaged or int(block.lines[block.damaged][0])
            if not len(block.lines):
                continue
            frame = _guarded(info.path, canonical, info, block, dates, line=int(block.lines[0]))
            frame = _guarded(info.path, mark_duplicates, frame, number, names, keys, seen, line=int(block.lines[0]))
            st["rows"] += len(frame)
            st["duplicates"] += int(frame[S.DUPLICATE_OF].notna().sum())
            for reason, count in frame[S.ROW_ISSUE].value_counts().items():
                st["flagged"][reason] = st["flagged"].get(reason, 0) + int(count)
            if on_bytes:
                on_bytes(sum(sizes[:number]) + bytes_reached(sizes[number], int(block.lines[-1]), lines), sum(sizes))
            for lo in range(0, len(frame), chunksize):
                yield frame.iloc[lo: lo + chunksize].reset_index(drop=True)
        if on_bytes:
            on_bytes(sum(sizes[: number + 1]), sum(sizes))
        if damaged:
            info.notes.append(f"{damaged:,} row(s) had bytes that are not valid {info.encoding}, read as U+FFFD (first on "
                              f"line {first_damaged}); those whose source URL has one are rejected")
        if notes is not None:
            notes.extend(f"{info.path}: {note}" for note in info.notes)


def line_total(info) -> int:
    """The lines of the file *info* (an :class:`~toxlink.exports.vendors.ExportInfo`)
    describes, for progress: its newlines in its own encoding (a Parquet file: its rows).

    Counted in the first :data:`_COUNT_BYTES` bytes; a larger file's count is extrapolated
    from them (records are about the same length), so that progress costs a few
    milliseconds, not a read of the whole file.
    """
    if info.encoding == "parquet":
        import pyarrow.parquet as pq

        return int(pq.ParquetFile(info.path).metadata.num_rows)
    unit = {"utf-16-le": "<u2", "utf-16-be": ">u2", "utf-32-le": "<u4", "utf-32-be": ">u4"}.get(info.encoding)
    with open(info.path, "rb") as fh:
        # A read of a multiple of 4 bytes from the start keeps UTF-16/32 code units whole (a
        # BOM is 2 or 4 bytes): a newline is then a code unit equal to 10.
        head = fh.read(_COUNT_BYTES)
        size = fh.seek(0, os.SEEK_END)
    if unit is None:  # UTF-8 and the 8-bit encodings: the byte 10 is a newline
        count = head.count(b"\n")
    else:
        width = np.dtype(unit).itemsize
        count = int(np.count_nonzero(np.frombuffer(head[: len(head) // width * width], unit) == 10))
    return count if size <= len(head) else max(1, count * size // max(len(head), 1))


def bytes_reached(size: int, line: int, lines: int) -> int:
    """Bytes of a file of *size* bytes and *lines* lines read when its record on line *line*
    (1-based) has been: the share of its lines, as records are about the same length."""
    return size if lines <= 0 else min(size, size * line // lines)


#: Raw bytes at the start of a file whose lines are counted (:func:`line_total`).
_COUNT_BYTES = 1 << 22

def _guarded(path, func, *args, line: int | None = None, **kwargs):
    """Call *func*; anything but an ExportError becomes one (no raw library traceback)."""
    try:
        return func(*args, **kwargs)
    except (ExportError, MemoryError):
        raise
    except Exception as e:  # noqa: BLE001 - the contract is one ExportError per bad file
        where = "while reading the block starting here" if line is not None else "while reading"
        raise ExportError(path, f"unexpected {type(e).__name__} {where}: {e}", line=line) from e
