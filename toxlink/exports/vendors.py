"""Which tool wrote an export and how: vendor column maps and detection.

:func:`detect` sniffs the encoding (BOM, UTF-8, BOM-less UTF-16; cp1252 only when the sample
has bytes that are not UTF-8 and no correctly spelled UTF-8 accent), the line ends (LF, CRLF, or
CR alone as old Mac files have), the header line (vendor preambles are skipped), the delimiter and the
vendor, and maps the vendor's columns to :mod:`toxlink.schema` columns with a conversion kind
per column (see :data:`_VENDORS`).
"""

from __future__ import annotations

import codecs
import csv
import re
from dataclasses import dataclass, field

import pyarrow as pa

from toxlink import schema as S
from toxlink.exports.errors import ExportError

FORMATS = ("ahrefs", "semrush", "semrush-audit", "moz", "majestic", "gsc", "generic", "url-list", "toxlink")

SAMPLE_BYTES = 1 << 20  # bytes inspected for encoding and header detection
_HEADER_SEARCH_LINES = 50  # vendor preambles (Moz puts a few lines above the header)


@dataclass
class ExportInfo:
    """What :func:`detect` found out about one export file.

    ``mapping`` is ``{canonical column: vendor column}``; ``header_line`` is the 1-based
    line of the header (``None`` for a URL list); lines above it are a vendor preamble.
    ``plan`` is, per canonical column, ``(conversion kind, field indices, vendor label)``;
    ``bom`` the length of the byte order mark the data starts after; ``cr_only`` whether
    lines end with a lone CR (old Mac files), which the reader turns into LF as it reads.
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
    plan: dict[str, tuple[str, tuple[int, ...], str]] = field(default_factory=dict, repr=False)
    bom: int = field(default=0, repr=False)
    cr_only: bool = field(default=False, repr=False)

    @property
    def one_column(self) -> bool:
        """URL lists and one-column files: a record is a whole line, commas and all."""
        return self.vendor == "url-list" or len(self.header) == 1

# --- vendor column vocabularies ----------------------------------------------------------
# Header names are compared after norm_name() (lower case, "_"/"-" -> space, spaces collapsed).
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
        S.UGC: ("bool", ("only rel=ugc", "ugc")),
        S.SPONSORED: ("bool", ("only rel=sponsored", "sponsored")),
        S.REDIRECT: ("bool", ("301", "redirect")),
        S.LINK_TYPE: ("str", ("link type",)),
        # "Date Lost" holds the date the link went (blank while live): any date means lost.
        # The schema has no lost-date column, so only the flag is kept.
        S.LOST: ("bool", ("lost", "date lost!lost")),
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


def norm_name(name: str) -> str:
    """A header name as the vocabularies spell it: lower case, "_"/"-" as spaces, spaces collapsed."""
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
    legacy = legacy_encoding(raw)
    if legacy is None:
        return "utf-8", 0, []  # stray bytes, if any, are replaced and their rows flagged when read
    text = raw.decode("utf-8", errors="replace")
    line = text[: text.index("\ufffd")].count("\n") + 1
    return legacy, 0, [f"not valid UTF-8 (first on line {line}) and no UTF-8 accents anywhere in the first "
                       f"{len(raw):,} bytes; read as {legacy}"]


def legacy_encoding(raw: bytes) -> str | None:
    """``"cp1252"`` (or ``"latin-1"`` when a byte is one of the five cp1252 leaves undefined)
    when the bytes *raw* are not UTF-8 and spell no UTF-8 multi-byte character; ``None``
    when they are UTF-8, perhaps with a few stray bytes (a chunk may end mid-character)."""
    text = codecs.getincrementaldecoder("utf-8")(errors="replace").decode(raw, final=False)
    bad = text.count("\ufffd")
    # Characters UTF-8 spells with two or more bytes, decoded correctly: a legacy single-byte
    # file almost never forms one by chance (an accent byte must be followed by exactly the
    # right continuation bytes), so one is evidence enough of UTF-8 with stray bytes.
    multibyte = len(text) - len(text.encode("ascii", errors="ignore")) - bad
    if not bad or multibyte:
        return None
    try:
        raw.decode("cp1252")
        return "cp1252"
    except UnicodeDecodeError:
        return "latin-1"


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
        index.setdefault(norm_name(n), i)
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
    n = {norm_name(x) for x in names}
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
    n = tuple(norm_name(x) for x in names)
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
            raw = fh.read(SAMPLE_BYTES)
    except OSError as e:
        raise ExportError(path, f"cannot read the file ({e.strerror or e})") from None
    if not raw.strip():
        raise ExportError(path, "the file is empty")
    if raw[:4] == _PARQUET_MAGIC:
        return _detect_parquet(path, format)
    encoding, bom, notes = _sniff_encoding(raw)
    text = raw[bom:].decode(encoding, errors="replace")
    # No LF in the whole sample but CRs: an old Mac file, whose lines end with CR alone.
    cr_only = "\n" not in text and "\r" in text
    lines = text.split("\r" if cr_only else "\n", _HEADER_SEARCH_LINES + 1)
    if len(lines) > _HEADER_SEARCH_LINES or len(raw) == SAMPLE_BYTES:
        lines = lines[:-1]  # the rest of the file, or a line cut by the sample's end
    lines = [ln.rstrip("\r").replace("\x00", "") for ln in lines]
    nonblank = [(i, ln) for i, ln in enumerate(lines) if ln.strip()]
    if not nonblank:
        raise ExportError(path, "the file has no text lines")
    info = ExportInfo(path=str(path), vendor="", encoding=encoding, delimiter=None, header_line=None,
                      notes=notes, bom=bom, cr_only=cr_only)
    if cr_only:
        info.notes.append("lines end with CR alone (old Mac line ends)")

    first_i, first = nonblank[0]
    if format == "url-list" or (format is None and _looks_like_url(first)):
        info.vendor = "url-list"
        info.mapping = {S.SOURCE_URL: "(whole line)"}
        info.plan = {S.SOURCE_URL: ("url", (0,), "(whole line)")}
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
                info.plan = plan
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
    info.plan = plan
    info.mapping = {c: plan[c][2] for c in S.COLUMNS if c in plan}
    used = {j for p in plan.values() for j in p[1]}
    info.unmapped = [n for j, n in enumerate(names) if j not in used]
    return info


def _clean_arrow(e: Exception) -> str:
    msg = str(e).splitlines()[0]
    return re.sub(r"^CSV parse error: ", "", msg)

