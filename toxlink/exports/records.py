"""The records of one export file, with the physical line each starts on.

:func:`blocks` yields a file's records a block at a time as :class:`Block`: the mapped fields
as Arrow string arrays and each record's 1-based line (header = line 1; a line ends at LF,
CRLF or a lone CR). Every record comes out exactly once; blank lines are skipped and counted.

- A CSV file is first read through once by :class:`Utf8Stream`, which decodes it (bytes that
  are not in its encoding become U+FFFD and their records are marked ``damaged``), turns CR-only
  line ends into LF, counts its quote characters and notes NUL characters. A file in another
  encoding than UTF-8, or a damaged one, is written on the way to a temporary UTF-8 copy, as
  large as the export's text.
- pyarrow's streaming CSV reader then parses the UTF-8 data. A record's line is the line
  after the previous record's, plus the line breaks inside the previous records' values.
- The reader stops at the first block that is not plain, well-formed CSV -- a blank line, a
  row with too few or too many fields, a record longer than a block -- and Python's
  :mod:`csv` module reads the file from that block on, record by record
  (:func:`_careful_records`): it pads short rows, skips blank lines and names the line and
  column of what it cannot read. A file with a NUL character or an odd number of quote
  characters (pyarrow would read an unterminated quote to the end of the file without a
  word) is read that way from the start, to name the line.
- URL lists and one-column files are read line by line; Parquet files row batch by batch.
"""

from __future__ import annotations

import bisect
import codecs
import csv
import io
import os
import re
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from toxlink.exports.errors import ExportError
from toxlink.exports.vendors import SAMPLE_BYTES, ExportInfo, legacy_encoding

READ_BYTES = 1 << 20  # raw bytes read and decoded per step
# UTF-8 bytes the CSV reader parses at a time, and the longest record it can read. It reads
# ~10 blocks ahead; larger blocks parse no faster and hold more memory.
BLOCK_BYTES = 1 << 20
BLOCK_ROWS = 1 << 16  # parsed rows gathered into one block: conversions cost per call too
CAREFUL_ROWS = 1 << 15  # records per block read line by line or by the csv module
PARQUET_ROWS = 1 << 16

_STR = pa.large_string()


@dataclass
class Block:
    """Records of one file: ``fields`` maps a field index to its values (``large_string``
    array, shape (n,)), ``lines`` is the 1-based line each record starts on (int64 ndarray,
    shape (n,)), ``blank`` the blank lines skipped among them, ``next_line`` the line after
    the block's last record (where known), ``damaged`` whether a record had bytes that are
    not in the file's encoding, replaced with U+FFFD (bool ndarray, shape (n,); None when
    none had)."""

    lines: np.ndarray
    fields: dict[int, pa.Array]
    blank: int = 0
    next_line: int | None = None
    damaged: np.ndarray | None = None


def blocks(info: ExportInfo) -> Iterator[Block]:
    """The records of the file *info* describes, a block at a time (see the module)."""
    if info.encoding == "parquet":
        return _parquet_blocks(info)
    if info.one_column:
        return _line_blocks(info)
    return _csv_blocks(info)


def _wanted(info: ExportInfo) -> list[int]:
    return sorted({j for _kind, idx, _label in info.plan.values() for j in idx})


# --- decoding ---------------------------------------------------------------------------

class Utf8Stream(io.RawIOBase):
    """The lines of an export after its first *skip_lines* lines, as UTF-8 bytes with LF or
    CRLF line ends: a readable binary stream decoding the file's encoding on the fly (plain
    ASCII UTF-8 is handed out as it is).

    Bytes that are not in the encoding become U+FFFD and ``bad_lines`` lists the 1-based
    lines they are on, in order: one damaged byte costs its row, not the file. A file
    detected as UTF-8 from an ASCII-only sample whose first non-ASCII bytes are no UTF-8
    at all (a cp1252 file whose first accent is beyond the sample) is read as cp1252 from
    there on, which ``encoding`` and a note in ``info.notes`` say. A CR-only file
    (``info.cr_only``) comes out with LF line ends.

    What the CSV parser would take as data is noted: ``quotes`` counts the quote characters
    handed out so far, ``nul`` tells whether a NUL character was, ``split_crlf`` whether one
    of the parser's blocks (:data:`BLOCK_BYTES`) would end between the CR and LF of a
    quoted value.
    """

    def __init__(self, info: ExportInfo, skip_lines: int = 0):
        super().__init__()
        self.info = info
        try:
            self._fh = open(info.path, "rb")
        except OSError as e:
            raise ExportError(info.path, f"cannot read the file ({e.strerror or e})") from None
        self._fh.seek(info.bom)
        self.encoding = info.encoding
        self._decoder = codecs.getincrementaldecoder(info.encoding)(errors="replace")
        self._skip = skip_lines
        self.skipped = 0  # UTF-8 bytes of the lines skipped
        self._buf = bytearray()
        self._eof = False
        self._ascii = True  # nothing but ASCII read so far
        self._carry = b""  # the start of a UTF-8 character the last read ended in
        self._lines = 1  # the line the next byte decoded is on
        self.bad_lines: list[int] = []
        self.quotes = 0
        self.nul = False
        self.split_crlf = False
        self._handed = 0  # bytes handed out so far
        self._last = b""  # the last of them

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        data = self.read(len(b))
        b[: len(data)] = data
        return len(data)

    def read(self, size: int = -1) -> bytes:
        while not self._eof and (size < 0 or len(self._buf) < size):
            self._fill()
        size = len(self._buf) if size < 0 else min(size, len(self._buf))
        out = bytes(self._buf[:size])
        del self._buf[:size]
        return out

    def close(self) -> None:
        self._fh.close()
        super().close()

    def _fill(self) -> None:
        try:
            raw = self._fh.read(READ_BYTES)
        except OSError as e:
            raise ExportError(self.info.path, f"cannot read the file ({e.strerror or e})") from None
        self._eof = not raw
        if self.encoding == "utf-8":
            out = self._utf8(self._carry + raw)
        else:
            out = self._encoded(self._decoder.decode(raw, final=self._eof))
        self._lines += out.count(b"\n")
        while self._skip and out:
            cut = out.find(b"\n")
            if cut < 0:
                out = b""
                break
            out = out[cut + 1:]
            self.skipped += cut + 1
            self._skip -= 1
        self._check_block_ends(out)
        self.quotes += out.count(b'"')
        self.nul = self.nul or b"\x00" in out
        self._buf += out

    def _utf8(self, raw: bytes) -> bytes:
        """UTF-8 *raw* as handed out: as it is when valid (an incomplete character at its end
        waits for the next read), decoded with U+FFFD for stray bytes, or read as cp1252 from
        here on when nothing but ASCII came before, detection's sample included, and *raw*
        has no UTF-8 accent at all."""
        self._carry = b""
        if raw.isascii():
            return raw.replace(b"\r", b"\n") if self.info.cr_only else raw
        ascii_before, self._ascii = self._ascii, False
        decoder = codecs.getincrementaldecoder("utf-8")()
        try:  # strict first: valid UTF-8, the common case, is only checked, as fast as it gets
            decoder.decode(raw, final=self._eof)
        except UnicodeDecodeError:
            decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
            text = decoder.decode(raw, final=self._eof)
        else:
            text = None
        pending = len(decoder.getstate()[0])
        if pending:
            self._carry, raw = raw[-pending:], raw[:-pending]
        if text is None:
            return raw.replace(b"\r", b"\n") if self.info.cr_only else raw
        # Detection judged the first SAMPLE_BYTES; only bytes beyond them can change its mind.
        beyond = self._fh.tell() > SAMPLE_BYTES
        legacy = legacy_encoding(raw + self._carry) if ascii_before and beyond else None
        if legacy is None:
            return self._encoded(text)
        # The lines before are ASCII, which reads the same in both: switching loses nothing.
        self.encoding = legacy
        self._decoder = codecs.getincrementaldecoder(legacy)(errors="replace")
        text = self._decoder.decode(raw + self._carry, final=self._eof)
        self._carry = b""
        first = re.search(r"[^\x00-\x7f]", text)
        line = self._lines + text.count("\n", 0, first.start() if first else 0)
        note = f"read as {legacy} from line {line} on: the lines above are ASCII and what follows is not UTF-8"
        if note not in self.info.notes:
            self.info.notes.append(note)
        return self._encoded(text)

    def _encoded(self, text: str) -> bytes:
        """Decoded *text* as UTF-8 with LF line ends, its lines with U+FFFD noted."""
        if self.info.cr_only:
            text = text.replace("\r", "\n")
        if "\ufffd" in text:
            self._note_bad_lines(text)
        return text.encode("utf-8")

    def _note_bad_lines(self, text: str) -> None:
        at, line, pos = text.find("\ufffd"), self._lines, 0
        while at >= 0:
            line += text.count("\n", pos, at)
            if not self.bad_lines or self.bad_lines[-1] != line:
                self.bad_lines.append(line)
            pos, at = at, text.find("\ufffd", at + 1)

    def _check_block_ends(self, out: bytes) -> None:
        # pyarrow's CSV reader drops the LF of a quoted CRLF that one of its blocks ends in
        # the middle of (apache/arrow#51368, open in pyarrow 25). Inside a quoted value the
        # count of quote characters before it is odd.
        start, joined = self._handed, self._last + out
        first = -(-max(start, 1) // BLOCK_BYTES) * BLOCK_BYTES  # first block end >= start
        for end in range(first, start + len(out), BLOCK_BYTES):
            at = end - start + len(self._last)
            if joined[at - 1:at + 1] == b"\r\n" and (self.quotes + out[: end - start].count(b'"')) % 2:
                self.split_crlf = True
        self._handed += len(out)
        self._last = out[-1:] or self._last


def _text_lines(stream: Utf8Stream) -> Iterator[str]:
    """The lines of *stream*, line breaks kept ("\\n", "\\r\\n" or "\\r")."""
    yield from io.TextIOWrapper(io.BufferedReader(stream), encoding="utf-8", newline="")


def _damaged(lines: np.ndarray, end: int | None, bad_lines: list[int]) -> np.ndarray | None:
    """Which records, starting on *lines* (sorted, shape (n,)) and the last ending before
    line *end* (None: the end of the file), span one of the *bad_lines*; None if none."""
    if not bad_lines or not len(lines):
        return None
    bad = np.asarray(bad_lines, dtype=np.int64)
    bad = bad[(bad >= lines[0]) & (bad < (end if end is not None else bad.max() + 1))]
    if not len(bad):
        return None
    damaged = np.zeros(len(lines), dtype=bool)
    damaged[np.searchsorted(lines, bad, side="right") - 1] = True
    return damaged


# --- CSV --------------------------------------------------------------------------------

def _csv_blocks(info: ExportInfo) -> Iterator[Block]:
    wanted = _wanted(info)
    done, line = 0, info.header_line + 1  # records handed out, and the line of the next one
    batches: list[pa.RecordBatch] = []  # parsed and checked, not handed out yet
    with _utf8_data(info) as (data, scan):
        if not (scan.nul or scan.quotes % 2 or scan.split_crlf):
            try:
                for batch in _arrow_batches(data, info):
                    if _has_empty_rows(batch):
                        break
                    batches.append(batch)
                    if sum(b.num_rows for b in batches) >= BLOCK_ROWS:
                        block = _batches_block(batches, wanted, line, scan.bad_lines)
                        yield block
                        done, line, batches = done + len(block.lines), block.next_line, []
                else:
                    if batches:
                        yield _batches_block(batches, wanted, line, scan.bad_lines)
                    return
            except pa.ArrowInvalid:
                pass  # a row the parser rejects or a record longer than a block: read carefully
    if batches:  # the rows before the first one that is not plain CSV
        block = _batches_block(batches, wanted, line, scan.bad_lines)
        yield block
        done += len(block.lines)
    yield from _careful_blocks(info, wanted, skip=done)


@contextmanager
def _utf8_data(info: ExportInfo) -> Iterator[tuple[pa.NativeFile, Utf8Stream]]:
    """pyarrow's own file over the data lines in UTF-8 -- the export itself when it is UTF-8,
    else a temporary copy -- and the :class:`Utf8Stream` that read them through once.

    pyarrow never reads a Python file object here: its reader threads calling back into
    Python can hang or crash the interpreter at exit (apache/arrow#50482, #43892)."""
    if info.encoding == "utf-8":
        with Utf8Stream(info, info.header_line) as scan:
            while scan.read(READ_BYTES):  # checks the encoding, counts quotes
                pass
        if scan.encoding == "utf-8" and not scan.bad_lines:
            with pa.OSFile(info.path) as data:
                data.seek(info.bom + scan.skipped)
                yield data, scan
            return
        # Stray bytes, or cp1252 after an ASCII start: the parser reads the decoded copy.
    with Utf8Stream(info, info.header_line) as scan, tempfile.TemporaryDirectory(prefix="toxlink-") as tmp:
        copy = os.path.join(tmp, "export-utf8.csv")
        try:
            with open(copy, "wb") as out:
                while piece := scan.read(READ_BYTES):
                    out.write(piece)
        except OSError as e:
            raise ExportError(info.path, f"cannot write a UTF-8 copy of the file to {tmp} "
                                         f"({e.strerror or e})") from None
        with pa.OSFile(copy) as data:
            yield data, scan


def _batches_block(batches: list[pa.RecordBatch], wanted: list[int], line: int, bad_lines: list[int]) -> Block:
    """The block of the parsed *batches*, the first record starting on *line*; *bad_lines*
    are the lines of the file with undecodable bytes."""
    n = sum(b.num_rows for b in batches)
    lines = line + np.arange(n, dtype=np.int64)
    breaks = [_line_breaks(b) for b in batches]
    if any(b is not None for b in breaks):
        per_row = np.concatenate([np.zeros(b.num_rows, np.int64) if x is None else x for b, x in zip(batches, breaks)])
        lines[1:] += np.cumsum(per_row[:-1])
        line += int(per_row.sum())
    fields = {j: pa.concat_arrays([b.column(j) for b in batches]) for j in wanted}
    return Block(lines, fields, next_line=line + n, damaged=_damaged(lines, line + n, bad_lines))


def _arrow_batches(data: pa.NativeFile, info: ExportInfo) -> Iterator[pa.RecordBatch]:
    names = [f"c{i}" for i in range(len(info.header))]
    with pacsv.open_csv(
        data,
        read_options=pacsv.ReadOptions(column_names=names, block_size=BLOCK_BYTES),
        # Blank lines are kept (as empty rows) so that every line is counted; they send
        # the file to the careful reader, which tells them from rows of empty fields.
        parse_options=pacsv.ParseOptions(delimiter=info.delimiter, quote_char='"', double_quote=True,
                                         newlines_in_values=True, ignore_empty_lines=False),
        convert_options=pacsv.ConvertOptions(column_types=dict.fromkeys(names, _STR), strings_can_be_null=False,
                                             quoted_strings_can_be_null=False),
    ) as reader:
        yield from reader


def _has_empty_rows(batch: pa.RecordBatch) -> bool:
    """Whether a row has only empty fields: a blank line, or a row of delimiters."""
    empty = None
    for col in batch.columns:
        here = pc.equal(col, "")
        empty = here if empty is None else pc.and_(empty, here)
        if not pc.any(empty).as_py():
            return False
    return True


def _line_breaks(batch: pa.RecordBatch) -> np.ndarray | None:
    """Line breaks inside each row's (quoted) values, shape (n,); None when there are none."""
    total = None
    for col in batch.columns:
        data = col.buffers()[2]
        if data is None:
            continue
        raw = data.to_pybytes()
        if b"\n" not in raw and b"\r" not in raw:  # one byte search instead of a regex per value
            continue
        here = pc.count_substring_regex(col, r"\r\n|\r|\n")
        total = here if total is None else pc.add(total, here)
    return None if total is None else total.to_numpy().astype(np.int64)


# --- the careful path: Python's csv module ----------------------------------------------

def _careful_records(info: ExportInfo) -> Iterator[tuple[int, list[str], bool]]:
    """``(line, fields, damaged)`` of every record of a delimited file, read with :mod:`csv`
    and checked: ``fields`` is ``[]`` for a blank line and padded with ``""`` to the header's
    width for a short row; ``damaged`` tells whether it had undecodable bytes. Raises :class:`ExportError` at the first record with an
    unbalanced quote, a NUL character or too many fields."""
    width, delim = len(info.header), info.delimiter
    raw: list[str] = []  # the physical lines of the record being read

    with Utf8Stream(info, info.header_line) as stream:
        yield from _checked_records(info, stream, raw, width, delim)


def _checked_records(info: ExportInfo, stream: Utf8Stream, raw: list[str], width: int,
                     delim: str) -> Iterator[tuple[int, list[str], bool]]:
    """:func:`_careful_records` of the lines of *stream*."""
    def lines():
        for text in _text_lines(stream):
            raw.append(text)
            yield text

    reader = csv.reader(lines(), delimiter=delim, quotechar='"', doublequote=True, strict=False)
    first = line = info.header_line + 1
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as e:  # e.g. a quoted field longer than the csv module allows
            record = "".join(raw)
            if record.count('"') % 2:
                raise _unterminated(info.path, record, line, delim) from None
            raise ExportError(info.path, f"cannot parse this row ({e})", line=line) from None
        record = "".join(raw)
        raw.clear()
        if record.count('"') % 2:
            raise _unterminated(info.path, record, line, delim)
        if "\x00" in record:
            column = next(i for i, f in enumerate(fields, 1) if "\x00" in f)
            raise ExportError(info.path, "NUL byte in the data: the file is binary, damaged, or in an encoding "
                                         "that was not recognised", line=line, column=column)
        if len(fields) > width:
            raise ExportError(info.path, f"row has {len(fields)} fields but the header has {width} "
                                         "(an unquoted delimiter or a broken quote in this row)",
                              line=line, column=width + 1)
        if fields and len(fields) < width:
            fields += [""] * (width - len(fields))
        end = first + reader.line_num
        hit = bisect.bisect_left(stream.bad_lines, line)
        yield line, fields, hit < len(stream.bad_lines) and stream.bad_lines[hit] < end
        line = end


def _unterminated(path, record: str, line: int, delim: str) -> ExportError:
    """The error for a record with an odd number of quote characters."""
    field_no, in_quotes, opened = 1, False, None
    for ch in record:
        if ch == '"':
            in_quotes = not in_quotes
            opened = field_no if in_quotes else opened
        elif ch == delim and not in_quotes:
            field_no += 1
    reason = "unterminated quoted field (the quote opened here is never closed"
    fields = record.split(delim)
    if opened is not None and opened <= len(fields) and not fields[opened - 1].lstrip().startswith('"'):
        reason += "; it is a stray quote inside an unquoted value"
    return ExportError(path, reason + ")", line=line, column=opened)


def _careful_blocks(info: ExportInfo, wanted: list[int], skip: int | None) -> Iterator[Block]:
    """Blocks of :func:`_careful_records` after the first *skip* records (all of them
    checked; with *skip* None, none is handed out)."""
    lines: list[int] = []
    rows: list[list[str]] = []
    damaged: list[bool] = []
    blank = 0
    for k, (line, fields, bad) in enumerate(_careful_records(info)):
        if skip is None or k < skip:
            continue
        if not fields:
            blank += 1
            continue
        lines.append(line)
        rows.append(fields)
        damaged.append(bad)
        if len(rows) == CAREFUL_ROWS:
            yield _rows_block(lines, rows, wanted, blank, damaged)
            lines, rows, damaged, blank = [], [], [], 0
    if rows or blank:
        yield _rows_block(lines, rows, wanted, blank, damaged)


def _rows_block(lines: list[int], rows: list[list[str]], wanted: list[int], blank: int, damaged: list[bool]) -> Block:
    fields = {j: pa.array([r[j] for r in rows], _STR) for j in wanted}
    return Block(np.array(lines, dtype=np.int64), fields, blank, damaged=np.array(damaged) if any(damaged) else None)


# --- one value per line, Parquet ----------------------------------------------------------

def _line_blocks(info: ExportInfo) -> Iterator[Block]:
    """URL lists and one-column files: each line is a value (a one-column CSV's quotes
    removed); lines that are empty or only whitespace are blank."""
    lines: list[int] = []
    values: list[str] = []
    first = info.header_line + 1 if info.header_line else 1
    with Utf8Stream(info, info.header_line or 0) as stream:
        for k, text in enumerate(_text_lines(stream)):
            if "\x00" in text:
                raise ExportError(info.path, "NUL byte in the data: the file is binary, damaged, or in an encoding "
                                             "that was not recognised", line=first + k)
            lines.append(first + k)
            values.append(text)
            if len(values) == CAREFUL_ROWS:
                yield _values_block(info, lines, values, stream.bad_lines)
                lines, values = [], []
        if values:
            yield _values_block(info, lines, values, stream.bad_lines)


def _values_block(info: ExportInfo, lines: list[int], values: list[str], bad_lines: list[int]) -> Block:
    arr = pc.utf8_trim_whitespace(pa.array(values, _STR))
    keep = pc.greater(pc.binary_length(arr), 0)
    arr = arr.filter(keep)
    if info.vendor != "url-list":  # a one-column CSV may quote its values
        arr = pc.replace_substring(pc.replace_substring_regex(arr, r'^"(.*)"$', r"\1"), '""', '"')
    kept = np.asarray(keep.to_numpy(zero_copy_only=False), dtype=bool)
    kept_lines = np.array(lines, dtype=np.int64)[kept]
    damaged = np.isin(kept_lines, bad_lines) if bad_lines else None
    return Block(kept_lines, {0: arr}, blank=int((~kept).sum()),
                 damaged=damaged if damaged is not None and damaged.any() else None)


def _parquet_blocks(info: ExportInfo) -> Iterator[Block]:
    """Row batches of a Parquet export; a record's "line" is its 1-based row number."""
    import pyarrow.parquet as pq

    wanted = _wanted(info)
    row = 1
    batches = pq.ParquetFile(info.path).iter_batches(batch_size=PARQUET_ROWS, columns=[info.header[j] for j in wanted])
    for batch in batches:
        fields = {}
        for k, j in enumerate(wanted):
            col = batch.column(k)
            if pa.types.is_timestamp(col.type) or pa.types.is_date(col.type):
                col = pc.strftime(col, format="%Y-%m-%dT%H:%M:%S")
            fields[j] = pc.cast(col, _STR)
        yield Block(np.arange(row, row + batch.num_rows, dtype=np.int64), fields)
        row += batch.num_rows
