"""Read backlink exports from any supported tool into the canonical links table.

Supported formats (:data:`FORMATS`): Ahrefs (Site Explorer export, usually UTF-16 LE +
tabs, and the API v3 field names), Semrush Backlink Analytics, Semrush Backlink Audit,
Moz Link Explorer, Majestic, Google Search Console ("Latest links" / sample links), a
generic CSV with recognisable URL / anchor columns, and a plain list of URLs.

How a file is read
------------------
1. :func:`detect` sniffs the encoding (BOM, UTF-8, BOM-less UTF-16, cp1252 fallback only
   when the bytes are not UTF-8), the header line (vendor preambles are skipped), the
   delimiter and the vendor, and maps vendor columns to :mod:`toxlink.schema` columns.
2. The file is decoded incrementally in blocks of a few MiB, re-encoded to UTF-8 and split
   into CSV records with numpy (quote parity), which gives every record its physical line
   number and catches ragged rows, NUL bytes and unterminated quotes with file/line/column.
3. pyarrow's multithreaded CSV reader parses each block of complete records, converting
   numbers, true/false words and ISO dates itself while a file's values allow it with the
   same result as the string path (``_typed_fields``); other values are converted to
   canonical dtypes with vectorised pyarrow/pandas kernels, never per row in Python. A block
   the parser rejects is re-read the careful way, which names the bad line and column.

Memory is bounded by the block size and by 16 bytes per distinct link kept for duplicate
detection (a 64-bit hash of source URL, target URL and anchor plus its first occurrence).
"""

from __future__ import annotations

import codecs
import csv
import os
import re
from dataclasses import dataclass, field
from typing import Iterator

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from toxlink import schema as S
from toxlink.hashing import MUL64 as _MUL64
from toxlink.hashing import hash_strings
from toxlink.hashing import mix64 as _mix64
from toxlink.urls import _buffers, _issues_and_hosts, _remember_hosts, _trimmed, has_whitespace_run

__all__ = ["FORMATS", "ExportError", "ExportInfo", "detect", "iter_export", "read_export", "inspect"]

FORMATS = ("ahrefs", "semrush", "semrush-audit", "moz", "majestic", "gsc", "generic", "url-list", "toxlink")

_BLOCK_BYTES = 1 << 20  # raw bytes read and decoded per step (small reads reuse the allocator's memory)
_PARSE_BYTES = 8 << 20  # decoded bytes gathered before parsing; bounds memory per block
_SAMPLE_BYTES = 1 << 20  # bytes inspected for encoding detection
_HEADER_SEARCH_LINES = 50  # vendor preambles (Moz puts a few lines above the header)
_MAX_RECORD_BYTES = 64 << 20  # a "record" longer than this is an unterminated quote


class ExportError(Exception):
    """An export cannot be read; ``str()`` names the file, line and column where known.

    Attributes
    ----------
    path : str
    line : int or None
        1-based physical line number in the file.
    column : int or None
        1-based field number.
    reason : str
    """

    def __init__(self, path, reason: str, line: int | None = None, column: int | None = None):
        self.path = str(path)
        self.line = line
        self.column = column
        self.reason = reason
        where = self.path
        if line is not None:
            where += f", line {line}"
        if column is not None:
            where += f", column {column}"
        super().__init__(f"{where}: {reason}")


@dataclass
class ExportInfo:
    """What :func:`detect` found out about one export file.

    ``mapping`` is ``{canonical column: vendor column}``; ``header_line`` is the 1-based
    line of the header (``None`` for a URL list); lines above it are a vendor preamble.
    """

    path: str
    vendor: str
    encoding: str
    delimiter: str | None
    header_line: int | None
    mapping: dict[str, str] = field(default_factory=dict)
    unmapped: list[str] = field(default_factory=list)
    header: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # private: per canonical column (field index or indices, conversion kind)
    _plan: dict = field(default_factory=dict, repr=False)
    _bom: int = field(default=0, repr=False)
    _dayfirst: bool = field(default=False, repr=False)
    _typed: dict | None = field(default=None, repr=False)  # see _typed_fields


# --- vendor column vocabularies ----------------------------------------------------------
# Header names are compared after _norm() (lower case, "_"/"-" -> space, spaces collapsed).
# Each entry: canonical column -> (kind, aliases in priority order). Kinds:
#   str, url, anchor, num, date, bool (blank = missing), flag (blank = False),
#   notbool (negated: is_dofollow -> nofollow), lost (blank/live = False), redirect
#   (any non-blank code/flag = True), snippet (left+right context joined).

_COMMON = {
    S.FIRST_SEEN: ("date", ("first seen", "first seen date", "date first seen", "first found", "firstindexeddate", "first indexed date", "first seen link", "discovered")),
    S.LAST_SEEN: ("date", ("last seen", "last seen date", "date last seen", "lastseendate", "last crawled", "last check", "last checked")),
    S.SOURCE_IP: ("str", ("ip", "ip address", "source ip", "referring ip", "sourceip", "source ip address")),
    S.HTTP_CODE: ("num", ("http code", "http status", "status code", "referring page http code", "http code source")),
    S.LANGUAGE: ("str", ("language", "languages", "lang")),
}

_VENDORS: dict[str, dict[str, tuple[str, tuple[str, ...]]]] = {
    # Ahrefs Site Explorer export column names, then the API v3 field names (url_from, ...).
    "ahrefs": {
        S.SOURCE_URL: ("url", ("referring page url", "url from")),
        S.TARGET_URL: ("str", ("target url", "url to")),
        S.ANCHOR: ("anchor", ("anchor", "anchor text")),
        S.PAGE_TITLE: ("str", ("referring page title", "title")),
        S.LANGUAGE: ("str", ("language", "languages")),
        S.HTTP_CODE: ("num", ("referring page http code", "http code")),
        S.DOMAIN_RATING: ("num", ("domain rating", "dr", "domain rating source")),
        S.PAGE_RATING: ("num", ("url rating", "ur", "url rating source")),
        S.DOMAIN_TRAFFIC: ("num", ("domain traffic", "traffic domain")),
        S.PAGE_TRAFFIC: ("num", ("page traffic", "traffic")),
        S.EXTERNAL_LINKS: ("num", ("external links", "links external")),
        S.INTERNAL_LINKS: ("num", ("internal links", "links internal")),
        S.SURROUNDING_TEXT: ("snippet", ("left context|right context", "snippet left|snippet right")),
        S.NOFOLLOW: ("bool", ("nofollow", "is nofollow", "is dofollow!notbool")),
        S.UGC: ("bool", ("ugc", "is ugc")),
        S.SPONSORED: ("bool", ("sponsored", "is sponsored")),
        S.CONTENT_LINK: ("bool", ("content", "is content")),
        S.REDIRECT: ("redirect", ("redirect code", "redirect")),
        S.IMAGE: ("bool", ("image", "is image")),
        S.FRAME: ("bool", ("frame", "is frame")),
        S.FORM: ("bool", ("form", "is form")),
        S.SITEWIDE: ("bool", ("sitewide", "is sitewide")),
        S.LOST: ("lost", ("lost status", "is lost", "lost")),
        S.NEW_LINK: ("bool", ("is new", "new")),
        S.VENDOR_SPAM: ("bool", ("is spam",)),
        S.FIRST_SEEN: ("date", ("first seen", "first seen link")),
        S.LAST_SEEN: ("date", ("last seen", "last visited")),
        S.LINK_TYPE: ("str", ("type", "page type", "link type", "page category", "page category source")),
        S.SOURCE_IP: ("str", ("ip", "ip address")),
    },
    # Semrush Backlink Analytics > Backlinks > Export.
    "semrush": {
        S.SOURCE_URL: ("url", ("source url",)),
        S.TARGET_URL: ("str", ("target url",)),
        S.ANCHOR: ("anchor", ("anchor",)),
        S.PAGE_TITLE: ("str", ("source title",)),
        S.PAGE_RATING: ("num", ("page ascore", "page as")),
        S.EXTERNAL_LINKS: ("num", ("external links",)),
        S.INTERNAL_LINKS: ("num", ("internal links",)),
        S.NOFOLLOW: ("bool", ("nofollow",)),
        S.SPONSORED: ("bool", ("sponsored",)),
        S.UGC: ("bool", ("ugc",)),
        S.TEXT_LINK: ("bool", ("text",)),
        S.FRAME: ("bool", ("frame",)),
        S.FORM: ("bool", ("form",)),
        S.IMAGE: ("bool", ("image",)),
        S.SITEWIDE: ("bool", ("sitewide",)),
        S.FIRST_SEEN: ("date", ("first seen",)),
        S.LAST_SEEN: ("date", ("last seen",)),
        S.NEW_LINK: ("bool", ("new link",)),
        S.LOST: ("bool", ("lost link",)),
        S.SOURCE_IP: ("str", ("ip", "source ip")),
    },
    # Moz: Open Site Explorer names (URL, Title, Anchor Text, Spam Score, Page Authority,
    # Domain Authority, ..., Target URL, Only rel=nofollow, 301) and Link Explorer variants.
    "moz": {
        S.SOURCE_URL: ("url", ("url", "source url", "linking page", "linking page url")),
        S.TARGET_URL: ("str", ("target url",)),
        S.ANCHOR: ("anchor", ("anchor text", "anchor")),
        S.PAGE_TITLE: ("str", ("title", "page title")),
        S.SPAM_SCORE: ("num", ("spam score",)),
        S.PAGE_RATING: ("num", ("page authority", "pa")),
        S.DOMAIN_RATING: ("num", ("domain authority", "da")),
        S.NOFOLLOW: ("bool", ("only rel=nofollow", "nofollow")),
        S.REDIRECT: ("bool", ("301", "redirect")),
        S.LINK_TYPE: ("str", ("link type",)),
        S.LOST: ("bool", ("lost", "date lost")),
        S.FIRST_SEEN: ("date", ("date first seen", "first seen")),
        S.LAST_SEEN: ("date", ("date last seen", "last seen")),
    },
    # Majestic Site Explorer backlinks download (also the API field names: SourceURL, ...).
    "majestic": {
        S.SOURCE_URL: ("url", ("source url", "sourceurl")),
        S.TARGET_URL: ("str", ("target url", "targeturl")),
        S.ANCHOR: ("anchor", ("anchor text", "anchortext")),
        S.PAGE_TITLE: ("str", ("source title", "title")),
        S.FIRST_SEEN: ("date", ("source first found date", "firstindexeddate", "first indexed date")),
        S.LAST_SEEN: ("date", ("source crawl date", "lastseendate", "last seen date", "date")),
        S.NOFOLLOW: ("flag", ("flagnofollow", "flag nofollow")),
        S.IMAGE: ("flag", ("flagimagelink", "flagimages", "flag image link")),
        S.REDIRECT: ("flag", ("flagredirect", "flag redirect")),
        S.FRAME: ("flag", ("flagframe", "flag frame")),
        S.LOST: ("flag", ("flagdeleted", "flag deleted", "datelost", "date lost")),
        S.TRUST_FLOW: ("num", ("sourcetrustflow", "source trust flow")),
        S.CITATION_FLOW: ("num", ("sourcecitationflow", "source citation flow")),
        S.LINK_TYPE: ("str", ("linktype", "link type")),
        S.SOURCE_IP: ("str", ("sourceip", "source ip")),
    },
    # Google Search Console > Links > "Latest links" / "More sample links".
    "gsc": {
        S.SOURCE_URL: ("url", ("linking page", "linking pages url", "url")),
        S.LAST_SEEN: ("date", ("last crawled",)),
    },
}
# Semrush Backlink Audit export: the Backlinks columns plus toxicity.
_VENDORS["semrush-audit"] = {
    **_VENDORS["semrush"],
    S.SPAM_SCORE: ("num", ("toxicity score", "toxic score", "tox score")),
    S.LINK_TYPE: ("str", ("toxic markers", "link type")),
}
_VENDORS["generic"] = {
    S.SOURCE_URL: ("url", ("source url", "referring url", "referring page url", "referring page", "url from",
                           "from url", "linking url", "linking page", "backlink url", "backlink", "page url",
                           "source", "from", "url", "link")),
    S.TARGET_URL: ("str", ("target url", "url to", "to url", "target", "destination", "to")),
    S.ANCHOR: ("anchor", ("anchor text", "anchor", "link text")),
    S.PAGE_TITLE: ("str", ("page title", "title", "source title", "referring page title")),
    S.NOFOLLOW: ("bool", ("nofollow", "is nofollow")),
    S.SPAM_SCORE: ("num", ("spam score", "toxicity score")),
    S.DOMAIN_RATING: ("num", ("domain rating", "domain authority", "dr", "da")),
    S.PAGE_RATING: ("num", ("url rating", "page authority", "ur", "pa")),
    **_COMMON,
}
# A canonical links table saved by toxlink or a pipeline (CSV or Parquet, e.g. the partitions
# of a split export for the dask engine): the column names of toxlink.schema.
_CANONICAL_KIND = {**dict.fromkeys(S.STRING, "str"), S.SOURCE_URL: "url", S.ANCHOR: "anchor",
                   **dict.fromkeys(S.BOOL, "bool"), **dict.fromkeys(S.DATE, "date"), **dict.fromkeys(S.FLOAT, "num")}
_VENDORS["toxlink"] = {c: (k, (c.replace("_", " "),)) for c, k in _CANONICAL_KIND.items()}
for _v in ("ahrefs", "semrush", "semrush-audit", "moz", "majestic"):
    _VENDORS[_v] = {**_COMMON, **_VENDORS[_v]}

# Search Console sheets that are summaries, not link lists: first header cell -> advice.
_GSC_NOT_LINKS = {
    ("site", "linking pages"): "Top linking sites",
    ("top linking sites",): "Top linking sites",
    ("target page", "incoming links"): "Top linked pages",
    ("top linked pages",): "Top linked pages",
    ("top target pages",): "Top linked pages",
    ("top linking text",): "Top linking text",
    ("linking text",): "Top linking text",
}

_TRUE = ["true", "yes", "y", "1", "t", "x", "+", "on", "✓", "checked", "ja", "oui", "sí", "si"]
_FALSE = ["false", "no", "n", "0", "f", "-", "off", "nein", "non", "", "none"]
_NOT_LOST = ["", "false", "no", "0", "-", "live", "active", "alive", "not lost", "found", "none"]


def _norm(name: str) -> str:
    name = name.replace("\ufeff", "").strip().strip('"').strip().lower()
    name = re.sub(r"[_\-]+", " ", name)
    return re.sub(r"\s+", " ", name)


# --- detection -------------------------------------------------------------------------

def _sniff_encoding(raw: bytes) -> tuple[str, int, list[str]]:
    """Return (python codec, BOM length, notes) for the first bytes of a file."""
    if raw.startswith(codecs.BOM_UTF8):
        return "utf-8", 3, []
    if raw.startswith(codecs.BOM_UTF32_LE) or raw.startswith(codecs.BOM_UTF32_BE):
        return ("utf-32-le" if raw.startswith(codecs.BOM_UTF32_LE) else "utf-32-be"), 4, []
    if raw.startswith(codecs.BOM_UTF16_LE):
        return "utf-16-le", 2, []
    if raw.startswith(codecs.BOM_UTF16_BE):
        return "utf-16-be", 2, []
    head = raw[:4096]
    if len(head) >= 4 and head.count(0):
        even, odd = head[0::2], head[1::2]
        # Text in BOM-less UTF-16 has a NUL in nearly every other byte; a stray NUL does not.
        if odd.count(0) > 0.4 * len(odd) and even.count(0) < 0.05 * len(even):
            return "utf-16-le", 0, ["UTF-16 LE without BOM (guessed from the byte pattern)"]
        if even.count(0) > 0.4 * len(even) and odd.count(0) < 0.05 * len(odd):
            return "utf-16-be", 0, ["UTF-16 BE without BOM (guessed from the byte pattern)"]
    try:
        codecs.getincrementaldecoder("utf-8")().decode(raw, final=False)
        return "utf-8", 0, []
    except UnicodeDecodeError as e:
        bad = raw[e.start:e.start + 1].hex()
        line = raw[:e.start].count(b"\n") + 1
        try:
            raw.decode("cp1252")
            enc = "cp1252"
        except UnicodeDecodeError:
            enc = "latin-1"
        return enc, 0, [f"not valid UTF-8 (byte 0x{bad} on line {line}); read as {enc}"]


def _looks_like_url(line: str) -> bool:
    s = line.strip().strip('"')
    return bool(re.match(r"^(https?://|www\.)\S+$", s, re.I)) or bool(
        re.match(r"^[a-z0-9][a-z0-9.\-]*\.[a-z]{2,}(/\S*)?$", s, re.I))


def _split_header(line: str) -> tuple[list[str], str]:
    """Parse one header line, choosing the delimiter that yields the most fields."""
    best: tuple[list[str], str] = ([line], ",")
    for delim in ("\t", ",", ";", "|"):
        if delim not in line:
            continue
        try:
            fields = next(csv.reader([line], delimiter=delim))
        except (csv.Error, StopIteration):
            continue
        if len(fields) > len(best[0]):
            best = (fields, delim)
    return best


def _match(vendor: str, names: list[str]) -> dict[str, tuple[str, tuple[int, ...], str]]:
    """Map canonical columns to (kind, field indices, vendor column label) for *vendor*."""
    index: dict[str, int] = {}
    for i, n in enumerate(names):
        index.setdefault(_norm(n), i)
    plan = {}
    used: set[int] = set()
    for canon, (base_kind, aliases) in _VENDORS[vendor].items():
        for alias in aliases:
            alias, _, kind = alias.partition("!")  # "is dofollow!notbool": a negated alias
            kind = kind or base_kind
            parts = alias.split("|")
            idx = [index.get(p) for p in parts]
            if kind == "snippet":
                if all(i is not None for i in idx) and not used.intersection(idx):
                    plan[canon] = (kind, tuple(idx), " + ".join(names[i] for i in idx))
                    used.update(idx)
                    break
            elif idx[0] is not None and idx[0] not in used:
                plan[canon] = (kind, (idx[0],), names[idx[0]])
                used.add(idx[0])
                break
    return plan


def _vendor_of(names: list[str]) -> str | None:
    if S.SOURCE_URL in {x.strip() for x in names}:  # canonical names are snake_case, vendors' are not
        return "toxlink"
    n = {_norm(x) for x in names}
    if "referring page url" in n or "url from" in n:
        return "ahrefs"
    if ({"source url", "sourceurl"} & n) and any(
            x.startswith("flag") or x.startswith("source trust flow") or x.startswith("sourcetrustflow")
            or x == "sourcecitationflow" for x in n):
        return "majestic"
    if "source url" in n and n & {"toxicity score", "toxic score", "toxic markers"}:
        return "semrush-audit"
    if "source url" in n and n & {"page ascore", "source title", "target url"}:
        return "semrush"
    if "url" in n and n & {"spam score", "page authority", "domain authority"}:
        return "moz"
    if "linking page" in n and n <= {"linking page", "last crawled"}:
        return "gsc"
    return None


def _gsc_summary_sheet(names: list[str]) -> str | None:
    n = tuple(_norm(x) for x in names)
    for key, sheet in _GSC_NOT_LINKS.items():
        if n[: len(key)] == key:
            return sheet
    return None


def detect(path, format: str | None = None) -> ExportInfo:
    """Detect the vendor, encoding, delimiter and header of one export file.

    Parameters
    ----------
    path : str or Path
    format : str, optional
        One of :data:`FORMATS` to skip vendor detection (encoding and delimiter are still
        sniffed).

    Returns
    -------
    ExportInfo

    Raises
    ------
    ExportError
        Unreadable or empty file, unknown format, a Search Console summary sheet, or no
        source URL column.
    """
    if format is not None and format not in FORMATS:
        raise ExportError(path, f"unknown format {format!r}; choose one of {', '.join(FORMATS)}")
    try:
        with open(path, "rb") as fh:
            raw = fh.read(_SAMPLE_BYTES)
    except OSError as e:
        raise ExportError(path, f"cannot read the file ({e.strerror or e})") from None
    if not raw.strip():
        raise ExportError(path, "the file is empty")
    if raw[:4] == _PARQUET_MAGIC:
        return _detect_parquet(path, format)
    encoding, bom, notes = _sniff_encoding(raw)
    text = raw[bom:].decode(encoding, errors="replace")
    lines = text.split("\n", _HEADER_SEARCH_LINES + 1)
    if len(lines) > _HEADER_SEARCH_LINES or len(raw) == _SAMPLE_BYTES:
        lines = lines[:-1]  # the rest of the file, or a line cut by the sample's end
    lines = [ln.rstrip("\r").replace("\x00", "") for ln in lines]
    nonblank = [(i, ln) for i, ln in enumerate(lines) if ln.strip()]
    if not nonblank:
        raise ExportError(path, "the file has no text lines")
    info = ExportInfo(path=str(path), vendor="", encoding=encoding, delimiter=None, header_line=None,
                      notes=notes, _bom=bom)

    first_i, first = nonblank[0]
    if format == "url-list" or (format is None and _looks_like_url(first)):
        info.vendor = "url-list"
        info.mapping = {S.SOURCE_URL: "(whole line)"}
        info._plan = {S.SOURCE_URL: ("url", (0,), "(whole line)")}
        return info

    fallback = None  # a header with recognisable columns but no source URL column
    for i, line in nonblank[:_HEADER_SEARCH_LINES]:
        names, delim = _split_header(line)
        if i == first_i and format in (None, "gsc"):
            sheet = _gsc_summary_sheet(names)
            if sheet:
                raise ExportError(
                    path, f'this is the Search Console "{sheet}" sheet, which lists {"sites" if "sites" in sheet else "pages or anchors"} '
                    'with counts, not links; in Search Console open Links, click "Export external links" and '
                    'choose "Latest links" (or "More sample links") instead', line=i + 1)
        vendor = format or _vendor_of(names)
        candidates = [vendor] if vendor else ["generic"]
        for v in candidates:
            plan = _match(v, names)
            if S.SOURCE_URL in plan:
                info.vendor, info.delimiter, info.header_line = v, delim, i + 1
                info.header = [n.strip() for n in names]
                info._plan = plan
                info.mapping = {c: plan[c][2] for c in S.COLUMNS if c in plan}
                used = {j for p in plan.values() for j in p[1]}
                info.unmapped = [n for j, n in enumerate(info.header) if j not in used]
                if i > first_i:
                    info.notes.append(f"skipped {i} preamble line(s) above the header on line {i + 1}")
                return info
            if plan and fallback is None:
                fallback = (i, names, plan, v)
    if fallback is not None:
        i, names, plan, v = fallback
        looked = ", ".join(f'"{a}"' for a in _VENDORS[v][S.SOURCE_URL][1])
        raise ExportError(path, f"missing required column: no source URL column in the header "
                                f"(read as {v}; looked for {looked})", line=i + 1)
    if format is not None:
        looked = ", ".join(f'"{a}"' for a in _VENDORS[format][S.SOURCE_URL][1])
        raise ExportError(path, f"missing required column: no source URL column for format {format!r} "
                                f"(looked for {looked})", line=first_i + 1)
    shown = first if len(first) <= 120 else first[:117] + "..."
    raise ExportError(path, f"unknown format: the first line ({shown!r}) is neither a known export header "
                            f"nor a URL; pass format= one of {', '.join(FORMATS)}", line=first_i + 1)


_PARQUET_MAGIC = b"PAR1"


def _detect_parquet(path, format: str | None) -> ExportInfo:
    """A Parquet export: its column names are matched like a CSV header."""
    import pyarrow.parquet as pq

    try:
        names = list(pq.ParquetFile(path).schema_arrow.names)
    except (OSError, pa.ArrowException) as e:
        raise ExportError(path, f"cannot read this Parquet file ({_clean_arrow(e)})") from None
    vendor = format or _vendor_of(names) or "generic"
    plan = _match(vendor, names)
    if S.SOURCE_URL not in plan:
        raise ExportError(path, f"missing required column: no source URL column in the Parquet schema (read as {vendor})")
    info = ExportInfo(path=str(path), vendor=vendor, encoding="parquet", delimiter=None, header_line=None,
                      header=names, notes=["Parquet file: source_row is the 1-based row number"])
    info._plan = plan
    info.mapping = {c: plan[c][2] for c in S.COLUMNS if c in plan}
    used = {j for p in plan.values() for j in p[1]}
    info.unmapped = [n for j, n in enumerate(names) if j not in used]
    return info


def _parquet_blocks(info: ExportInfo) -> Iterator[tuple[_Block, dict[int, pa.ChunkedArray]]]:
    """Row batches of a Parquet export as blocks plus {field index: string array}."""
    import pyarrow.parquet as pq

    wanted = sorted({j for p in info._plan.values() for j in p[1]})
    pf = pq.ParquetFile(info.path)
    row = 1
    for batch in pf.iter_batches(batch_size=_PARQUET_ROWS, columns=[info.header[j] for j in wanted], use_threads=False):
        n = batch.num_rows
        cols = {}
        for k, j in enumerate(wanted):
            col = batch.column(k)
            if pa.types.is_timestamp(col.type) or pa.types.is_date(col.type):
                col = pc.strftime(col, format="%Y-%m-%dT%H:%M:%S")
            cols[j] = pa.chunked_array([pc.cast(col, pa.string())])
        lines = np.arange(row, row + n, dtype=np.int64)
        yield _Block(data=memoryview(b""), starts=lines, ends=lines, lines=lines, blank=0), cols
        row += n


_PARQUET_ROWS = 65_536


# --- streaming records -----------------------------------------------------------------

def _utf8_blocks(info: ExportInfo) -> Iterator[bytes | np.ndarray]:
    """Yield the file as UTF-8 bytes in blocks (bytes, or uint8 arrays), validating the
    declared encoding."""
    path = info.path
    try:
        fh = open(path, "rb")
    except OSError as e:
        raise ExportError(path, f"cannot read the file ({e.strerror or e})") from None
    with fh:
        fh.seek(info._bom)
        dec = codecs.getincrementaldecoder(info.encoding)(errors="strict")
        passthrough = info.encoding == "utf-8"
        units = {"utf-16-le": "<u2", "utf-16-be": ">u2"}.get(info.encoding)
        consumed = 0  # raw bytes decoded before this read; lines are only counted on error
        while True:
            try:
                raw = fh.read(_BLOCK_BYTES)
            except OSError as e:
                raise ExportError(path, f"cannot read the file ({e.strerror or e})") from None
            final = not raw
            if units and raw and not len(raw) % 2 and not dec.getstate()[0]:
                code = np.frombuffer(raw, dtype=units)
                if code.max() < 0x80:
                    # ASCII text (nearly every export): the code units are its UTF-8 bytes, and
                    # the decoder, which holds no partial character, is not needed for it.
                    consumed += len(raw)
                    yield code.astype(np.uint8)
                    continue
            try:
                text = dec.decode(raw, final=final)
            except UnicodeDecodeError as e:
                partial = raw[: e.start].decode(info.encoding, errors="replace")
                line = _lines_before(path, info, consumed) + partial.count("\n")
                bad = e.object[e.start:e.end].hex(" ")
                raise ExportError(path, f"cannot be decoded as {info.encoding} (bytes {bad}); the file "
                                        "mixes encodings or is damaged", line=line) from None
            consumed += len(raw)
            if passthrough:
                out = raw  # already valid UTF-8; records are only cut at newlines
            else:
                out = text.encode("utf-8", errors="surrogatepass")
            if out:
                yield out
            if final:
                return


def _lines_before(path, info: ExportInfo, consumed: int) -> int:
    """1 + the newlines in the first *consumed* bytes after the BOM (for an error message)."""
    dec = codecs.getincrementaldecoder(info.encoding)(errors="replace")
    count = 1
    with open(path, "rb") as fh:
        fh.seek(info._bom)
        while consumed > 0:
            raw = fh.read(min(_BLOCK_BYTES, consumed))
            if not raw:
                break
            consumed -= len(raw)
            count += dec.decode(raw).count("\n")
    return count


@dataclass
class _Block:
    data: memoryview  # complete records, UTF-8, ends with "\n"
    starts: np.ndarray  # (r,) byte offset of each non-blank record
    ends: np.ndarray  # (r,) byte offset of its terminating "\n"
    lines: np.ndarray  # (r,) 1-based physical line of each record
    blank: int  # blank lines skipped in this block
    # False when the field counts were not checked yet: a block without quote characters
    # goes to the CSV parser first, and only a block it rejects is checked row by row.
    checked: bool = True


def _records(info: ExportInfo) -> Iterator[_Block]:
    """Split the decoded stream into blocks of complete records with their line numbers."""
    carry = b""
    next_line = 1
    skip = info.header_line or 0  # header and preamble lines
    pending: list[bytes] = []
    size = 0
    for piece in _utf8_blocks(info):
        # Parsing has a fixed cost per block, so small decoded pieces are gathered first.
        pending.append(piece)
        size += len(piece)
        if size < _PARSE_BYTES:
            continue
        data = b"".join([carry, *pending])
        pending, size = [], 0
        carry, skip, next_line, block = _take(info, data, skip, next_line)
        if block is not None:
            yield block
    data = b"".join([carry, *pending])
    if data:
        if not data.endswith(b"\n"):
            data += b"\n"  # the last line has no line break
        _, skip, next_line, block = _take(info, data, skip, next_line, final=True)
        if block is not None:
            yield block


def _take(info: ExportInfo, data: bytes, skip: int, next_line: int, final: bool = False):
    """Skip header lines still to skip, then cut *data* into a block and a remainder."""
    while skip and data:
        cut = data.find(b"\n")
        if cut < 0:
            break
        data = data[cut + 1:]
        skip -= 1
        next_line += 1
    if skip or not data.strip(b"\r\n") and final:
        return data, skip, next_line, None
    block, carry, next_line = _cut(info.path, info, data, next_line, final=final)
    if block is None and len(carry) > _MAX_RECORD_BYTES:
        raise _unterminated(info.path, carry, next_line, info.delimiter)
    return carry, skip, next_line, block


def _open_quote_column(record: bytes, delim: str | None) -> int | None:
    """Field number where the unbalanced quote of *record* opens (same rule as _cut)."""
    if not delim:
        return None
    text = record[: 1 << 20].decode("utf-8", errors="replace")
    field_no, in_q, opened = 1, False, None
    for ch in text:
        if in_q:
            if ch == '"':
                in_q = False
        elif ch == '"':
            in_q, opened = True, field_no
        elif ch == delim:
            field_no += 1
    return opened if in_q else None


def _unterminated(path, record: bytes, line: int, delim: str | None) -> ExportError:
    column = _open_quote_column(record, delim)
    reason = "unterminated quoted field (the quote opened here is never closed"
    if column is not None and delim:
        fields = record[: 1 << 20].decode("utf-8", errors="replace").split(delim)
        if column <= len(fields) and not fields[column - 1].lstrip().startswith('"'):
            reason += "; it is a stray quote inside an unquoted value"
    return ExportError(path, reason + ")", line=line, column=column)


def _cut(path, info: ExportInfo, data: bytes, line0: int, final: bool):
    """Cut *data* after its last record boundary; return (block, remainder, next line).

    Works on the bytes with numpy: a newline ends a record unless an odd number of quote
    characters precede it in the record (RFC 4180 quoting, "" escapes count twice).
    Temporaries are one byte per input byte at most, so memory stays a small multiple of
    the block size.
    """
    arr = np.frombuffer(data, dtype=np.uint8)
    nl = np.flatnonzero(arr == 10)
    if not len(nl):
        return None, data, line0
    url_list = _whole_line(info)
    quotes = None
    if not url_list and data.find(b'"') >= 0:
        quotes = _Quotes(arr)
        boundary_idx = np.flatnonzero(quotes.outside(nl))
    else:
        boundary_idx = np.arange(len(nl))
    if not len(boundary_idx):
        if final:
            raise _unterminated(path, data, line0, info.delimiter)
        return None, data, line0
    ends = nl[boundary_idx]
    last = int(ends[-1])
    remainder = data[last + 1:]
    if final and remainder.strip():
        raise _unterminated(path, remainder, line0 + int(boundary_idx[-1]) + 1, info.delimiter)
    starts = np.empty_like(ends)
    starts[0] = 0
    starts[1:] = ends[:-1] + 1
    lines = line0 + np.concatenate(([0], boundary_idx[:-1] + 1))
    next_line = line0 + int(boundary_idx[-1]) + 1

    nul = data.find(b"\x00", 0, last + 1)
    if nul >= 0:
        k = int(np.searchsorted(ends, nul))
        raise ExportError(path, "NUL byte in the data: the file is binary, damaged, or in an encoding "
                                "that was not recognised", line=int(lines[k]),
                          column=_field_at(data, int(starts[k]), nul, info.delimiter))

    length = ends - starts
    cr_only = (length == 1) & (arr[starts.clip(max=len(arr) - 1)] == 13)
    blank = (length == 0) | cr_only
    keep = ~blank
    block = _Block(memoryview(data)[: last + 1], starts[keep], ends[keep], lines[keep], int(blank.sum()))
    if not url_list and len(block.starts):
        if quotes is not None:
            block = _check_fields(path, info, arr, quotes, block)
        else:
            # Without quotes a row's field count is its delimiter count + 1, which is what
            # the CSV parser checks as well; _parse_block runs _check_fields if it objects.
            block.checked = False
    return block, remainder, next_line


def _whole_line(info: ExportInfo) -> bool:
    """URL lists and one-column files: a record is a whole line, commas and all."""
    return info.vendor == "url-list" or len(info.header) == 1


def _field_at(data: bytes, start: int, pos: int, delim: str | None) -> int | None:
    if not delim:
        return None
    seg = data[start:pos].decode("utf-8", errors="replace")
    return len(next(csv.reader([seg], delimiter=delim))) if seg else 1


class _Quotes:
    """Where the quoted fields of a block are: the parity of the quote characters before a
    byte is 1 from an opening quote to its closing one (RFC 4180, "" escapes count twice).

    With few quotes, a binary search in their positions; with many, one running parity
    over every byte (one byte per input byte).
    """

    def __init__(self, arr: np.ndarray):
        pos = np.flatnonzero(arr == 34)
        if len(pos) * 32 < len(arr):
            self.pos, self.run = pos, None
        else:
            self.pos, self.run = None, np.bitwise_xor.accumulate((arr == 34).view(np.uint8))

    def outside(self, at: np.ndarray) -> np.ndarray:
        """Whether each (non-quote) byte position of *at* is outside quoted fields."""
        if self.run is not None:
            return self.run[at] == 0
        return (np.searchsorted(self.pos, at) & 1) == 0


def _check_fields(path, info: ExportInfo, arr: np.ndarray, quotes: _Quotes | None, block: _Block) -> _Block:
    """Reject rows with too many fields; pad rows with too few (trailing empties trimmed)."""
    width = len(info.header)
    pos = np.flatnonzero(arr == ord(info.delimiter))
    if quotes is not None:
        pos = pos[quotes.outside(pos)]  # delimiters outside quotes
    nfields = np.searchsorted(pos, block.ends) - np.searchsorted(pos, block.starts) + 1
    over = np.flatnonzero(nfields > width)
    if len(over):
        k = int(over[0])
        raise ExportError(path, f"row has {int(nfields[k])} fields but the header has {width} "
                                "(an unquoted delimiter or a broken quote in this row)",
                          line=int(block.lines[k]), column=width + 1)
    short = np.flatnonzero(nfields < width)
    if len(short):
        # Rare: rebuild the block with the missing trailing delimiters appended.
        pieces, prev, sep = [], 0, info.delimiter.encode()
        data = block.data
        shift = np.zeros(len(block.starts) + 1, dtype=np.int64)
        for k in short:
            e = int(block.ends[k])
            if e > 0 and data[e - 1] == 13:
                e -= 1
            missing = width - int(nfields[k])
            pieces.append(data[prev:e])
            pieces.append(sep * missing)
            prev = e
            shift[k + 1] += missing
        pieces.append(data[prev:])
        shift = np.cumsum(shift)
        block = _Block(memoryview(b"".join(pieces)), block.starts + shift[:-1], block.ends + shift[1:],
                       block.lines, block.blank)
    return block


# --- conversion to canonical columns ---------------------------------------------------

def _parse_block(info: ExportInfo, block: _Block) -> dict[int, pa.ChunkedArray]:
    """Parse one block of records into {field index: array} for the mapped fields.

    Fields are strings, except those :func:`_typed_fields` lets the CSV parser convert
    itself (numbers to float64, true/false words to bool, ISO dates to timestamps) while a
    file's values allow it.
    """
    n = len(block.starts)
    wanted = sorted({j for p in info._plan.values() for j in p[1]})
    if _whole_line(info):
        # Each record is the whole line: value i runs from its start to the next record's
        # start (its newline and any blank lines after it are trimmed away).
        offsets = np.append(block.starts, len(block.data)).astype(np.int32)
        arr = pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(block.data))
        arr = pc.utf8_trim_whitespace(arr)
        empty = pc.equal(pc.utf8_length(arr), 0).to_numpy(zero_copy_only=False)
        if empty.any():  # whitespace-only lines carry nothing: blank, like empty ones
            block.blank += int(empty.sum())
            block.starts, block.ends, block.lines = block.starts[~empty], block.ends[~empty], block.lines[~empty]
            arr = arr.filter(pa.array(~empty))
        if info.vendor != "url-list":  # a one-column CSV may quote its values
            arr = pc.replace_substring(pc.replace_substring_regex(arr, r'^"(.*)"$', r"\1"), '""', '"')
        return {0: pa.chunked_array([arr])}
    names = [f"c{i}" for i in range(len(info.header))]
    table = _fast_table(info, block, names, wanted)
    if table is not None:
        return {j: table.column(names[j]) for j in wanted}
    # Something in this block is wrong: the careful path below finds the row and says why.
    if not block.checked:
        block = _check_fields(info.path, info, np.frombuffer(block.data, dtype=np.uint8), None, block)
        block.checked = True
    try:
        table = _read_block(info, block, names, wanted, {}, threads=False)
    except (pa.ArrowInvalid, pa.ArrowException) as e:
        line = _arrow_error_line(str(e), block)
        raise ExportError(info.path, f"cannot parse this row ({_clean_arrow(e)})", line=line) from None
    if table.num_rows != n:
        # Records split by quote parity disagree with the CSV parser: a quote inside an
        # unquoted field. Point at the first record that spans several lines.
        multi = np.flatnonzero(np.diff(np.append(block.lines, block.lines[-1] + 1)) > 1)
        line = int(block.lines[multi[0]]) if len(multi) else int(block.lines[0])
        raise ExportError(info.path, "broken quoting: a quote character inside an unquoted field "
                                     "makes the following lines one value", line=line)
    return {j: table.column(names[j]) for j in wanted}


def _bool_words(words) -> list[str]:
    # The parser matches case-sensitively; the string path lower-cases first.
    return sorted({w2 for w in words for w2 in (w, w.upper(), w.capitalize())})


_PARSER_TRUE = _bool_words(_TRUE)
_PARSER_FALSE = _bool_words(x for x in _FALSE if x not in ("", "none"))


def _typed_fields(info: ExportInfo) -> dict[int, pa.DataType]:
    """Fields the CSV parser may convert itself, with the same result as the string path.

    Numbers: the parser accepts a subset of what :func:`_to_num` accepts and gives the same
    float (blank -> missing); "inf"/"Infinity", which _to_num leaves missing, are caught
    after parsing. Not for semicolon files, whose decimal comma _to_num rewrites.
    Booleans (``bool``/``notbool``): exactly the words of :func:`_to_bool` in lower, upper
    and capitalised case, blank -> missing. Dates: ISO 8601 without a zone, which
    :func:`_parse_dates` reads the same way; values it would not keep are caught after
    parsing (see :func:`_parsed_differently`). Text the string path trims or drops stays text
    (``large_string``, the dtype the frame keeps). Any other value makes the parser fail
    and the field is read as text from then on (see :func:`_fast_table`).
    """
    typed: dict[int, pa.DataType] = {}
    for kind, idx, _label in info._plan.values():
        if kind == "num" and info.delimiter != ";":
            typed[idx[0]] = pa.float64()
        elif kind in ("bool", "notbool"):
            typed[idx[0]] = pa.bool_()
        elif kind == "date":
            typed[idx[0]] = pa.timestamp("ns")
        elif kind in ("url", "str", "anchor"):
            typed[idx[0]] = pa.large_string()
    return typed


def _read_block(info: ExportInfo, block: _Block, names: list[str], wanted: list[int],
                typed: dict[int, pa.DataType], threads: bool) -> pa.Table:
    types = {names[j]: typed.get(j, pa.string()) for j in wanted}
    return pacsv.read_csv(
        pa.py_buffer(block.data),
        read_options=pacsv.ReadOptions(column_names=names, use_threads=threads,
                                       block_size=(1 << 20) if threads else max(len(block.data) + 1, 1 << 20)),
        parse_options=pacsv.ParseOptions(delimiter=info.delimiter, quote_char='"', double_quote=True,
                                         newlines_in_values=block.checked, ignore_empty_lines=True),
        convert_options=pacsv.ConvertOptions(
            column_types=types, include_columns=[names[j] for j in wanted],
            strings_can_be_null=False, quoted_strings_can_be_null=False, null_values=[""],
            true_values=_PARSER_TRUE, false_values=_PARSER_FALSE),
    )


def _fast_table(info: ExportInfo, block: _Block, names: list[str], wanted: list[int]) -> pa.Table | None:
    """The block parsed by Arrow's multithreaded reader with typed fields, or ``None`` when
    the parser rejects it (a malformed row) or disagrees with the record split."""
    if info._typed is None:
        info._typed = _typed_fields(info)
    while True:
        try:
            table = _read_block(info, block, names, wanted, info._typed, threads=True)
        except pa.ArrowInvalid as e:
            m = re.match(r"In CSV column #(\d+): CSV conversion error", str(e))
            j = int(m.group(1)) if m else None
            if j is None or info._typed.get(j) in (None, pa.large_string()):
                return None
            del info._typed[j]  # a value only the string path understands: text from now on
            continue
        if table.num_rows != len(block.starts):
            return None
        differ = [j for j in wanted if _parsed_differently(table.column(names[j]))]
        if not differ:
            return table
        for j in differ:
            del info._typed[j]


# The string path's date range: years 1678-2261 (see _parse_dates), in ns since the epoch.
_DATE_MIN = int(np.datetime64("1678-01-01", "ns").astype(np.int64))
_DATE_END = int(np.datetime64("2262-01-01", "ns").astype(np.int64))


def _parsed_differently(col: pa.ChunkedArray) -> bool:
    """Whether a field the CSV parser converted holds a value the string path reads otherwise."""
    if col.type == pa.float64():  # "inf": missing for _to_num
        return bool(pc.any(pc.is_inf(col)).as_py())
    if pa.types.is_timestamp(col.type):
        # Years outside 1678-2261 are missing for _parse_dates, which keeps microseconds only.
        ns = pc.fill_null(col.cast(pa.int64()), 0).to_numpy()
        return bool(len(ns)) and bool(ns.min() < _DATE_MIN or ns.max() >= _DATE_END or (ns % 1000).any())
    return False


def _clean_arrow(e: Exception) -> str:
    msg = str(e).splitlines()[0]
    return re.sub(r"^CSV parse error: ", "", msg)


def _arrow_error_line(msg: str, block: _Block) -> int | None:
    m = re.search(r"[Rr]ow #?(\d+)", msg)
    if m and 0 < int(m.group(1)) <= len(block.lines):
        return int(block.lines[int(m.group(1)) - 1])
    return int(block.lines[0]) if len(block.lines) else None


def _to_str(arr: pa.ChunkedArray, empty_is_na: bool = True) -> pd.Series:
    return pd.Series(_str_array(arr, empty_is_na))


def _str_array(arr: pa.ChunkedArray, empty_is_na: bool = True) -> pd.arrays.ArrowStringArray:
    if empty_is_na:
        arr = _per_chunk(arr, _no_empty, lambda c: pc.if_else(pc.equal(c, ""), pa.scalar(None, c.type), c))
    return pd.arrays.ArrowStringArray(pa.chunked_array(arr).cast(pa.large_string()))


def _trim(arr: pa.ChunkedArray) -> pa.ChunkedArray:
    """``utf8_trim_whitespace``, skipped for the chunks where it has nothing to trim."""
    return _per_chunk(arr, _nothing_to_trim, pc.utf8_trim_whitespace)


def _per_chunk(arr, keep, func) -> pa.ChunkedArray:
    """*func* of each chunk of *arr*, except those *keep* (a byte test, cheaper than *func*)
    says it would return unchanged."""
    chunks = arr.chunks if isinstance(arr, pa.ChunkedArray) else [arr]
    return pa.chunked_array([c if keep(c) else func(c) for c in chunks], type=arr.type)


def _offsets(chunk: pa.Array) -> tuple[np.ndarray, np.ndarray] | None:
    """UTF-8 bytes and offsets of a ``large_string`` chunk without nulls, else None."""
    if chunk.null_count or chunk.type != pa.large_string():
        return None
    return _buffers(chunk)


def _no_empty(chunk: pa.Array) -> bool:
    found = _offsets(chunk)
    return found is not None and not (np.diff(found[1]) == 0).any()


def _nothing_to_trim(chunk: pa.Array) -> bool:
    found = _offsets(chunk)
    return found is not None and _trimmed(found[0], found[1][:-1], found[1][1:])


def _lowered(arr) -> pa.ChunkedArray:
    return pc.utf8_lower(pc.utf8_trim_whitespace(arr))


def _to_bool(arr, kind: str) -> pd.Series:
    low = _lowered(arr)
    if kind == "lost":
        truth = pc.invert(pc.is_in(low, pa.array(_NOT_LOST)))
    elif kind in ("flag", "redirect"):
        # Flag columns are blank when the flag is off; any other mark (including an HTTP
        # redirect code such as 301) turns it on.
        truth = pc.invert(pc.is_in(low, pa.array(_FALSE)))
    else:
        t = pc.is_in(low, pa.array(_TRUE))
        f = pc.is_in(low, pa.array([x for x in _FALSE if x not in ("", "none")]))  # blank = missing
        truth = pc.if_else(t, True, pc.if_else(f, False, pa.scalar(None, pa.bool_())))
        if kind == "notbool":
            truth = pc.invert(truth)
    return pd.Series(pa.chunked_array(truth).to_pandas(types_mapper={pa.bool_(): pd.BooleanDtype()}.get),
                     dtype="boolean")


_NUM_RE = r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$"


def _to_num(arr, delimiter: str | None) -> pd.Series:
    s = pc.utf8_trim_whitespace(arr)
    if delimiter == ";":
        # Semicolon files come from locales with a decimal comma ("12,5") and "." or space
        # as thousands separator.
        s = pc.replace_substring_regex(s, "[.\\s\u00a0%']", "")
        s = pc.replace_substring(s, ",", ".")
    else:
        s = pc.replace_substring_regex(s, "[,\\s\u00a0%']", "")
    ok = pc.match_substring_regex(s, _NUM_RE)
    s = pc.if_else(ok, s, pa.scalar(None, pa.string()))
    return pd.Series(pa.chunked_array(pc.cast(s, pa.float64())).to_numpy(zero_copy_only=False), dtype="float64")


def _to_date(arr, info: ExportInfo) -> pd.Series:
    s = pc.utf8_trim_whitespace(arr)
    values = pd.Series(pd.arrays.ArrowStringArray(pa.chunked_array(s).cast(pa.large_string())))
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    parsed = _parse_dates(pd.Index(uniques, dtype=object), info)
    out = np.full(len(values), np.datetime64("NaT"), dtype="datetime64[ns]")
    ok = codes >= 0
    out[ok] = parsed[codes[ok]]
    return pd.Series(out, dtype="datetime64[ns]")


def _parse_dates(uniques: pd.Index, info: ExportInfo) -> np.ndarray:
    """Parse distinct date strings: ISO first, then the other styles vendors write."""
    strs = pd.Series(uniques, dtype=object).where(lambda x: x.astype(str).str.len() > 0)
    res = pd.to_datetime(strs, format="ISO8601", errors="coerce", utc=True)
    todo = res.isna() & strs.notna()
    if todo.any():
        rest = strs[todo].astype(str)
        # "31/01/2024" vs "01/31/2024": day first once any first component exceeds 12 in
        # this file (sticky, so later blocks of the file agree).
        firsts = rest.str.extract(r"^(\d{1,2})[/.\-]\d{1,2}[/.\-]\d{2,4}")[0].dropna().astype(int)
        if len(firsts) and (firsts > 12).any():
            info._dayfirst = True
        # "Sep 15, 2026", "15.09.2026", "2026/09/15 10:00" etc. go through dateutil.
        res[todo] = pd.to_datetime(rest, format="mixed", dayfirst=info._dayfirst, errors="coerce", utc=True)
    res = res.dt.tz_convert(None)
    # Years outside datetime64[ns] (e.g. a "9999-12-31" placeholder) are missing, not errors.
    res = res.where((res.dt.year > 1677) & (res.dt.year < 2262))
    return res.to_numpy(dtype="datetime64[ns]")


def _snippet(arrs: list) -> pd.Series:
    parts = [pc.utf8_trim_whitespace(a) for a in arrs]
    joined = pc.binary_join_element_wise(*parts, " ")
    joined = pc.utf8_trim_whitespace(joined)
    return _to_str(joined)


def _repeat(value: str, n: int) -> pd.Series:
    return pd.Series(pd.arrays.ArrowStringArray(pa.chunked_array([pa.repeat(pa.scalar(value, pa.large_string()), n)])))


def _canonical(info: ExportInfo, block: _Block, cols: dict[int, pa.ChunkedArray]) -> pd.DataFrame:
    n = len(block.starts)
    # Arrays (pandas extension arrays or ndarrays), not Series: a Series per column costs
    # more than most of the conversions.
    out: dict[str, object] = {}
    for canon, (kind, idx, _label) in info._plan.items():
        arrs = [cols[j] for j in idx]
        if kind == "url":
            out[canon] = _str_array(_trim(arrs[0]))
        elif kind == "anchor":
            out[canon] = _str_array(arrs[0], empty_is_na=False)
        elif kind == "str":
            out[canon] = _str_array(_trim(arrs[0]))
        elif kind == "num":
            if arrs[0].type == pa.float64():  # converted by the CSV parser (see _typed_fields)
                out[canon] = arrs[0].to_numpy()
            else:
                out[canon] = _to_num(arrs[0], info.delimiter).array
        elif kind == "date":
            if pa.types.is_timestamp(arrs[0].type):  # converted by the CSV parser (see _typed_fields)
                out[canon] = arrs[0].to_numpy().astype("datetime64[ns]", copy=False)
            else:
                out[canon] = _to_date(arrs[0], info).array
        elif kind == "snippet":
            out[canon] = _snippet(arrs).array
        elif arrs[0].type == pa.bool_():  # converted by the CSV parser (see _typed_fields)
            truth = pc.invert(arrs[0]) if kind == "notbool" else arrs[0]
            values = pc.fill_null(truth, False).to_numpy(zero_copy_only=False)
            out[canon] = pd.arrays.BooleanArray(values, truth.is_null().to_numpy(zero_copy_only=False))
        else:
            out[canon] = _to_bool(arrs[0], kind).array
    if info.vendor == "ahrefs" and _norm(info.mapping.get(S.LINK_TYPE, "")) in ("type", "link type"):
        # Ahrefs' "Type" label (href / redirect / frame / image / form) is the only place
        # some exports record these attributes.
        low = pd.Series(out[S.LINK_TYPE]).str.lower()
        for canon, word in ((S.REDIRECT, "redirect"), (S.FRAME, "frame"), (S.IMAGE, "image"), (S.FORM, "form")):
            if canon not in out:
                out[canon] = low.str.contains(word, regex=False).astype("boolean").array
    out[S.SOURCE_FILE] = _repeat(info.path, n).array
    out[S.SOURCE_ROW] = block.lines.astype(np.int64)
    out[S.VENDOR] = _repeat(info.vendor, n).array
    # One chunk, so that urls.with_hosts recognises this array (or a slice of it) and takes
    # the hosts split here for the row issues instead of splitting the URLs again.
    src = out[S.SOURCE_URL]._pa_array.combine_chunks()
    out[S.SOURCE_URL] = pd.arrays.ArrowStringArray(pa.chunked_array([src]))
    issues, hosts = _issues_and_hosts(src)
    _remember_hosts(src, hosts)
    out[S.ROW_ISSUE] = _missing_array("string", n) if issues is None else _arrow_text(issues).array
    # Every canonical column, in order and in its dtype, so that schema.conform has nothing
    # to do (_frame skips it then: its generic all-missing columns and the copy of the
    # whole frame cost more than building the frame).
    # The columns' own arrays, not copied: a dict of Series would be re-indexed (copied)
    # and its numeric columns consolidated (copied again).
    cols = {c: out[c] if c in out else _missing_array(S.DTYPES[c], n) for c in S.COLUMNS}
    cols |= {c: a for c, a in out.items() if c not in S.DTYPES}
    return pd.DataFrame(cols, index=pd.RangeIndex(n), copy=False)


def _text_series(values: np.ndarray) -> pd.Series:
    """A ``string`` column from an object array of str / None, shape (n,)."""
    return pd.Series(pd.arrays.ArrowStringArray(pa.chunked_array([pa.array(values, type=pa.large_string())])))


def _missing_array(dtype: str, n: int):
    """The array of :func:`_missing` (without its Series)."""
    if dtype == "string":
        return pd.arrays.ArrowStringArray(pa.chunked_array([pa.nulls(n, pa.large_string())]))
    if dtype == "boolean":
        return pd.arrays.BooleanArray(np.zeros(n, dtype=bool), np.ones(n, dtype=bool))
    if dtype == "float64":
        return np.full(n, np.nan)
    if dtype == "datetime64[ns]":
        return np.full(n, np.datetime64("NaT", "ns"))
    return _missing(dtype, n).array


def _missing(dtype: str, n: int) -> pd.Series:
    """An all-missing column of one of the canonical dtypes, shape (n,)."""
    if dtype == "string":
        return pd.Series(pd.arrays.ArrowStringArray(pa.chunked_array([pa.nulls(n, pa.large_string())])))
    if dtype == "boolean":
        return pd.Series(pd.arrays.BooleanArray(np.zeros(n, dtype=bool), np.ones(n, dtype=bool)))
    if dtype == "float64":
        return pd.Series(np.full(n, np.nan))
    if dtype == "datetime64[ns]":
        return pd.Series(np.full(n, np.datetime64("NaT", "ns")))
    return pd.Series(pd.NA, index=pd.RangeIndex(n), dtype=dtype)


def _arrow_text(arr: pa.Array) -> pd.Series:
    """A ``string`` column over a ``large_string`` array (no copy)."""
    return pd.Series(pd.arrays.ArrowStringArray(pa.chunked_array([arr])))


# --- duplicates ------------------------------------------------------------------------

class _SeenLinks:
    """First occurrence of each link key, as sorted runs of (64-bit hash, reference).

    A reference packs the file number and line (``file << 40 | line``). Runs are merged
    like a binary counter, so a lookup costs O(log² n) and memory is 16 bytes per
    distinct link, whatever the number of rows.
    """

    def __init__(self):
        self.runs: list[tuple[np.ndarray, np.ndarray]] = []

    def first_of(self, h: np.ndarray, refs: np.ndarray) -> np.ndarray:
        """Reference of the first occurrence of each key, or -1 when the row is the first."""
        n = len(h)
        # Work in hash order: the runs are searched with sorted needles (much faster for
        # np.searchsorted), and equal keys of this block sit next to each other.
        order = np.argsort(h, kind="stable")
        hs = h[order]
        found = np.full(n, -1, dtype=np.int64)  # in hash order until the end
        for run_h, run_ref in self.runs:
            pos = np.searchsorted(run_h, hs)
            pos[pos == len(run_h)] = 0
            hit = (run_h[pos] == hs) & (found < 0) if len(run_h) else np.zeros(n, bool)
            found[hit] = run_ref[pos[hit]]
        group_start = np.ones(n, dtype=bool)
        group_start[1:] = hs[1:] != hs[:-1]
        gid = np.cumsum(group_start) - 1
        first_pos = order[group_start][gid]  # row of the first occurrence in this block (stable sort)
        first = first_pos == order
        within = ~first & (found < 0)
        found[within] = refs[first_pos[within]]
        new = first & (found < 0)
        if new.any():
            # hs[new] is sorted and unique: a run as it is
            self.runs.append((hs[new], refs[order[new]]))
            while len(self.runs) > 1 and len(self.runs[-2][0]) <= 2 * len(self.runs[-1][0]):
                (h2, r2), (h1, r1) = self.runs.pop(), self.runs.pop()
                mh, mr = np.concatenate((h1, h2)), np.concatenate((r1, r2))
                o = np.argsort(mh, kind="stable")
                self.runs.append((mh[o], mr[o]))
        out = np.empty(n, dtype=np.int64)
        out[order] = found
        return out


def _link_hashes(frame: pd.DataFrame) -> np.ndarray:
    """64-bit hash per row of (trimmed source URL, trimmed target URL, normalised anchor)."""
    def arrow(col):
        return pa.array(frame[col].array, type=pa.large_string())

    # _canonical trims both URL columns (kinds "url" and "str") already.
    src, tgt, anc = arrow(S.SOURCE_URL), arrow(S.TARGET_URL), arrow(S.ANCHOR)
    if has_whitespace_run(anc):
        anc = pc.replace_substring_regex(anc, r"\s+", " ")
    anc = pc.utf8_trim_whitespace(anc)
    # Each part is hashed on its own and the three hashes are combined (no joined key to
    # build); the target URL and the anchor repeat a lot, so they are hashed per distinct value.
    h = _hash_text(src, distinct=False)
    for part in (tgt, anc):
        h = _mix64(h * _MUL64 ^ _hash_text(part, distinct=True))
    return h


def _hash_text(arr: pa.Array, distinct: bool) -> np.ndarray:
    """64-bit hash of each value of a string array, shape (n,); missing differs from "".

    Missing values hash like ``"\x00"`` (NUL bytes never reach a frame). With *distinct*,
    each distinct value is hashed once (for columns that repeat a lot).
    """
    if distinct and isinstance(arr, pa.ChunkedArray) and arr.num_chunks > 1:
        arr = arr.combine_chunks()  # one dictionary: each distinct value hashed once
    chunks = arr.chunks if isinstance(arr, pa.ChunkedArray) else [arr]
    if not chunks:
        return np.zeros(0, dtype=np.uint64)
    parts = []
    for chunk in chunks:
        if distinct:
            enc = pc.dictionary_encode(chunk)
            values = hash_strings(enc.dictionary)
            h = values[pc.fill_null(enc.indices, 0).to_numpy()] if len(values) else np.zeros(len(chunk), np.uint64)
        else:
            h = hash_strings(chunk)
        if chunk.null_count:
            h[np.asarray(chunk.is_null().to_numpy(zero_copy_only=False), dtype=bool)] = _NULL_HASH
        parts.append(h)
    return parts[0] if len(parts) == 1 else np.concatenate(parts)


_NULL_HASH = hash_strings(pa.array(["\x00"], pa.large_string()))[0]


# --- public readers --------------------------------------------------------------------

def _as_paths(paths) -> list:
    if isinstance(paths, (str, os.PathLike)):
        return [paths]
    return list(paths)


def _iter(paths, format, chunksize, stats: dict | None) -> Iterator[pd.DataFrame]:
    if chunksize is None or int(chunksize) < 1:
        raise ValueError("chunksize must be a positive integer")
    chunksize = int(chunksize)
    paths = _as_paths(paths)
    infos = [_guarded(p, None, detect, p, format=format) for p in paths]  # fail before reading
    seen = _SeenLinks()
    names = np.array([i.path for i in infos], dtype=object)
    for fidx, info in enumerate(infos):
        st = None
        if stats is not None:
            st = stats.setdefault(fidx, {"info": info, "rows": 0, "skipped_blank": 0, "flagged": {}, "duplicates": 0})
        parquet = info.encoding == "parquet"
        blocks = _parquet_blocks(info) if parquet else _records(info)
        while True:
            block = _guarded(info.path, None, next, blocks, None)
            if block is None:
                break
            block, cols = block if parquet else (block, None)
            if st is not None:
                st["skipped_blank"] += block.blank
            if not len(block.starts):
                continue
            frame = _guarded(info.path, int(block.lines[0]), _frame, info, fidx, block, seen, names, cols)
            if st is not None:
                st["rows"] += len(frame)
                st["duplicates"] += int(frame[S.DUPLICATE_OF].notna().sum())
                for reason, count in frame[S.ROW_ISSUE].value_counts().items():
                    st["flagged"][reason] = st["flagged"].get(reason, 0) + int(count)
            for lo in range(0, len(frame), chunksize):
                yield frame.iloc[lo: lo + chunksize].reset_index(drop=True)


def _guarded(path, line, func, *args, **kwargs):
    """Call *func*; anything but an ExportError becomes one (no raw library traceback)."""
    try:
        return func(*args, **kwargs)
    except ExportError:
        raise
    except MemoryError:
        raise
    except Exception as e:  # noqa: BLE001 - the contract is one ExportError per bad file
        where = "while reading the block starting here" if line is not None else "while reading"
        raise ExportError(path, f"unexpected {type(e).__name__} {where}: {e}", line=line) from e


def _frame(info: ExportInfo, fidx: int, block: _Block, seen: _SeenLinks, names: np.ndarray, cols=None) -> pd.DataFrame:
    """Canonical frame of one block, with duplicates marked against everything read so far."""
    frame = _canonical(info, block, cols if cols is not None else _parse_block(info, block))
    if list(frame.columns) != list(S.COLUMNS) or any(str(t) != S.DTYPES[c] for c, t in frame.dtypes.items()):
        frame = S.conform(frame)
    refs = (np.int64(fidx) << np.int64(40)) | frame[S.SOURCE_ROW].to_numpy(np.int64)
    first = seen.first_of(_link_hashes(frame), refs)
    dup = first >= 0
    if dup.any():
        dup_of = np.full(len(frame), None, dtype=object)
        f = first[dup]
        dup_of[dup] = names[f >> 40] + ":" + (f & ((1 << 40) - 1)).astype(str).astype(object)
        frame[S.DUPLICATE_OF] = _text_series(dup_of)
    # else: conform left it all missing
    return frame


def iter_export(paths, *, format: str | None = None, chunksize: int = 100_000) -> Iterator[pd.DataFrame]:
    """Stream one or several exports as canonical chunks of at most *chunksize* rows.

    Every data row of every file comes out exactly once, in file order; fully blank lines
    are skipped (``inspect`` counts them). Rows are never dropped: an unusable source URL
    sets ``row_issue``; a repeated (source URL, target URL, anchor) sets ``duplicate_of``
    to ``"file:line"`` of its first occurrence across all *paths*.

    Parameters
    ----------
    paths : str, Path or iterable of them
    format : str, optional
        Force one of :data:`FORMATS` for every file instead of detecting it.
    chunksize : int
        Upper bound on the rows of each yielded frame. Memory use does not grow with the
        file size (blocks of a few MiB are decoded at a time).

    Yields
    ------
    DataFrame, shape (<= chunksize, len(schema.COLUMNS)), canonical dtypes.

    Raises
    ------
    ExportError
        One clear message with file, line and column where they apply.
    """
    return _iter(paths, format, chunksize, None)


def read_export(paths, *, format: str | None = None) -> pd.DataFrame:
    """Read one or several exports into one canonical links table (see :func:`iter_export`)."""
    chunks = list(_iter(paths, format, 1 << 30, None))
    if not chunks:
        return S.empty_links()
    return pd.concat(chunks, ignore_index=True) if len(chunks) > 1 else chunks[0]


#: Column added by :func:`collapse_duplicates`: every "file:line" a link was read from.
SEEN_IN = "seen_in"


def collapse_duplicates(links: pd.DataFrame) -> pd.DataFrame:
    """One row per distinct link, keeping which files (and lines) each came from.

    The readers keep every input row and mark a repeat with ``duplicate_of``; this folds the
    repeats into their first occurrence and adds :data:`SEEN_IN`, the ``"file:line"`` of
    every row of that link (first occurrence first, ``"; "``-joined).

    Parameters
    ----------
    links : DataFrame, shape (n, ...)
        From :func:`read_export` (several exports read together).

    Returns
    -------
    DataFrame, shape (distinct links, ... + 1)
    """
    ref = links[S.SOURCE_FILE].astype("string") + ":" + links[S.SOURCE_ROW].astype("string")
    first = links[S.DUPLICATE_OF].astype("string").fillna(ref)
    seen = ref.groupby(first.to_numpy(), sort=False).agg("; ".join)
    out = links[links[S.DUPLICATE_OF].isna()].copy()
    out[SEEN_IN] = ref[out.index].map(seen).astype("string")
    return out.reset_index(drop=True)


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
    for _ in _iter(paths, format, 1 << 30, stats):
        pass
    out = []
    for fidx in range(len(_as_paths(paths))):
        st = stats.get(fidx)
        if st is None:  # a file with a header and no rows
            info = detect(_as_paths(paths)[fidx], format=format)
            st = {"info": info, "rows": 0, "skipped_blank": 0, "flagged": {}, "duplicates": 0}
        info = st["info"]
        out.append({
            "path": info.path,
            "vendor": info.vendor,
            "encoding": info.encoding + (" (BOM)" if info._bom else ""),
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
