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
    padded = np.concatenate([data, np.zeros(_SCHEME_WIDTH, np.uint8)])
    return np.lib.stride_tricks.sliding_window_view(padded, _SCHEME_WIDTH)[start]


def _first_colons(d: "_Delimiters", window: np.ndarray, start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """Position of each string's first ":" (*end* when none): read from the first bytes
    (*window*, :func:`_heads`) where it is among them ("http:"), searched for the rest."""
    inside = np.arange(_SCHEME_WIDTH) < (end - start)[:, None]
    is_colon = (window == ord(":")) & inside
    found = is_colon.any(axis=1)
    colon = start + is_colon.argmax(axis=1)
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


def _url_arrays(urls: pd.Series | pa.Array, host_only: bool = False, with_host: bool = True) -> dict[str, pa.Array]:
    """The parts of :func:`split_urls` as pyarrow ``large_string`` arrays (host not yet
    punycoded); only ``host`` when *host_only*, all but ``host`` when not *with_host*."""
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
    opaque = pa.array(opaque_np)
    rest = np.where(scheme_ok, colon + 3, start)  # after "scheme://"
    # One search finds both ends in the usual URL: the first of "/?#@:" after the scheme is
    # the host's end when it is one of "/?#" (no user info, no port).
    first_any = d.first(_SLASH | _QMARK | _HASH | _AT | _COLON, rest, end)
    # "[^/?#@]*@": userinfo runs to an "@" that comes before any "/", "?" or "#"; past a
    # ":" it is searched again.
    stop = first_any.copy()
    inside = first_any < end
    at_colon = np.zeros(len(stop), dtype=bool)
    at_colon[inside] = data[first_any[inside]] == ord(":")
    rows = np.flatnonzero(at_colon)
    if len(rows):
        stop[rows] = d.first(_SLASH | _QMARK | _HASH | _AT, rest[rows], end[rows])
    at = np.zeros(len(stop), dtype=bool)
    inside = stop < end
    at[inside] = data[stop[inside]] == ord("@")
    host_start = np.where(at, stop + 1, rest)
    # "\[[^\]/?#]*\]" (an IPv6 literal) when it closes, else "[^/?#:]*": without user info
    # the first of "/?#:" from the host's start is first_any.
    host_end = first_any
    rows = np.flatnonzero(at)
    if len(rows):
        host_end[rows] = d.first(_SLASH | _QMARK | _HASH | _COLON, host_start[rows], end[rows])
    bracket = np.zeros(len(stop), dtype=bool)
    inside = host_start < end
    bracket[inside] = data[host_start[inside]] == ord("[")
    if bracket.any():
        close = d.first(_RBRACKET | _SLASH | _QMARK | _HASH, host_start + 1, end)
        closed = np.zeros(len(stop), dtype=bool)
        inside = close < end
        closed[inside] = data[close[inside]] == ord("]")
        host_end = np.where(bracket & closed, close + 1, host_end)
    null = pa.scalar(None, pa.large_string())
    mask = pc.invert(valid)
    if with_host or host_only:
        # ASCII trims: a "." or "[" byte in UTF-8 is always that character, so these equal
        # utf8_rtrim/utf8_trim on any text
        host = pc.ascii_trim(pc.ascii_rtrim(_lower(byte_slices(data, host_start, host_end)), "."), "[]")
        host = pc.if_else(pc.or_(mask, opaque), null, host)
    if host_only:
        return {"host": host}

    def next_is(pos, ch):
        out = np.zeros(len(pos), dtype=bool)
        inside = pos < end
        out[inside] = data[pos[inside]] == ord(ch)
        return out

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
    plain = pc.and_(pc.string_is_ascii(arr), pc.greater(pc.binary_length(arr), 0))
    out = pc.if_else(plain, arr, pa.scalar(None, pa.large_string()))
    idn = pc.fill_null(pc.invert(pc.string_is_ascii(arr)), False)
    if pc.any(idn).as_py():
        values = arr.filter(idn)
        uniq = pc.unique(values)
        mapped = pa.array([_ascii_host(h) for h in uniq.to_pylist()], pa.large_string())
        out = pc.replace_with_mask(out, idn, mapped.take(pc.index_in(values, value_set=uniq)))
    return out


def url_issues(urls: pd.Series) -> pd.Series:
    """Why each URL cannot be used as a referring page, or ``NA`` when it is fine.

    Reasons: ``missing URL``, ``URL longer than 2048 characters``, ``scheme X is not
    http(s)``, ``no host``, ``invalid host``.
    """
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
    plain = pc.and_(pc.match_substring_regex(uniq, _PLAIN_HOST_RE),
                    pc.invert(pc.or_(pc.match_substring(uniq, "xn--"), pc.match_substring_regex(uniq, r"^[0-9.]+$"))))
    plain = np.asarray(plain.to_numpy(zero_copy_only=False), dtype=bool)
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


def with_hosts(links: pd.DataFrame) -> pd.DataFrame:
    """*links* with ``host`` and ``domain`` columns (parsed once per unique host).

    Returns *links* itself when it has both columns already, else a copy with them added.
    """
    from toxlink import schema as S

    if S.HOST in links.columns and S.DOMAIN in links.columns:
        return links
    out = links.copy(deep=False)  # copy-on-write: adding columns never touches *links*
    host = _hosts_arrow(links[S.SOURCE_URL])
    out[S.HOST] = _string_series(host, links.index)
    out[S.DOMAIN] = _string_series(_domains_arrow(host), links.index)
    return out
