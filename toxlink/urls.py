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


def split_urls(urls: pd.Series) -> pd.DataFrame:
    """Split URLs into ``scheme, host, port, path, query`` (vectorised, RE2 via pyarrow).

    A URL without a scheme (``example.com/page``) is read as ``http://``; one with a
    non-hierarchical scheme (``mailto:``, ``javascript:``) keeps that scheme and has no
    host. The host is lower-cased with any trailing dot and IPv6 brackets removed, but
    not yet punycoded (see :func:`normalise_hosts`). Absent parts are ``NA``.

    Parameters
    ----------
    urls : Series of str, shape (n,)

    Returns
    -------
    DataFrame of ``string`` columns, shape (n, 5), same index as *urls*.
    """
    arr = pa.array(urls.astype("string"), type=pa.large_string())
    if isinstance(arr, pa.ChunkedArray):  # a concatenated Series is chunked; struct .field() needs one array
        arr = arr.combine_chunks()
    arr = pc.utf8_trim_whitespace(arr)
    has_scheme = pc.match_substring_regex(arr, r"^[A-Za-z][A-Za-z0-9+.\-]*://")
    opaque = pc.and_(pc.invert(has_scheme), pc.match_substring_regex(arr, _OPAQUE_RE))
    with_scheme = pc.if_else(has_scheme, arr, pc.binary_join_element_wise(pa.scalar("http://", pa.large_string()), arr, pa.scalar("", pa.large_string())))
    parts = pc.extract_regex(with_scheme, _URL_RE)
    out = {}
    for name in ("scheme", "host", "port", "path", "query"):
        col = parts.field(name)
        if name in ("scheme", "host"):
            col = pc.utf8_lower(col)
        if name == "host":
            col = pc.utf8_trim(pc.utf8_rtrim(col, "."), "[]")
            col = pc.if_else(opaque, pa.scalar(None, pa.large_string()), col)
        if name == "scheme":
            opaque_scheme = pc.utf8_lower(pc.extract_regex(arr, _OPAQUE_RE).field("scheme"))
            col = pc.if_else(opaque, opaque_scheme, col)
        out[name] = col.to_pandas().set_axis(urls.index).astype("string")
    parts = pd.DataFrame(out, index=urls.index)
    # RE2 returns "" for an optional group that did not take part; the port and query
    # distinguish "absent" from "empty" by whether their delimiter is present.
    return parts


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
    codes, uniques = pd.factorize(hosts, use_na_sentinel=True)
    mapped = np.array([_ascii_host(h) for h in uniques], dtype=object)
    out = np.full(len(hosts), None, dtype=object)
    ok = codes >= 0
    out[ok] = mapped[codes[ok]]
    return pd.Series(out, index=hosts.index, dtype="string")


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


def host_table(hosts: pd.Series | np.ndarray | list) -> pd.DataFrame:
    """Facts about each *unique* normalised host, indexed by host.

    Columns: ``domain`` (registrable domain, eTLD+1 with private suffixes such as
    ``blogspot.com`` counted, so ``name.blogspot.com`` is its own domain; the host
    itself for IP addresses), ``suffix`` (ICANN public suffix, ``""`` for IPs),
    ``subdomain``, ``is_ip``, ``private_suffix`` (the domain sits on a PSL private
    suffix: a platform where anyone can publish).
    """
    uniq = pd.unique(pd.Series(hosts, dtype="string").dropna())
    rows = [_host_parts(h) for h in uniq]
    table = pd.DataFrame(rows, columns=["domain", "suffix", "subdomain", "is_ip", "private_suffix"])
    table.index = pd.Index(uniq, dtype="string", name="host")
    return table


# Only the host of a URL; the same rules as _URL_RE and _OPAQUE_RE (a scheme-less URL is
# read as http, an opaque one such as "mailto:" has no host).
_HOST_ONLY_RE = (r"^\s*(?:[A-Za-z][A-Za-z0-9+.\-]*://)?(?:[^/?#@]*@)?"
                 r"(?P<host>\[[^\]/?#]*\]|[^/?#:]*)")


def hosts_of(urls: pd.Series) -> pd.Series:
    """Normalised host of each URL (``NA`` where there is none); equals
    ``normalise_hosts(split_urls(urls)["host"])`` at a third of the cost."""
    arr = pa.array(urls.astype("string"), type=pa.large_string())
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    arr = pc.utf8_trim_whitespace(arr)
    opaque = pc.and_(pc.invert(pc.match_substring_regex(arr, r"^[A-Za-z][A-Za-z0-9+.\-]*://")),
                     pc.match_substring_regex(arr, _OPAQUE_RE))
    host = pc.utf8_trim(pc.utf8_rtrim(pc.utf8_lower(pc.extract_regex(arr, _HOST_ONLY_RE).field("host")), "."), "[]")
    host = pc.if_else(opaque, pa.scalar(None, pa.large_string()), host)
    return normalise_hosts(host.to_pandas().set_axis(urls.index).astype("string"))


def domains_of(hosts: pd.Series) -> pd.Series:
    """Registrable domain of each normalised host, aligned with *hosts*."""
    table = host_table(hosts)
    return hosts.map(table["domain"]).astype("string")


def with_hosts(links: pd.DataFrame) -> pd.DataFrame:
    """*links* with ``host`` and ``domain`` columns (parsed once per unique host).

    Returns *links* itself when it has both columns already, else a copy with them added.
    """
    from toxlink import schema as S

    if S.HOST in links.columns and S.DOMAIN in links.columns:
        return links
    out = links.copy()
    out[S.HOST] = hosts_of(links[S.SOURCE_URL])
    out[S.DOMAIN] = domains_of(out[S.HOST])
    return out
