"""URL and host parsing shared by readers, features, roll-up and disavow files.

Hosts are normalised once: lower-cased, trailing dot, port and userinfo removed,
IDN converted to punycode (``xn--``), IPv6 brackets removed. Anything that
depends only on the host is computed on the *unique* hosts of a table and joined
back, because a backlink export has far fewer hosts than rows.

tldextract is used with its bundled Public Suffix List snapshot only
(``suffix_list_urls=()``, no cache dir): it never touches the network.
"""

from __future__ import annotations

import ipaddress
import threading
from functools import lru_cache

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import tldextract

# Private PSL suffixes are included so that "name.blogspot.com" or "x.github.io" is its own
# registrable domain: Google's disavow rules treat free-host subdomains as separate sites.
_EXTRACT = tldextract.TLDExtract(
    cache_dir=None, suffix_list_urls=(), fallback_to_snapshot=True, include_psl_private_domains=True
)

# scheme :// [userinfo@] host [:port] rest
_URL_RE = (
    r"^\s*(?P<scheme>[A-Za-z][A-Za-z0-9+.\-]*)://"
    r"(?:[^/?#@]*@)?"
    r"(?P<host>\[[^\]/?#]*\]|[^/?#:]*)"
    r"(?::(?P<port>[^/?#]*))?"
    r"(?P<path>[^?#]*)"
    r"(?:\?(?P<query>[^#]*))?"
)
# "mailto:x@y", "javascript:void(0)": a scheme with no "//" and no port-like digits after it.
_OPAQUE_RE = r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.\-]*):(?:[^0-9/]|$)"
# Per-host results are cached, bounded so that a huge export's memory does not grow with its
# hosts (a chunk's hosts fit; a miss only costs a tldextract lookup again).
_CACHE = 1 << 16
_HOST_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789-._:[]")
MAX_URL_LENGTH = 2048


# --- vectorised URL and host parsing ---------------------------------------------------
# pyarrow's extract_regex runs RE2 with captures (its slow engines) over every URL; the
# parts of a URL are delimited by a handful of ASCII bytes, so they are found with numpy
# on the UTF-8 buffer instead: positions of the delimiter bytes once, then per-URL
# "first delimiter at or after p" by searchsorted. Same results as _URL_RE and _OPAQUE_RE
# (tests/test_urls_fast.py checks it against them).
_COLON, _SLASH, _QMARK, _HASH, _AT, _RBRACKET = 1, 2, 4, 8, 16, 32
_BYTE_CLASS = np.zeros(256, dtype=np.uint8)
for _ch, _bit in ((":", _COLON), ("/", _SLASH), ("?", _QMARK), ("#", _HASH), ("@", _AT), ("]", _RBRACKET)):
    _BYTE_CLASS[ord(_ch)] = _bit
_SCHEME_RE = r"^[A-Za-z][A-Za-z0-9+.\-]*://"


def _buffers(arr: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """UTF-8 bytes and int64 offsets (shape (n + 1,)) of a string array without nulls."""
    arr = arr.cast(pa.large_string())
    _, offs, data = arr.buffers()
    offsets = np.frombuffer(offs, dtype=np.int64)[arr.offset : arr.offset + len(arr) + 1]
    data = np.frombuffer(data, dtype=np.uint8) if data is not None else np.zeros(0, np.uint8)
    return data, offsets


def _byte_is(data: np.ndarray, pos: np.ndarray, end: np.ndarray, char: str) -> np.ndarray:
    """Whether the byte at each position is *char*, shape (n,): False at or past its *end*."""
    out = np.zeros(len(pos), dtype=bool)
    inside = pos < end
    out[inside] = data[pos[inside]] == ord(char)
    return out


def has_whitespace_run(arr: pa.Array | pa.ChunkedArray) -> bool:
    """Whether ``\\s+ -> " "`` could change any string of *arr* (RE2's ``\\s`` is
    ``[\\t\\n\\f\\r ]``): one byte search over the data instead of a regex per value. A false
    alarm (two spaces across a string boundary, bytes outside a slice) only costs the regex."""
    for chunk in (arr.chunks if isinstance(arr, pa.ChunkedArray) else [arr]):
        data = chunk.buffers()[2] if len(chunk) else None
        raw = data.to_pybytes() if data is not None else b""
        if any(w in raw for w in (b"  ", b"\t", b"\n", b"\x0c", b"\r")):
            return True
    return False


def byte_slices(data: np.ndarray, start: np.ndarray, stop: np.ndarray) -> pa.LargeStringArray:
    """Strings ``data[start[i]:stop[i]]`` (byte positions on UTF-8 boundaries)."""
    n = len(start)
    start = np.asarray(start, dtype=np.int64)
    stop = np.asarray(stop, dtype=np.int64)
    if n and (stop >= start).all() and (stop[:-1] <= start[1:]).all() and start[0] >= 0 and stop[-1] <= len(data):
        # Slices in order, one after another (a part of each string of an array): every
        # slice and every gap between two is a string of one array over *data* itself, so
        # Arrow's take of the slices copies only their bytes, no byte index is built.
        offs = np.empty(2 * n + 1, dtype=np.int64)
        offs[0:-1:2] = start
        offs[1::2] = stop
        offs[-1] = stop[-1]
        both = pa.LargeStringArray.from_buffers(2 * n, pa.py_buffer(offs), pa.py_buffer(np.ascontiguousarray(data)))
        return both.take(pa.array(np.arange(0, 2 * n, 2, dtype=np.int64)))
    lens = (stop - start).astype(np.int64)
    offs = np.zeros(len(lens) + 1, dtype=np.int64)
    np.cumsum(lens, out=offs[1:])
    idx = np.arange(offs[-1], dtype=np.int64) + np.repeat(start.astype(np.int64) - offs[:-1], lens)
    return pa.LargeStringArray.from_buffers(len(lens), pa.py_buffer(offs), pa.py_buffer(np.ascontiguousarray(data[idx])))


class _Delimiters:
    """Positions of the URL delimiter bytes of one buffer, for first-at-or-after queries."""

    def __init__(self, data: np.ndarray):
        # A bool mask from byte compares (a lookup table's uint8 indices are widened by
        # numpy first, and nonzero of bools is ~4x faster than of the uint8 classes); a
        # sentinel of every class past the end answers "none" for the queries below.
        is_delimiter = data == ord(":")
        for ch in "/?#@]":
            is_delimiter |= data == ord(ch)
        pos = np.flatnonzero(is_delimiter)
        self.pos = np.append(pos, np.iinfo(np.int64).max)
        self.cls = np.append(np.take(_BYTE_CLASS, data[pos]), np.uint8(0xFF))

    def first(self, bits: int, start: np.ndarray, stop: np.ndarray) -> np.ndarray:
        """Position of the first byte of class *bits* in ``[start, stop)``, else *stop*."""
        pos = self.pos[(self.cls & bits) != 0]
        return np.minimum(pos[np.searchsorted(pos, start)], stop)


_SCHEME_BYTE = np.zeros(256, dtype=bool)
_SCHEME_BYTE[np.frombuffer(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+.-", np.uint8)] = True
_ALPHA_BYTE = _SCHEME_BYTE.copy()
_ALPHA_BYTE[np.frombuffer(b"0123456789+.-", np.uint8)] = False
_SCHEME_WIDTH = 8
_HTTP = np.frombuffer(b"http", dtype="<u4")[0]


def _heads(data: np.ndarray, start: np.ndarray) -> np.ndarray:
    """The first 8 bytes of each string, shape (n, 8) uint8 (the next strings' bytes, or
    zeros past the buffer's end, where a string is shorter)."""
    # one little-endian word per string: its bytes in memory order are the string's
    return _words_at(data, start).astype("<u8", copy=False).view(np.uint8).reshape(len(start), _SCHEME_WIDTH)


def _words_at(data: np.ndarray, pos: np.ndarray) -> np.ndarray:
    """The little-endian 8-byte words of *data* at byte positions *pos* (bytes past the end
    read as 0), shape (len(pos),) uint64."""
    fit = len(data) - 7  # positions whose 8 bytes are all in the buffer
    out = np.zeros(len(pos), dtype=np.uint64)
    inside = pos < fit
    if fit > 0:
        view = np.ndarray(shape=(fit,), dtype="<u8", buffer=data, strides=(1,))  # unaligned reads
        out[inside] = view[pos[inside]]
    rest = np.flatnonzero(~inside)
    if len(rest):
        lo = max(len(data) - 8, 0)
        padded = np.zeros(24, dtype=np.uint8)
        padded[: len(data) - lo] = data[lo:]
        out[rest] = np.ndarray(shape=(16,), dtype="<u8", buffer=padded, strides=(1,))[pos[rest] - lo]
    return out


def _first_colons(d: "_Delimiters", window: np.ndarray, start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """Position of each string's first ":" (*end* when none): read from the first bytes
    (*window*, :func:`_heads`) where it is among them ("http:"), searched for the rest."""
    is_colon = window == ord(":")
    first = is_colon.argmax(axis=1)  # 0 when none: told apart by the test below
    # the first colon of the window is the string's when it lies inside the string
    found = is_colon[np.arange(len(first)), first] & (first < end - start)
    colon = start + first
    rest = np.flatnonzero(~found)
    if len(rest):
        colon[rest] = d.first(_COLON, start[rest], end[rest])
    return colon


def _schemes(arr: pa.Array, data: np.ndarray, start: np.ndarray, end: np.ndarray,
             colon: np.ndarray, window: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Which (trimmed) URLs match ``_SCHEME_RE`` ("scheme://") and which are opaque
    (``_OPAQUE_RE`` but not "scheme://"), as bool arrays.

    A scheme's characters exclude ":", so both patterns can only end at the string's first
    colon: checked with numpy on the bytes before it. Schemes longer than 8 bytes (rare)
    go through the regexes.
    """
    n = len(start)
    width = colon - start
    short = (colon < end) & (width >= 1) & (width <= _SCHEME_WIDTH)
    col = np.arange(_SCHEME_WIDTH)
    # the first bytes of each string (only bytes before a colon inside it are read below)
    window = _heads(data, start) if window is None else window
    # "http" and "https", any case (nearly every URL), are checked by a word compare; the
    # byte classes only for the others
    head = window[:, :4].copy().view("<u4")[:, 0] | 0x20202020
    http = short & (head == _HTTP) & ((width == 4) | ((width == 5) & ((window[:, 4] | 0x20) == ord("s"))))
    ok = http.copy()
    other = np.flatnonzero(short & ~http)
    if len(other):
        w = window[other]
        ok[other] = _ALPHA_BYTE[w[:, 0]] & (_SCHEME_BYTE[w] | (col >= width[other, None])).all(axis=1)

    def byte_at(p: np.ndarray) -> np.ndarray:
        out = np.zeros(n, dtype=np.int16) - 1  # -1: past the end of the string
        inside = p < end
        out[inside] = data[p[inside]]
        return out

    after = byte_at(colon + 1)
    has_scheme = ok & (after == ord("/")) & (byte_at(colon + 2) == ord("/"))
    opaque = ok & ~has_scheme & ((after < ord("0")) | (after > ord("9"))) & (after != ord("/"))
    long_ = (colon < end) & (width > _SCHEME_WIDTH)
    if long_.any():
        rows = np.flatnonzero(long_)
        sub = arr.take(pa.array(rows))
        sch = np.asarray(pc.fill_null(pc.match_substring_regex(sub, _SCHEME_RE), False).to_numpy(zero_copy_only=False), dtype=bool)
        opq = np.asarray(pc.fill_null(pc.match_substring_regex(sub, _OPAQUE_RE), False).to_numpy(zero_copy_only=False), dtype=bool)
        has_scheme[rows] = sch
        opaque[rows] = opq & ~sch
    return has_scheme, opaque


class _Split:
    """Byte positions of the scheme and host of each URL of one array (see
    :func:`_split`); the other parts are found from them by :func:`_url_arrays`."""

    __slots__ = ("arr", "valid", "data", "start", "end", "d", "window", "colon", "scheme_ok", "opaque",
                 "host_start", "host_end")


def _split(urls: pd.Series | pa.Array) -> _Split:
    """Find scheme and host of each URL (``_URL_RE`` / ``_OPAQUE_RE``) on the UTF-8 buffer."""
    sp = _Split()
    if isinstance(urls, (pa.Array, pa.ChunkedArray)):
        arr = urls.cast(pa.large_string())
    elif isinstance(urls.array, pd.arrays.ArrowStringArray):
        arr = urls.array._pa_array.cast(pa.large_string())  # its own Arrow data, no conversion
    else:
        arr = pa.array(urls.astype("string"), type=pa.large_string())
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    valid = pc.is_valid(arr)
    data, offsets = _buffers(pc.fill_null(arr, "") if arr.null_count else arr)
    start, end = offsets[:-1], offsets[1:]
    if not _trimmed(data, start, end):
        arr = pc.utf8_trim_whitespace(arr)
        data, offsets = _buffers(pc.fill_null(arr, "") if arr.null_count else arr)
        start, end = offsets[:-1], offsets[1:]
    d = _Delimiters(data)
    window = _heads(data, start)
    colon = _first_colons(d, window, start, end)
    scheme_ok, opaque_np = _schemes(arr, data, start, end, colon, window)
    rest = np.where(scheme_ok, colon + 3, start)  # after "scheme://"
    # One search finds both ends in the usual URL: the first of "/?#@:" after the scheme is
    # the host's end when it is one of "/?#" (no user info, no port).
    first_any = d.first(_SLASH | _QMARK | _HASH | _AT | _COLON, rest, end)
    # "[^/?#@]*@": userinfo runs to an "@" that comes before any "/", "?" or "#"; past a
    # ":" it is searched again.
    stop = first_any.copy()
    rows = np.flatnonzero(_byte_is(data, first_any, end, ":"))
    if len(rows):
        stop[rows] = d.first(_SLASH | _QMARK | _HASH | _AT, rest[rows], end[rows])
    at = _byte_is(data, stop, end, "@")
    host_start = np.where(at, stop + 1, rest)
    # "\[[^\]/?#]*\]" (an IPv6 literal) when it closes, else "[^/?#:]*": without user info
    # the first of "/?#:" from the host's start is first_any.
    host_end = first_any
    rows = np.flatnonzero(at)
    if len(rows):
        host_end[rows] = d.first(_SLASH | _QMARK | _HASH | _COLON, host_start[rows], end[rows])
    bracket = _byte_is(data, host_start, end, "[")
    if bracket.any():
        close = d.first(_RBRACKET | _SLASH | _QMARK | _HASH, host_start + 1, end)
        closed = _byte_is(data, close, end, "]")
        host_end = np.where(bracket & closed, close + 1, host_end)
    sp.arr, sp.valid, sp.data, sp.start, sp.end, sp.d, sp.window, sp.colon = arr, valid, data, start, end, d, window, colon
    sp.scheme_ok, sp.opaque, sp.host_start, sp.host_end = scheme_ok, opaque_np, host_start, host_end
    return sp


def _split_host(sp: _Split) -> pa.Array:
    """The host of each URL as :func:`split_urls` gives it (lower case, not punycoded)."""
    host = _lower(byte_slices(sp.data, sp.host_start, sp.host_end))
    # ASCII trims: a "." or "[" byte in UTF-8 is always that character, so these equal
    # utf8_rtrim/utf8_trim on any text. Only run when some host has such an end byte.
    some = sp.host_end > sp.host_start
    first, last = sp.data[sp.host_start[some]], sp.data[sp.host_end[some] - 1]
    if ((last == ord(".")) | (last == ord("]")) | (last == ord("[")) | (first == ord("[")) | (first == ord("]"))).any():
        host = pc.ascii_trim(pc.ascii_rtrim(host, "."), "[]")
    none = ~np.asarray(sp.valid.to_numpy(zero_copy_only=False), dtype=bool) | sp.opaque
    if not none.any():
        return host
    return pc.if_else(pa.array(none), pa.scalar(None, pa.large_string()), host)


def _url_arrays(urls: pd.Series | pa.Array, host_only: bool = False, with_host: bool = True) -> dict[str, pa.Array]:
    """The parts of :func:`split_urls` as pyarrow ``large_string`` arrays (host not yet
    punycoded); only ``host`` when *host_only*, all but ``host`` when not *with_host*."""
    sp = _split(urls)
    if host_only:
        return {"host": _split_host(sp)}
    host = _split_host(sp) if with_host else None
    data, start, end, d, colon = sp.data, sp.start, sp.end, sp.d, sp.colon
    scheme_ok, opaque_np, host_end = sp.scheme_ok, sp.opaque, sp.host_end
    null = pa.scalar(None, pa.large_string())
    mask = pc.invert(sp.valid)

    def next_is(pos, ch):
        return _byte_is(data, pos, end, ch)

    has_port = next_is(host_end, ":")
    port_end = host_end.copy()
    if has_port.any():  # searched only in the (few) URLs with a port
        port_end[has_port] = d.first(_SLASH | _QMARK | _HASH, host_end[has_port] + 1, end[has_port])
    port_start = np.where(has_port, host_end + 1, host_end)
    path_end = d.first(_QMARK | _HASH, port_end, end)
    has_query = next_is(path_end, "?")
    query_start = np.where(has_query, path_end + 1, path_end)
    query_end = path_end.copy()
    if has_query.any():
        query_end[has_query] = d.first(_HASH, query_start[has_query], end[has_query])
    named = scheme_ok | opaque_np
    scheme = _lower(byte_slices(data, start, np.where(named, colon, start)))
    scheme = pc.if_else(pa.array(named), scheme, pa.scalar("http", pa.large_string()))

    # A missing URL has no scheme or host but "" as port, path and query (what RE2's
    # extract_regex, which this replaces, gave: the fields of a null match are not null).
    out = {
        "scheme": pc.if_else(mask, null, scheme),
        "host": host if with_host else None,
        "port": byte_slices(data, port_start, port_end),
        "path": byte_slices(data, port_end, path_end),
        "query": byte_slices(data, query_start, query_end),
    }
    return out if with_host else {k: v for k, v in out.items() if k != "host"}


_PRINTABLE = np.zeros(256, dtype=bool)
_PRINTABLE[0x21:0x7F] = True  # ASCII, neither whitespace nor a control character


def _trimmed(data: np.ndarray, start: np.ndarray, end: np.ndarray) -> bool:
    """True when no string has whitespace to trim: each non-empty one starts and ends
    with a printable ASCII byte (URLs nearly always do; the Unicode trim is then skipped)."""
    some = start < end
    return bool(_PRINTABLE[data[start[some]]].all() and _PRINTABLE[data[end[some] - 1]].all())


def _lower(arr: pa.Array) -> pa.Array:
    """``utf8_lower``, by the much cheaper ASCII kernel when every string is ASCII (the
    same result on ASCII text)."""
    if pc.all(pc.string_is_ascii(arr)).as_py() is not False:
        return pc.ascii_lower(arr)
    return pc.utf8_lower(arr)


def url_parts_arrow(urls: pa.Array) -> dict[str, pa.Array]:
    """``scheme, port, path, query`` of :func:`split_urls` as ``large_string`` arrays,
    without the host (for callers that have it already) and without pandas."""
    return _url_arrays(urls, with_host=False)


def split_urls(urls: pd.Series) -> pd.DataFrame:
    """Split URLs into ``scheme, host, port, path, query`` (vectorised, numpy on the UTF-8
    buffer: see ``_url_arrays``).

    A URL without a scheme (``example.com/page``) is read as ``http://``; one with a
    non-hierarchical scheme (``mailto:``, ``javascript:``) keeps that scheme and has no
    host. The host is lower-cased with any trailing dot and IPv6 brackets removed, but
    not yet punycoded (see :func:`normalise_hosts`). An absent port, path or query is
    ``""``; a missing URL has ``NA`` scheme and host (and ``""`` port, path, query).

    Parameters
    ----------
    urls : Series of str, shape (n,)

    Returns
    -------
    DataFrame of ``string`` columns, shape (n, 5), same index as *urls*.
    """
    parts = _url_arrays(urls)
    return pd.DataFrame({k: _string_series(v, urls.index) for k, v in parts.items()}, index=urls.index)


def _string_series(arr: pa.Array, index: pd.Index) -> pd.Series:
    """A ``string`` Series over a pyarrow string array (no copy of the data)."""
    return pd.Series(pd.arrays.ArrowStringArray(arr.cast(pa.large_string())), index=index)


@lru_cache(maxsize=_CACHE)
def _ascii_host(host: str) -> str | None:
    if not host:
        return None
    if host.isascii():
        return host
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError:
        try:
            import idna

            return idna.encode(host, uts46=True).decode("ascii")
        except Exception:
            return None


def normalise_hosts(hosts: pd.Series) -> pd.Series:
    """Punycode the (already lower-cased) hosts, computed once per unique host.

    Returns a ``string`` Series aligned with *hosts*; ``NA`` where the host cannot be
    encoded (e.g. an invalid IDN label).
    """
    return _string_series(_ascii_hosts(pa.array(hosts.astype("string"), type=pa.large_string())), hosts.index)


def _ascii_hosts(arr: pa.Array) -> pa.Array:
    """:func:`_ascii_host` of each string: ASCII hosts are kept as they are (vectorised),
    only the distinct non-ASCII ones go through the IDNA codec."""
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    arr = arr.cast(pa.large_string())
    ascii_ = pc.string_is_ascii(arr)
    nonempty = pc.greater(pc.binary_length(arr), 0)
    if pc.all(ascii_).as_py() is not False and pc.all(nonempty).as_py() is not False:
        return arr  # the usual case: every host kept as it is (no copy)
    plain = pc.and_(ascii_, nonempty)
    out = pc.if_else(plain, arr, pa.scalar(None, pa.large_string()))
    idn = pc.fill_null(pc.invert(ascii_), False)
    if pc.any(idn).as_py():
        values = arr.filter(idn)
        uniq = pc.unique(values)
        mapped = pa.array([_ascii_host(h) for h in uniq.to_pylist()], pa.large_string())
        out = pc.replace_with_mask(out, idn, mapped.take(pc.index_in(values, value_set=uniq)))
    return out


def url_issues(urls: pd.Series) -> pd.Series:
    """Why each URL cannot be used as a referring page, or ``NA`` when it is fine.

    Reasons: ``missing URL``, ``URL longer than 2048 characters``, ``scheme X is not
    http(s)``, ``no host``, ``invalid host``. Returns a ``string`` Series on *urls*' index.
    """
    s = urls.astype("string")
    issues, _ = _issues_and_hosts(pa.array(s.array, type=pa.large_string()))  # one split, in bytes
    if issues is None:
        return pd.Series(pd.NA, index=s.index, dtype="string")
    return pd.Series(pd.arrays.ArrowStringArray(pa.chunked_array([issues])), index=s.index)


def _url_issues_spec(urls: pd.Series) -> pd.Series:
    """:func:`url_issues` by its definition, rule by rule on pandas' string methods (the
    tests check the byte-level version against it)."""
    s = urls.astype("string")
    parts = split_urls(s)
    host = normalise_hosts(parts["host"])
    issue = pd.Series(pd.NA, index=s.index, dtype="string")
    bad_chars = host.map(_has_bad_host_chars, na_action="ignore").astype("boolean")
    issue = issue.mask(bad_chars.fillna(False) | (host.isna() & parts["host"].fillna("").ne("")), "invalid host")
    issue = issue.mask(parts["host"].fillna("").eq(""), "no host")
    not_http = parts["scheme"].notna() & ~parts["scheme"].isin(["http", "https"])
    issue = issue.mask(not_http.fillna(False), "scheme " + parts["scheme"].fillna("") + " is not http(s)")
    issue = issue.mask(s.str.len().gt(MAX_URL_LENGTH).fillna(False), "URL longer than 2048 characters")
    issue = issue.mask(s.isna() | s.str.strip().eq("").fillna(True), "missing URL")
    return issue


@lru_cache(maxsize=_CACHE)
def _has_bad_host_chars(host: str) -> bool:
    if not host or host.startswith(".") or ".." in host or len(host) > 253:
        return True
    if ":" in host:  # only an IPv6 literal may contain colons
        try:
            ipaddress.IPv6Address(host)
            return False
        except ValueError:
            return True
    return not set(host) <= _HOST_CHARS


_HOST_BYTE = np.zeros(256, dtype=bool)  # _HOST_CHARS but ":" (IPv6 literals are parsed)
_HOST_BYTE[np.frombuffer(b"abcdefghijklmnopqrstuvwxyz0123456789-._[]", np.uint8)] = True


def _bad_hosts(hosts: pa.Array) -> np.ndarray:
    """:func:`_has_bad_host_chars` of each (normalised, so ASCII) host, shape (n,): byte
    tests on the buffer; only hosts with a ":" go through the IPv6 parser. Null hosts get
    an arbitrary answer."""
    data, offsets = _buffers(hosts)
    start, stop = offsets[:-1], offsets[1:]
    any_in = _any_in
    length = stop - start
    first_dot = np.zeros(len(start), dtype=bool)
    some = length > 0
    first_dot[some] = data[start[some]] == ord(".")
    is_dot = data == ord(".")
    dot_dot = np.flatnonzero(is_dot[:-1] & is_dot[1:])  # a pair at p lies in a host when p + 1 < stop
    bad = (length == 0) | first_dot | (length > 253) | any_in(dot_dot, start, stop - 1)
    bad |= any_in(np.flatnonzero(~_HOST_BYTE[data]), start, stop)
    colon = np.flatnonzero(any_in(np.flatnonzero(data == ord(":")), start, stop))
    if len(colon):
        bad[colon] = [h is None or _has_bad_host_chars(h) for h in hosts.take(pa.array(colon)).to_pylist()]
    return bad


def _issues_and_hosts(urls: pa.Array) -> tuple[pa.Array | None, pa.Array]:
    """:func:`url_issues` and :func:`hosts_of` of the same URLs from one split.

    Parameters
    ----------
    urls : pyarrow string array, shape (n,)

    Returns
    -------
    issues : large_string array, shape (n,), or None when no URL has an issue
    hosts : large_string array, shape (n,)
        The normalised host (null where there is none).
    """
    if isinstance(urls, pa.ChunkedArray):
        urls = urls.combine_chunks()
    urls = urls.cast(pa.large_string())
    n = len(urls)
    sp = _split(urls)
    raw = _split_host(sp)
    hosts = _ascii_hosts(raw)
    has_host = np.asarray(pc.is_valid(hosts).to_numpy(zero_copy_only=False), dtype=bool)
    # url_issues' masks, the later ones winning: invalid host < no host < scheme < length < missing
    code = np.zeros(n, dtype=np.int8)
    raw_len = np.asarray(pc.fill_null(pc.binary_length(raw), 0).to_numpy(zero_copy_only=False))
    # Per row (byte tests cost less than finding the distinct hosts first); what it says
    # for a row without a host is not used.
    bad = _bad_hosts(hosts) & has_host
    code[bad | (~has_host & (raw_len > 0))] = 1
    code[raw_len == 0] = 2
    # A named scheme (the URL's own, lower-cased) that is not http(s); URLs without one are
    # read as http. "b | 0x20" equals the lower-case letter only for the letter's two cases.
    width = sp.colon - sp.start
    head = sp.window[:, :4].copy().view("<u4")[:, 0] | 0x20202020
    http = (head == _HTTP) & ((width == 4) | ((width == 5) & ((sp.window[:, 4] | 0x20) == ord("s"))))
    valid = np.asarray(sp.valid.to_numpy(zero_copy_only=False), dtype=bool)
    not_http = (sp.scheme_ok | sp.opaque) & ~http & valid
    code[not_http] = 3
    length = pc.binary_length(urls)  # bytes >= characters: characters only when it matters
    if (pc.max(length).as_py() or 0) > MAX_URL_LENGTH:
        length = pc.utf8_length(urls)
    code[np.asarray(pc.fill_null(pc.greater(length, MAX_URL_LENGTH), False).to_numpy(zero_copy_only=False))] = 4
    code[~valid | (sp.start == sp.end)] = 5  # missing, or only whitespace
    if not code.any():
        return None, hosts
    out = np.full(n, None, dtype=object)
    for c, reason in ((1, "invalid host"), (2, "no host"), (4, "URL longer than 2048 characters"), (5, "missing URL")):
        out[code == c] = reason
    rows = np.flatnonzero(code == 3)
    if len(rows):
        schemes = _lower(byte_slices(sp.data, sp.start[rows], sp.colon[rows])).to_pylist()
        out[rows] = [f"scheme {x} is not http(s)" for x in schemes]
    return pa.array(out, type=pa.large_string()), hosts


@lru_cache(maxsize=_CACHE)
def _host_parts(host: str) -> tuple[str, str, str, bool, bool]:
    ip = _is_ip(host)
    if ip:
        return host, "", "", True, False
    r = _EXTRACT(host)
    registrable = r.top_domain_under_public_suffix or host
    # ICANN suffix, even when a private suffix (blogspot.com) was used for the domain.
    icann = r.registry_suffix if hasattr(r, "registry_suffix") else r.suffix
    return registrable, icann or "", r.subdomain, False, r.is_private


_IPV4_CHARS = frozenset("0123456789.")


@lru_cache(maxsize=_CACHE)
def _is_ip(host: str) -> bool:
    # Most hosts are names: skip the (slow) parser unless the host could be an IP literal.
    if ":" not in host and not set(host) <= _IPV4_CHARS:
        return False
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        return False


# --- vectorised Public Suffix List lookup ----------------------------------------------
# tldextract walks its suffix trie label by label from the right, in Python, for every host.
# The trie's nodes are exactly the suffix strings of its paths ("uk", "co.uk", "*.ck",
# "!www.ck"), a prefix-closed set, so the walk's depth for a host is the number of its tails
# ("uk", "co.uk", "x.co.uk", ...) in that set: one hash lookup per tail, for all hosts at
# once. Hosts the shortcut does not cover (IDN labels, IP-like, anything but [a-z0-9_-]
# labels) go through tldextract itself (_host_parts).
_PLAIN_HOST_RE = r"^[a-z0-9_\-]+(?:\.[a-z0-9_\-]+)*$"


class _SuffixTrie:
    """tldextract's trie (private suffixes included) flattened into arrays, one per node,
    nodes identified by their path string ("co.uk"); node 0 is the root."""

    def __init__(self):
        root = _EXTRACT._get_tld_extractor().tlds_incl_private_trie
        paths, end, private, parent_of_wild = [""], [False], [False], {}
        stack = [("", root)]
        while stack:
            path, node = stack.pop()
            for label, child in node.matches.items():
                p = f"{label}.{path}" if path else label
                paths.append(p)
                end.append(child.end)
                private.append(child.is_private)
                if label == "*":
                    parent_of_wild[path] = p
                stack.append((p, child))
        self.index = index = {p: i for i, p in enumerate(paths)}
        self.paths = pa.array(paths, pa.large_string())
        self.end = np.array(end, dtype=bool)
        self.private = np.array(private, dtype=bool)
        self.wildcard = np.full(len(paths), -1, dtype=np.int64)  # node -> its "*" child
        for parent, child in parent_of_wild.items():
            self.wildcard[index[parent]] = index[child]
        self.depth = max(p.count(".") + 1 for p in paths if p)

    def lookup(self, strings: pa.Array) -> np.ndarray:
        """Node of each string, -1 where it is not a trie path."""
        if len(strings) <= 64:  # index_in would hash the ~10k trie paths for a handful
            return np.array([self.index.get(s, -1) for s in strings.to_pylist()], dtype=np.int64)
        idx = pc.index_in(strings, value_set=self.paths)
        return np.asarray(pc.fill_null(idx, -1).to_numpy(zero_copy_only=False), dtype=np.int64)


@lru_cache(maxsize=1)
def _suffix_trie() -> _SuffixTrie:
    return _SuffixTrie()


def _plain_host_parts(hosts: pa.Array) -> dict[str, object]:
    """:func:`_host_parts` of plain host names (matching ``_PLAIN_HOST_RE``), vectorised.

    Mirrors tldextract's ``suffix_index`` and ``_extract_netloc``: the deepest matched node
    that ends a rule gives the public suffix (and the deepest non-private one the registry
    suffix); a label that does not match under a node with a ``*`` child belongs to the
    suffix too, unless ``!label`` is listed. No match at all: no suffix, the last label is
    the domain.

    Returns
    -------
    dict with ``domain, suffix, subdomain`` (large_string arrays, shape (n,)) and
    ``private_suffix`` (ndarray of bool, shape (n,)).
    """
    trie = _suffix_trie()
    data, offsets = _buffers(hosts)
    start, stop = offsets[:-1], offsets[1:]
    n = len(hosts)
    dot_pos = np.flatnonzero(data == ord("."))
    dots_before = np.searchsorted(dot_pos, start)
    n_labels = np.searchsorted(dot_pos, stop) - dots_before + 1
    dot_pos = np.append(dot_pos, 0)  # keeps the gather below in bounds for single labels

    def tail_start(rows: np.ndarray, k: np.ndarray) -> np.ndarray:
        """Byte position where the last *k* labels of *rows* begin (k >= n_labels: start)."""
        j = dots_before[rows] + n_labels[rows] - 1 - k
        return np.where(k >= n_labels[rows], start[rows], dot_pos[np.maximum(j, 0)] + 1)

    everyone = np.arange(n)
    depth = np.zeros(n, dtype=np.int64)  # labels matched from the right
    node = np.zeros(n, dtype=np.int64)  # trie node reached (0: root)
    end_k = np.zeros(n, dtype=np.int64)  # deepest level whose node ends a rule (0: none)
    end_node = np.zeros(n, dtype=np.int64)
    reg_k = np.zeros(n, dtype=np.int64)  # deepest level ending an ICANN (non-private) rule
    alive = everyone
    for k in range(1, trie.depth + 1):
        alive = alive[n_labels[alive] >= k]
        if not len(alive):
            break
        found = trie.lookup(byte_slices(data, tail_start(alive, np.full(len(alive), k)), stop[alive]))
        alive, found = alive[found >= 0], found[found >= 0]
        depth[alive], node[alive] = k, found
        ends = trie.end[found]
        end_k[alive[ends]], end_node[alive[ends]] = k, found[ends]
        icann = ends & ~trie.private[found]
        reg_k[alive[icann]] = k

    pub_k = end_k.copy()  # labels in the public suffix
    private = trie.private[end_node] & (end_k > 0)
    wild = (depth < n_labels) & (trie.wildcard[node] >= 0)
    if wild.any():
        rows = everyone[wild]
        tail = byte_slices(data, tail_start(rows, depth[rows] + 1), stop[rows])
        bang = pa.scalar("!", pa.large_string())
        exception = trie.lookup(pc.binary_join_element_wise(bang, tail, pa.scalar("", pa.large_string()))) >= 0
        pub_k[rows] = np.where(exception, depth[rows], depth[rows] + 1)
        private[rows] = trie.private[trie.wildcard[node[rows]]]
    n_before = n_labels - pub_k  # labels before the suffix
    suffix_start = np.where(pub_k > 0, tail_start(everyone, pub_k), stop)
    domain_start = tail_start(everyone, pub_k + 1)
    has_domain = n_before > 0
    suffix = byte_slices(data, suffix_start, stop)
    # top_domain_under_public_suffix: "domain.suffix" when both exist, else the host itself.
    registrable = byte_slices(data, np.where(has_domain & (pub_k > 0), domain_start, start), stop)
    registry_start = np.where(reg_k > 0, tail_start(everyone, reg_k), stop)
    registry = pc.if_else(pa.array(private), byte_slices(data, registry_start, stop), suffix)
    return {
        "domain": registrable,
        "suffix": registry,
        "subdomain": byte_slices(data, start, np.where(n_before >= 2, domain_start - 1, start)),
        "private_suffix": private,
    }


_LABEL_BYTE = np.zeros(256, dtype=bool)
_LABEL_BYTE[np.frombuffer(b"abcdefghijklmnopqrstuvwxyz0123456789_-", np.uint8)] = True
_IP_BYTE = np.zeros(256, dtype=bool)
_IP_BYTE[np.frombuffer(b"0123456789.", np.uint8)] = True


def _any_in(pos: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Whether some position of *pos* (sorted) lies in each ``[lo, hi)``."""
    return np.searchsorted(pos, hi) > np.searchsorted(pos, lo)


def _plain_hosts(hosts: pa.Array) -> np.ndarray:
    """Which (non-null) hosts :func:`_plain_host_parts` covers, shape (n,) bool: matching
    ``_PLAIN_HOST_RE``, without an "xn--" label and not all digits and dots (IP-like).
    Byte tests on the UTF-8 buffer (any byte >= 0x80 fails the class test, as the
    non-ASCII character it belongs to fails the pattern)."""
    data, offsets = _buffers(hosts)
    start, stop = offsets[:-1], offsets[1:]
    some = stop > start
    is_dot = data == ord(".")
    edge_dot = np.ones(len(start), dtype=bool)
    edge_dot[some] = is_dot[start[some]] | is_dot[stop[some] - 1]
    plain = some & ~edge_dot
    plain &= ~_any_in(np.flatnonzero(is_dot[:-1] & is_dot[1:]), start, stop - 1)  # an empty label
    plain &= ~_any_in(np.flatnonzero(~(_LABEL_BYTE[data] | is_dot)), start, stop)
    plain &= _any_in(np.flatnonzero(~_IP_BYTE[data]), start, stop)
    if len(data) >= 4:
        xn = (data[:-3] == ord("x")) & (data[1:-2] == ord("n")) & (data[2:-1] == ord("-")) & (data[3:] == ord("-"))
        plain &= ~_any_in(np.flatnonzero(xn), start, stop - 3)
    return plain


def host_table(hosts: pd.Series | np.ndarray | list) -> pd.DataFrame:
    """Facts about each *unique* normalised host, indexed by host.

    Columns: ``domain`` (registrable domain, eTLD+1 with private suffixes such as
    ``blogspot.com`` counted, so ``name.blogspot.com`` is its own domain; the host
    itself for IP addresses), ``suffix`` (ICANN public suffix, ``""`` for IPs),
    ``subdomain``, ``is_ip``, ``private_suffix`` (the domain sits on a PSL private
    suffix: a platform where anyone can publish).
    """
    uniq = pd.unique(pd.Series(hosts, dtype="string").dropna())
    if not len(uniq):
        return pd.DataFrame([], columns=["domain", "suffix", "subdomain", "is_ip", "private_suffix"],
                            index=pd.Index(uniq, dtype="string", name="host"))
    facts = _host_facts(pa.array(uniq, type=pa.large_string()))
    table = pd.DataFrame({k: (v.to_pandas() if isinstance(v, pa.Array) else v) for k, v in facts.items()})
    table.index = pd.Index(uniq, dtype="string", name="host")
    return table


def _host_facts(uniq: pa.Array) -> dict[str, pa.Array | np.ndarray]:
    """:func:`host_table` columns of distinct non-null hosts: ``domain, suffix, subdomain``
    as large_string arrays, ``is_ip, private_suffix`` as bool ndarrays, shape (n,) each.

    Plain names are looked up vectorised (:func:`_plain_host_parts`); the rest (IP
    literals, IDN, odd characters) one by one with tldextract.
    """
    plain = _plain_hosts(uniq)
    fast_rows, slow_rows = np.flatnonzero(plain), np.flatnonzero(~plain)
    if not len(slow_rows):  # the usual chunk: every host a plain name
        fast = _plain_host_parts(uniq)
        return {"domain": fast["domain"], "suffix": fast["suffix"], "subdomain": fast["subdomain"],
                "is_ip": np.zeros(len(uniq), dtype=bool), "private_suffix": fast["private_suffix"]}
    fast = _plain_host_parts(uniq.take(pa.array(fast_rows)))
    slow = [_host_parts(h) for h in uniq.take(pa.array(slow_rows)).to_pylist()]
    order = np.empty(len(uniq), dtype=np.int64)
    order[np.concatenate([fast_rows, slow_rows])] = np.arange(len(uniq))
    take = pa.array(order)
    out: dict[str, pa.Array | np.ndarray] = {}
    for i, name in enumerate(("domain", "suffix", "subdomain")):
        rest = pa.array([r[i] for r in slow], pa.large_string())
        out[name] = pa.concat_arrays([fast[name], rest]).take(take)
    out["is_ip"] = np.concatenate([np.zeros(len(fast_rows), dtype=bool), np.array([r[3] for r in slow], dtype=bool)])[order]
    out["private_suffix"] = np.concatenate([fast["private_suffix"], np.array([r[4] for r in slow], dtype=bool)])[order]
    return out


def hosts_of(urls: pd.Series) -> pd.Series:
    """Normalised host of each URL (``NA`` where there is none); equals
    ``normalise_hosts(split_urls(urls)["host"])`` at a fraction of the cost."""
    return _string_series(_hosts_arrow(urls), urls.index)


def _hosts_arrow(urls: pd.Series) -> pa.Array:
    return _ascii_hosts(_url_arrays(urls, host_only=True)["host"])


def _domains_arrow(hosts: pa.Array) -> pa.Array:
    """Registrable domain of each host (null where the host is), parsed per distinct host."""
    enc = pc.dictionary_encode(hosts)
    if not len(enc.dictionary):
        return pa.nulls(len(hosts), pa.large_string())
    return _host_facts(enc.dictionary.cast(pa.large_string()))["domain"].take(enc.indices)


def domains_of(hosts: pd.Series) -> pd.Series:
    """Registrable domain of each normalised host, aligned with *hosts*."""
    arr = pa.array(hosts.astype("string"), type=pa.large_string())
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    return _string_series(_domains_arrow(arr), hosts.index)


# Hosts of the source URLs of the last blocks read (exports._canonical splits the URLs for
# url_issues anyway): with_hosts takes them from here instead of splitting the URLs again.
# Keyed by the Arrow buffers of the URL array, which an entry keeps alive (so no other array
# can have their addresses meanwhile); Arrow buffers never change. A few entries, so memory
# does not grow with the export; an entry is dropped when the end of its block is recalled.
_RECENT_MAX = 4
_recent: dict[tuple[int, ...], tuple[pa.Array, pa.Array]] = {}
_recent_lock = threading.Lock()


def _buffer_key(arr: pa.Array) -> tuple[int, ...]:
    return tuple(b.address if b is not None else 0 for b in arr.buffers())


def _remember_hosts(urls: pa.Array, hosts: pa.Array) -> None:
    """Keep the normalised *hosts* of the ``large_string`` array *urls* for
    :func:`with_hosts` (see ``_recent``)."""
    with _recent_lock:
        _recent[_buffer_key(urls)] = (urls, hosts)
        while len(_recent) > _RECENT_MAX:
            del _recent[next(iter(_recent))]


def _recall_hosts(urls: pd.Series) -> pa.Array | None:
    """Hosts remembered for *urls* (or for the array *urls* is a slice of), else None."""
    values = urls.array
    if not isinstance(values, pd.arrays.ArrowStringArray) or values._pa_array.num_chunks != 1:
        return None
    chunk = values._pa_array.chunk(0)
    if chunk.type != pa.large_string():
        return None
    key = _buffer_key(chunk)
    with _recent_lock:
        entry = _recent.get(key)
        if entry is None:
            return None
        full, hosts = entry
        lo = chunk.offset - full.offset
        if lo < 0 or lo + len(chunk) > len(full):
            return None
        if lo + len(chunk) == len(full):  # the block's last rows: it is not asked for again
            del _recent[key]
    return hosts if lo == 0 and len(chunk) == len(full) else hosts.slice(lo, len(chunk))


def with_hosts(links: pd.DataFrame) -> pd.DataFrame:
    """*links* with ``host`` and ``domain`` columns (parsed once per unique host).

    Returns *links* itself when it has both columns already, else a copy with them added.
    The hosts of a chunk straight from :func:`toxlink.exports.iter_export` are the ones its
    reader split already (for the row issues), not split again.
    """
    from toxlink import schema as S

    if S.HOST in links.columns and S.DOMAIN in links.columns:
        return links
    out = links.copy(deep=False)  # copy-on-write: adding columns never touches *links*
    host = _recall_hosts(links[S.SOURCE_URL])  # split by the reader already (exports)
    if host is None:
        host = _hosts_arrow(links[S.SOURCE_URL])
    out[S.HOST] = _string_series(host, links.index)
    out[S.DOMAIN] = _string_series(_domains_arrow(host), links.index)
    return out
