"""URLs and hosts: URL parts, normalised hosts, registrable domains, unusable URLs.

A URL is split by RE2 regexes that pyarrow.compute runs over every URL (:data:`_URL_RE`);
everything that depends only on the authority or the host -- the host's normal form
(lower case, no port, userinfo or trailing dot, IDN as punycode ``xn--``, IPv6 without
brackets), whether it is valid, its registrable domain -- is computed once per *distinct*
authority or host and taken back to the rows: an export has far fewer hosts than links.

Registrable domains come from tldextract's public API with its bundled Public Suffix List
snapshot only (``suffix_list_urls=()``, no cache dir): it never touches the network.
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
_EXTRACT = tldextract.TLDExtract(cache_dir=None, suffix_list_urls=(), include_psl_private_domains=True)

MAX_URL_LENGTH = 2048

_SCHEME = r"[A-Za-z][A-Za-z0-9+.\-]*"
# "scheme://authority", then path and query. Every character has one place to go (the path
# starts with "/", the query with "?"), so RE2 matches it with its fast one-pass engine.
_HEAD_RE = rf"^(?P<scheme>{_SCHEME})://(?P<authority>[^/?#]*)"
_URL_RE = _HEAD_RE + r"(?P<path>/[^?#]*)?(?:\?(?P<query>[^#]*))?"
# "mailto:x@y", "javascript:void(0)": a scheme with no "//" and no port-like digits after it.
_OPAQUE_RE = rf"^{_SCHEME}:(?:[^0-9/]|$)"
# The authority: [userinfo "@"] host [":" port]. A bracketed (IPv6) host may be followed by
# text that is neither a port nor "/" ("[x]abc"): that text belongs to the path.
_AUTHORITY_RE = r"^(?:[^@]*@)?(?P<host>\[[^\]]*\]|[^:]*)(?::(?P<port>.*))?(?P<rest>.*)$"
# Not a valid (normalised) host name: empty, a leading "." or an empty label, or another
# character than these (hosts with ":" are valid when they are IPv6 addresses), a label
# that starts or ends with "-" or is longer than 63 characters (RFC 1123: no registry
# hands out such a name, so no disavow line may carry one). A bare "-" is left to the
# referring rules, which name it "not a public site name" (an export's empty-cell mark).
_BAD_HOST_RE = r"^$|^\.|\.\.|[^a-z0-9\-._\[\]]|(?:^|\.)-(?:[^.]|\.)|\.-$|[^.]-(?:\.|$)|[^.]{64}"

# Per-host results, cached across calls: the features of every chunk look up hosts the
# reader's chunks saw already. Bounded (~400 bytes a host), a miss costs a tldextract call.
_HOST_CACHE = 1 << 18

_STR = pa.large_string()
_NULL = pa.scalar(None, _STR)


def _arrow(values) -> pa.Array:
    """*values* (Series, Arrow array or list of str / None) as one ``large_string`` array."""
    if isinstance(values, pd.Series):
        values = pa.array(values.astype("string").array)  # pandas hands over its Arrow data
    elif not isinstance(values, (pa.Array, pa.ChunkedArray)):
        values = pa.array(values, type=_STR, from_pandas=True)
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    return values.cast(_STR)


def _series(arr: pa.Array, index: pd.Index) -> pd.Series:
    """A ``string`` Series over a pyarrow string array (no copy of the data)."""
    return pd.Series(pd.array(arr.cast(_STR), dtype="string"), index=index)


def _text(value: str) -> pa.Scalar:
    return pa.scalar(value, _STR)


# --- splitting URLs ---------------------------------------------------------------------

def _split(urls: pa.Array, pattern: str) -> tuple[pa.StructArray, pa.Array | None, pa.Array]:
    """The groups of *pattern* (:data:`_HEAD_RE` or :data:`_URL_RE`) for each URL.

    A URL is trimmed first. One without "scheme://" is read as ``http://`` + URL
    (``example.com/page``); one with a non-hierarchical scheme (``mailto:``) is *opaque*.

    Returns
    -------
    parts : StructArray, shape (n,); null where the URL is
    opaque : bool array, shape (n,), or None when no URL is opaque
    trimmed : large_string array, shape (n,)
    """
    s = pc.utf8_trim_whitespace(urls)
    parts = pc.extract_regex(s, pattern)
    if parts.null_count == s.null_count:  # every URL has "scheme://" (nearly every export)
        return parts, None, s
    bare = pc.and_(pc.is_null(parts), pc.is_valid(s))
    parts = pc.extract_regex(pc.if_else(bare, pc.binary_join_element_wise(_text("http://"), s, _text("")), s), pattern)
    opaque = pc.and_(bare, pc.match_substring_regex(s, _OPAQUE_RE))
    return parts, (opaque if pc.any(opaque).as_py() else None), s


def _schemes(parts: pa.StructArray, opaque: pa.Array | None, trimmed: pa.Array) -> pa.Array:
    """Lower-case scheme of each URL: its own, ``http`` when it has none, null when missing."""
    scheme = pc.struct_field(parts, "scheme")
    if opaque is not None:
        own = pc.list_element(pc.split_pattern(trimmed, ":", max_splits=1), 0)
        scheme = pc.if_else(opaque, own, scheme)
    return pc.utf8_lower(scheme)


def _authority_parts(authorities: pa.Array) -> dict[str, pa.Array]:
    """``host`` (lower case, no trailing dot or brackets, not punycoded), ``port`` and
    ``rest`` (what follows a bracketed host, see :data:`_AUTHORITY_RE`) of each authority."""
    host, port, rest = authorities, pa.repeat(_text(""), len(authorities)), pa.repeat(_text(""), len(authorities))
    # Nearly every authority is a bare host: only the others go through the regex, which
    # costs as much as splitting every URL did.
    other = pc.match_substring_regex(authorities, r"[@:\[\]]")
    if pc.any(other).as_py():
        parts = pc.extract_regex(authorities.filter(other), _AUTHORITY_RE)
        host, port, rest = (pc.replace_with_mask(whole, other, pc.struct_field(parts, name))
                            for whole, name in ((host, "host"), (port, "port"), (rest, "rest")))
    host = pc.utf8_trim(pc.utf8_rtrim(pc.utf8_lower(host), "."), "[]")
    return {"host": host, "port": port, "rest": rest}


class _Authorities:
    """The URLs' authorities, dictionary-encoded: per-authority facts are computed on
    ``values`` (distinct authorities) and taken back to the rows with :meth:`rows`."""

    def __init__(self, parts: pa.StructArray):
        enc = pc.dictionary_encode(pc.struct_field(parts, "authority"))
        self.values, self.codes = enc.dictionary.cast(_STR), enc.indices

    def rows(self, per_value: pa.Array) -> pa.Array:
        return per_value.take(self.codes)


def _url_arrays(urls: pa.Array, *, with_host: bool = True) -> dict[str, pa.Array]:
    """``scheme, host, port, path, query`` of :func:`split_urls` as ``large_string`` arrays
    (host not punycoded); all but ``host`` when not *with_host*."""
    parts, opaque, trimmed = _split(urls, _URL_RE)
    auth = _Authorities(parts)
    facts = _authority_parts(auth.values)
    path = pc.struct_field(parts, "path")
    if pc.any(pc.not_equal(facts["rest"], "")).as_py():
        path = pc.binary_join_element_wise(auth.rows(facts["rest"]), path, _text(""))
    valid = pc.is_valid(urls)  # a missing URL has "" as port, path and query
    out = {
        "scheme": _schemes(parts, opaque, trimmed),
        "port": pc.if_else(valid, auth.rows(facts["port"]), _text("")),
        "path": pc.if_else(valid, path, _text("")),
        "query": pc.if_else(valid, pc.struct_field(parts, "query"), _text("")),
    }
    if with_host:
        host = auth.rows(facts["host"])
        out["host"] = host if opaque is None else pc.if_else(opaque, _NULL, host)
    return {k: out[k].cast(_STR) for k in ("scheme", "host", "port", "path", "query") if k in out}


def split_urls(urls: pd.Series) -> pd.DataFrame:
    """Split URLs into ``scheme, host, port, path, query``.

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
    parts = _url_arrays(_arrow(urls))
    return pd.DataFrame({k: _series(v, urls.index) for k, v in parts.items()}, index=urls.index)


def url_parts_arrow(urls: pa.Array) -> dict[str, pa.Array]:
    """``scheme, port, path, query`` of :func:`split_urls` as ``large_string`` arrays,
    without the host (for callers that have it already) and without pandas."""
    return _url_arrays(_arrow(urls), with_host=False)


# --- hosts ------------------------------------------------------------------------------

@lru_cache(maxsize=_HOST_CACHE)
def _ascii_host(host: str) -> str | None:
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError:
        try:
            import idna

            return idna.encode(host, uts46=True).decode("ascii")
        except Exception:
            return None


def _ascii_hosts(hosts: pa.Array) -> pa.Array:
    """Punycode of each (lower-case) host; ASCII hosts are kept as they are, ``""`` and
    hosts that cannot be encoded (an invalid IDN label) become null."""
    ascii_ = pc.string_is_ascii(hosts)
    out = pc.if_else(pc.and_(ascii_, pc.greater(pc.binary_length(hosts), 0)), hosts, _NULL)
    idn = pc.fill_null(pc.invert(ascii_), False)
    if pc.any(idn).as_py():
        mapped = pa.array([_ascii_host(h) for h in hosts.filter(idn).to_pylist()], _STR)
        out = pc.replace_with_mask(out, idn, mapped)
    return out


def normalise_hosts(hosts: pd.Series) -> pd.Series:
    """Punycode the (already lower-cased) hosts, computed once per distinct host.

    Returns a ``string`` Series aligned with *hosts*; ``NA`` where the host cannot be
    encoded (e.g. an invalid IDN label).
    """
    enc = pc.dictionary_encode(_arrow(hosts))
    return _series(_ascii_hosts(enc.dictionary.cast(_STR)).take(enc.indices), hosts.index)


def hosts_arrow(urls: pa.Array) -> pa.Array:
    """:func:`hosts_of` for an Arrow array of URLs: a ``large_string`` array, shape (n,)."""
    parts, opaque, _ = _split(_arrow(urls), _HEAD_RE)
    auth = _Authorities(parts)
    host = auth.rows(_ascii_hosts(_authority_parts(auth.values)["host"]))
    return host if opaque is None else pc.if_else(opaque, _NULL, host)


def hosts_of(urls: pd.Series) -> pd.Series:
    """Normalised host of each URL (``NA`` where there is none); equals
    ``normalise_hosts(split_urls(urls)["host"])``."""
    return _series(hosts_arrow(_arrow(urls)), urls.index)


# --- unusable URLs ----------------------------------------------------------------------

def _bad_hosts(hosts: pa.Array) -> np.ndarray:
    """Whether each normalised (ASCII, non-null) host is not a valid host name or IPv6
    address: empty, starting with ".", with an empty label, a label starting or ending
    with ``-`` or longer than 63 characters, longer than 253 characters or with other
    characters than letters, digits and ``-._[]``. Shape (n,) bool."""
    bad = _mask(pc.or_(pc.match_substring_regex(hosts, _BAD_HOST_RE), pc.greater(pc.binary_length(hosts), 253)))
    colon = np.flatnonzero(_mask(pc.match_substring(hosts, ":")))
    for i, host in zip(colon, hosts.take(pa.array(colon, pa.int64())).to_pylist()):
        bad[i] = not _is_ip(host)  # with a colon, only an IPv6 address
    return bad


def _not_a_site(hosts: pa.Array) -> np.ndarray:
    """Code of why each valid normalised host (ASCII, non-null) names no site a disavow file
    could name, :data:`_OK` when it does: an IPv6 address, a public suffix itself
    (``com``, ``co.uk``), a name without a dot (``localhost``, ``-``), or four numbers
    that are no IPv4 address (``256.256.256.256``). Shape (n,) int8."""
    code = np.full(len(hosts), _OK, dtype=np.int8)
    if not len(hosts):
        return code
    facts = host_facts(hosts)
    is_ip = facts["is_ip"]
    code[~is_ip & ~_mask(pc.match_substring(hosts, "."))] = _NOT_A_NAME
    code[~is_ip & _mask(pc.equal(facts["suffix"], hosts))] = _PUBLIC_SUFFIX
    code[~is_ip & _mask(pc.match_substring_regex(hosts, r"^[0-9.]+$"))] = _INVALID_HOST
    code[is_ip & _mask(pc.match_substring(hosts, ":"))] = _IPV6
    return code


# Codes of url_issues' reasons: a later rule wins over an earlier one.
(_OK, _INVALID_HOST, _PUBLIC_SUFFIX, _NOT_A_NAME, _IPV6, _NO_HOST, _SCHEME_NOT_HTTP, _WHITESPACE, _TOO_LONG,
 _MISSING) = range(10)
_REASONS = pa.array([None, "invalid host", "the host is a public suffix, not a site",
                     "the host is not a public site name", "an IPv6 address as host cannot be disavowed", "no host",
                     None, "the URL contains whitespace", f"URL longer than {MAX_URL_LENGTH} characters",
                     "missing URL"], _STR)


def url_issues(urls: pd.Series, *, referring: bool = False) -> pd.Series:
    """Why each URL cannot be used, or ``NA`` when it is fine.

    The rules, a later one winning over an earlier one (those marked *referring* only
    with ``referring=True``: a referring page, which a disavow file must be able to name):

    - ``invalid host``: the host is not a valid host name or IPv6 address (after
      punycoding) or cannot be punycoded (*referring*: or four numbers that are no IPv4
      address);
    - *referring*: the host names no site a disavow file could name: a public suffix
      itself (``https://com/``), a name without a dot (``localhost``, ``-``, ``n/a``), an
      IPv6 address;
    - ``no host``: the URL has no host (``http:///x``, ``mailto:x@y``);
    - ``scheme X is not http(s)``: the URL's own scheme is another one;
    - *referring*: ``the URL contains whitespace`` (a space, tab or line break inside
      it), when its host is fine;
    - ``URL longer than 2048 characters``;
    - ``missing URL``: missing, empty or only whitespace.

    Returns a ``string`` Series on *urls*' index.
    """
    issues = url_issues_arrow(_arrow(urls), referring=referring)
    return _series(issues, urls.index)


def url_issues_arrow(urls: pa.Array, *, referring: bool = False) -> pa.Array:
    """:func:`url_issues` for an Arrow array of URLs: a ``large_string`` array, shape (n,)."""
    urls = _arrow(urls)
    parts, opaque, trimmed = _split(urls, _HEAD_RE)
    auth = _Authorities(parts)
    raw = _authority_parts(auth.values)["host"]
    host = _ascii_hosts(raw)
    no_host = ~_mask(pc.greater(pc.binary_length(raw), 0))
    invalid = ~_mask(pc.is_valid(host))  # a host that cannot be punycoded
    per_authority = np.where(invalid, _INVALID_HOST, _OK).astype(np.int8)
    if not invalid.all():
        valid = np.flatnonzero(~invalid)
        bad = _bad_hosts(pc.drop_null(host))
        per_authority[valid[bad]] = _INVALID_HOST
        if referring:
            good = valid[~bad]
            per_authority[good] = _not_a_site(host.take(pa.array(good, pa.int64())))
    per_authority[no_host] = _NO_HOST
    code = np.array(pc.fill_null(auth.rows(pa.array(per_authority)), _OK).to_numpy(zero_copy_only=False), dtype=np.int8)
    if opaque is not None:
        code[_mask(opaque)] = _NO_HOST
    scheme = _schemes(parts, opaque, trimmed)
    code[_mask(pc.invert(pc.is_in(scheme, pa.array(["http", "https"], _STR))))] = _SCHEME_NOT_HTTP
    if referring:  # a host's own problem says more than the whitespace in it
        code[(code == _OK) & _mask(pc.match_substring_regex(trimmed, r"\s"))] = _WHITESPACE
    code[_mask(pc.greater(pc.utf8_length(urls), MAX_URL_LENGTH))] = _TOO_LONG
    code[_mask(pc.equal(trimmed, ""), missing=True)] = _MISSING
    out = _REASONS.take(pa.array(code))
    if (code == _SCHEME_NOT_HTTP).any():
        reason = pc.binary_join_element_wise(_text("scheme "), scheme, _text(" is not http(s)"), _text(""))
        out = pc.if_else(pa.array(code == _SCHEME_NOT_HTTP), reason, out)
    return out


def _mask(arr: pa.Array, missing: bool = False) -> np.ndarray:
    """A bool Arrow array as a writable ndarray, *missing* where it is null."""
    return np.array(pc.fill_null(arr, missing).to_numpy(zero_copy_only=False), dtype=bool)


# --- registrable domains ----------------------------------------------------------------

def _host_parts(host: str) -> tuple[str, str, str, bool, bool]:
    """(registrable domain, ICANN suffix, subdomain, is IP, on a private suffix) of a host
    that is not an IP address."""
    r = _EXTRACT.extract_str(host)
    # ICANN suffix, even when a private suffix (blogspot.com) was used for the domain.
    return r.top_domain_under_public_suffix or host, r.registry_suffix or "", r.subdomain, False, r.is_private


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        return False


_FACTS = ("domain", "suffix", "subdomain", "is_ip", "private_suffix")


def _computed_facts(hosts: pa.Array) -> dict[str, pa.Array]:
    """:data:`_FACTS` of distinct hosts, as Arrow arrays: tldextract per host, the IP
    parser only for hosts that could be an IP literal."""
    maybe_ip = np.asarray(pc.fill_null(pc.match_substring_regex(hosts, r"^[0-9.]+$|:"), False))
    rows = [(h, "", "", True, False) if ip and _is_ip(h) else _host_parts(h)
            for h, ip in zip(hosts.to_pylist(), maybe_ip.tolist())]
    cols = list(zip(*rows)) if rows else [()] * len(_FACTS)
    return {k: pa.array(v, _STR if i < 3 else pa.bool_()) for i, (k, v) in enumerate(zip(_FACTS, cols))}


class _HostMemo:
    """The facts of every host looked up so far in this process, as Arrow columns.

    An export has far fewer hosts than links, and each chunk (and pass 2's features) asks
    about hosts that earlier chunks did: known hosts are taken from the columns with one
    vectorised ``index_in``, only new ones go through tldextract. Bounded: past
    :data:`_HOST_CACHE` hosts it starts over. A lock makes it safe for the engine's threads.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self.clear()

    def clear(self) -> None:
        self._hosts = pa.array([], _STR)
        self._facts = _computed_facts(self._hosts)

    def facts(self, hosts: pa.Array) -> dict[str, pa.Array]:
        """:data:`_FACTS` of each of *hosts* (distinct, non-null normalised hosts)."""
        with self._lock:
            at = pc.index_in(hosts, value_set=self._hosts)
            if at.null_count:
                new = _computed_facts(hosts.filter(pc.is_null(at)))
                if len(self._hosts) + at.null_count > _HOST_CACHE:
                    self._hosts, self._facts = hosts.filter(pc.is_null(at)), new
                else:
                    self._hosts = pa.concat_arrays([self._hosts, hosts.filter(pc.is_null(at))])
                    self._facts = {k: pa.concat_arrays([self._facts[k], new[k]]) for k in _FACTS}
                at = pc.index_in(hosts, value_set=self._hosts)
            return {k: v.take(at) for k, v in self._facts.items()}


_MEMO = _HostMemo()


def host_facts(hosts: pa.Array) -> dict[str, pa.Array | np.ndarray]:
    """:func:`host_table`'s columns for distinct non-null normalised hosts, as arrays:
    ``domain, suffix, subdomain`` (``large_string``) and ``is_ip, private_suffix`` (bool
    ndarrays), shape (n,) each."""
    facts = _MEMO.facts(_arrow(hosts))
    return {k: v if k in _FACTS[:3] else np.asarray(v.to_numpy(zero_copy_only=False), dtype=bool)
            for k, v in facts.items()}


def host_table(hosts: pd.Series | np.ndarray | list) -> pd.DataFrame:
    """Facts about each *unique* normalised host, indexed by host.

    Columns: ``domain`` (registrable domain, eTLD+1 with private suffixes such as
    ``blogspot.com`` counted, so ``name.blogspot.com`` is its own domain; the host
    itself for IP addresses), ``suffix`` (ICANN public suffix, ``""`` for IPs),
    ``subdomain``, ``is_ip``, ``private_suffix`` (the domain sits on a PSL private
    suffix: a platform where anyone can publish).
    """
    uniq = pc.unique(pc.drop_null(_arrow(pd.Series(hosts, dtype="string"))))
    facts = host_facts(uniq)
    table = pd.DataFrame({k: (v.to_pandas() if isinstance(v, pa.Array) else v) for k, v in facts.items()},
                         columns=list(_FACTS))
    table.index = pd.Index(pd.array(uniq, dtype="string"), name="host")
    return table


def _domains(hosts: pa.Array) -> pa.Array:
    """Registrable domain of each host (null where the host is), once per distinct host."""
    enc = pc.dictionary_encode(hosts)
    return _MEMO.facts(enc.dictionary.cast(_STR))["domain"].take(enc.indices)


def domains_of(hosts: pd.Series) -> pd.Series:
    """Registrable domain of each normalised host, aligned with *hosts*."""
    return _series(_domains(_arrow(hosts)), hosts.index)


def url_match_keys(urls: pd.Series) -> pd.Series:
    """The form in which two URLs a user would call the same compare equal.

    Input: a Series of URLs (any dtype, missing allowed). Output: a ``string`` Series, same
    index: each URL trimmed, without its ``scheme://``, without trailing ``/`` and lower-cased
    (``https://A.com/x/`` and ``http://a.com/x`` give ``a.com/x``). ``toxlink explain --url``
    and ``toxlink compare`` both match links this way, so they agree on what "the same
    link" is.
    """
    text = urls.astype("string").str.strip()
    return text.str.replace(r"^[A-Za-z][A-Za-z0-9+.\-]*://", "", regex=True).str.rstrip("/").str.lower()


def with_hosts(links: pd.DataFrame) -> pd.DataFrame:
    """*links* with ``host`` and ``domain`` columns of its source URLs.

    Returns *links* itself when it has both columns already, else a copy with them added
    (*links* is not changed). Hosts are parsed once per distinct authority, domains once
    per distinct host.
    """
    from toxlink import schema as S

    if S.HOST in links.columns and S.DOMAIN in links.columns:
        return links
    out = links.copy(deep=False)  # copy-on-write: adding columns never touches *links*
    host = hosts_arrow(_arrow(links[S.SOURCE_URL]))
    out[S.HOST] = _series(host, links.index)
    out[S.DOMAIN] = _series(_domains(host), links.index)
    return out


def clear_caches() -> None:
    """Forget the per-host results kept across calls (for benchmarks that time a cold start)."""
    _MEMO.clear()
    _ascii_host.cache_clear()


# --- helpers other modules use on Arrow strings ------------------------------------------

def byte_slices(data: np.ndarray, start: np.ndarray, stop: np.ndarray) -> pa.LargeStringArray:
    """Strings ``data[start[i]:stop[i]]`` of a UTF-8 buffer (byte positions on character
    boundaries). Used by the features that cut host labels and words from a buffer."""
    n = len(start)
    start = np.asarray(start, dtype=np.int64)
    stop = np.asarray(stop, dtype=np.int64)
    if n and (stop >= start).all() and (stop[:-1] <= start[1:]).all() and start[0] >= 0 and stop[-1] <= len(data):
        # Slices in order, one after another: every slice and every gap between two is a
        # string of one array over *data* itself, so taking the slices copies only them.
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


def has_whitespace_run(arr: pa.Array | pa.ChunkedArray) -> bool:
    """Whether ``\\s+ -> " "`` could change any string of *arr*. Kept only for
    :mod:`toxlink.features.profile`, which is to stop using it (issue 14)."""
    return bool(pc.any(pc.match_substring_regex(arr, r"\s\s|[\t\n\x0c\r]")).as_py())
