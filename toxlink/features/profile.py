"""Profile family: how a link sits in the whole backlink profile (per referring domain,
per IP /24, per page title, per first-seen day).

Two-pass design (streaming)
---------------------------
Profile features need whole-export aggregates, but exports can be larger than memory, so
they are computed in two passes over the chunks:

1. ``acc = ProfileAccumulator(); acc.update(chunk)`` for every chunk keeps *aggregates
   only*: per-domain counts, sums and first-seen min/max; the distinct (domain, anchor),
   (domain, host), (/24 subnet, domain) and (page title, domain) pairs, every key held as
   a 64-bit hash of its string; a per-day first-seen histogram of the export; per-(domain,
   day) counts for the days that can still be "new" (within ``NEW_DAYS`` of the latest
   date seen so far); and that latest date. Partial aggregates are re-reduced every few
   chunks, so memory grows with the number of distinct domains/anchors/titles, not rows.
   ``update`` is ``acc.add(ProfileAccumulator.prepare(chunk))``: ``prepare`` (hashing,
   per-chunk sums and distinct pairs, most of the work) reads no accumulator state, so it
   can run in the thread that reads the next chunk; ``add`` merges into the aggregates.
2. ``stats = acc.finish()`` turns them into a :class:`ProfileStats` (per-domain table,
   per-subnet and per-title domain counts, day histogram, reference date), and
   ``compute(chunk, profile=stats)`` joins them back onto each chunk's rows.

``compute(links)`` with ``profile=None`` runs both passes on ``links`` itself. Rows with
``row_issue`` or ``duplicate_of`` set are left out of the aggregates (they would double-count
or count junk) but still get features. Because every aggregate is order-independent
(sums, distinct sets, min/max), any chunking of the same rows gives the same features.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow.compute as pc

from toxlink import schema as S
from toxlink.hashing import MUL64 as _MUL64
from toxlink.urls import has_whitespace_run
from toxlink.features._base import (Context, FeatureSet, above, arrow_codes, bool_float,
                                    export_reference_date, never, to_arrow)

NEW_DAYS = 30  # a link first seen within this many days of the reference date is "new"

FEATURES = FeatureSet("profile")
FEATURES.add("prf_domain_links", "links from this referring domain in the whole export", never)
FEATURES.add("prf_domain_anchors", "distinct anchor texts used by this referring domain", never)
FEATURES.add("prf_links_per_anchor", "links with an anchor / distinct anchors from this domain (high = one anchor repeated)", above(4, "this domain links {:.0f} times per distinct anchor text (the same anchor repeated)"))
FEATURES.add("prf_commercial_share", "share of this domain's anchors that are exact/partial-match commercial", above(0.5, "{:.0%} of this domain's anchors are commercial keywords"))
FEATURES.add("prf_sitewide_share", "share of this domain's links reported site-wide", above(0.5, "{:.0%} of this domain's links are site-wide"))
FEATURES.add("prf_domain_hosts", "distinct hosts (subdomains) of this registrable domain linking", above(5, "{:.0f} subdomains of one domain link to you"))
FEATURES.add("prf_subnet_domains", "referring domains sharing this host's IPv4 /24 subnet; NaN without an IPv4", above(3, "{:.0f} referring domains share one IP /24 block (possible link network)"))
FEATURES.add("prf_title_domains", "referring domains whose page title is identical to this page's; NaN without a title", above(4, "{:.0f} referring domains use this exact page title (possible link network)"))
FEATURES.add("prf_day_burst", "links first seen on this link's day / the export's average links per day", above(5, "the link arrived in a burst ({:.0f}x the usual daily rate)"))
FEATURES.add("prf_domain_new_share", f"share of this domain's links first seen within {NEW_DAYS} days of the reference date", above(0.8, "{:.0%} of this domain's links are new"))
FEATURES.add("prf_domain_span_days", "days between this domain's earliest and latest first-seen link", never)

_IPV4_24 = r"^\s*(?P<net>\d{1,3}\.\d{1,3}\.\d{1,3})\.\d{1,3}\s*$"
_NO_DAY = np.iinfo(np.int64).min


@dataclass
class ProfileStats:
    """Whole-export aggregates (see the module docstring).

    Attributes
    ----------
    reference_date : Timestamp or NaT — latest first/last-seen date in the export.
    domains : DataFrame indexed by the uint64 hash of the referring domain (see
        :meth:`domain_row`), the per-domain feature values (columns named like the ``prf_``
        features they feed).
    subnet_domains : Series, uint64 hash of the /24 prefix ("a.b.c") -> distinct referring
        domains.
    title_domains : Series, uint64 title hash -> distinct referring domains.
    day_counts : Series, day number (days since 1970-01-01) -> links first seen that day.
    day_baseline : float, average links per day over the export's first-seen span.
    """

    reference_date: object
    domains: pd.DataFrame
    subnet_domains: pd.Series
    title_domains: pd.Series
    day_counts: pd.Series
    day_baseline: float

    def domain_row(self, domain: str) -> pd.Series:
        """The per-domain aggregates of one registrable *domain* (NaN if unseen)."""
        key = _hash(np.array([domain], dtype=object))
        return self.domains.reindex(pd.Index(key, dtype=np.uint64)).iloc[0]


def _days(s: pd.Series | None, n: int) -> np.ndarray:
    if s is None:
        return np.full(n, _NO_DAY, dtype=np.int64)
    v = s.to_numpy(dtype="datetime64[ns]").astype("datetime64[D]").astype(np.int64)
    return v  # NaT -> int64 min == _NO_DAY


def _title_keys(title: pd.Series | None, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(uint64 hash, valid mask) per row of the lower-cased, space-collapsed, trimmed
    title, plus the titles' codes and the hash of each distinct title."""
    if title is None:
        return np.zeros(n, np.uint64), np.zeros(n, bool), np.full(n, -1, dtype=np.int64), np.zeros(0, np.uint64)
    codes, uniq = arrow_codes(title)
    low = pc.utf8_lower(uniq)
    if has_whitespace_run(low):  # the replace costs ~20x the check
        low = pc.replace_substring_regex(low, r"\s+", " ")
    norm = pc.utf8_trim_whitespace(low)
    h = _hash(norm.to_numpy(zero_copy_only=False))
    ok_u = np.asarray(pc.greater(pc.binary_length(norm), 0).to_numpy(zero_copy_only=False), dtype=bool)
    ok = (codes >= 0) & np.append(ok_u, False)[codes]
    return np.append(h, np.uint64(0))[codes], ok, codes, h


def _subnet(ip: pd.Series | None, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(codes per row, unique /24 prefixes "a.b.c"); code -1 without an IPv4."""
    if ip is None:
        return np.full(n, -1, dtype=np.int64), np.array([], dtype=object)
    codes, uniq = pd.factorize(ip, use_na_sentinel=True)
    arr = to_arrow(np.asarray(uniq, dtype=object))
    # extract_regex leaves "" (not null) in the field of a non-matching row: mask explicitly.
    net = pc.if_else(pc.match_substring_regex(arr, _IPV4_24), pc.extract_regex(arr, _IPV4_24).field("net"), None)
    ncodes, nuniq = pd.factorize(net.to_numpy(zero_copy_only=False).astype(object), use_na_sentinel=True)
    return np.append(ncodes, -1)[codes], np.asarray(nuniq, dtype=object)


def _hash(values: np.ndarray) -> np.ndarray:
    """Deterministic uint64 hash of strings (pandas' fixed-key SipHash), stable across runs."""
    values = np.asarray(values, dtype=object)
    return pd.util.hash_array(values, categorize=False) if len(values) else np.zeros(0, np.uint64)


def _row_facts(ctx: Context) -> dict:
    """Per-row inputs of the aggregates (shared by the accumulator and the join).

    Domains, subnets and titles (and, in pass 1, hosts and anchors: :func:`_pass1_facts`)
    are keyed by a 64-bit hash of their string, hashed once per unique value: aggregates
    then group and de-duplicate integers only, and never materialise millions of strings.
    """
    if "profile_facts" in ctx.cache:
        return ctx.cache["profile_facts"]
    n = ctx.n
    th, tok, tcodes, thash_u = _title_keys(ctx.col(S.PAGE_TITLE), n)
    dcodes, dhash_u = _domain_keys(ctx)
    scodes, suniq = _subnet(ctx.col(S.SOURCE_IP), n)
    ctx.cache["profile_facts"] = facts = {
        "dcode": dcodes,
        "dhash_u": dhash_u,
        "day": _days(ctx.col(S.FIRST_SEEN), n),
        "title": th,
        "has_title": tok,
        "title_code": tcodes,
        "thash_u": thash_u,
        "scode": scodes,
        "shash_u": _hash(suniq),
    }
    return facts


def _domain_keys(ctx: Context) -> tuple[np.ndarray, np.ndarray]:
    """(domain code per row, -1 without one; hash of each distinct domain). A ``domain``
    column (what scoring always has) is dictionary-encoded in Arrow: no pandas
    factorisation and no Python string per row, only one per distinct domain to hash."""
    domain = ctx.col(S.DOMAIN)
    if domain is None:
        codes, uniq = ctx.domain_codes
        return codes, _hash(uniq)
    codes, uniq = arrow_codes(domain)
    return codes, _hash(uniq.to_numpy(zero_copy_only=False))


def _pass1_facts(ctx: Context) -> dict:
    """:func:`_row_facts` plus what only the aggregates need (host and anchor codes with
    the hash of each distinct host and anchor, commercial and site-wide flags); the pass-2
    join never pays for them."""
    facts = dict(_row_facts(ctx))
    if "anchor_commercial" not in ctx.cache:  # pass 1: not computed by the anchor family
        from toxlink.features import anchor

        anchor.share_commercial(ctx)
    n = ctx.n
    codes, uniq = ctx.cache["anchor_codes"]
    hcodes, huniq = ctx.host_codes
    facts.update({
        "hcode": hcodes,
        "hhash_u": _hash(huniq.to_numpy(zero_copy_only=False)),
        "acode": codes,
        "ahash_u": _hash(uniq.to_numpy(zero_copy_only=False)),
        "commercial": ctx.cache["anchor_commercial"],
        "sitewide": bool_float(ctx.col(S.SITEWIDE), n),
    })
    return facts


def _missing(s: pd.Series) -> np.ndarray:
    """``s.isna()`` as a bool ndarray; read from the Arrow validity bitmap when there is one."""
    if isinstance(s.array, pd.arrays.ArrowStringArray):
        return np.asarray(s.array._pa_array.is_null().to_numpy(zero_copy_only=False), dtype=bool)
    return s.isna().to_numpy()


def _code_pairs(ca: np.ndarray, cb: np.ndarray, ha: np.ndarray, hb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct (a, b) hash pairs of a chunk from its rows' codes.

    Parameters
    ----------
    ca, cb : int64 ndarray, shape (r,) — codes into *ha* / *hb*; ``ca >= 0``, ``cb`` may be
        -1 (no value: hash 0, like a missing host).
    ha, hb : uint64 ndarray — the hash of each code's value.

    Returns
    -------
    (a, b) : uint64 ndarrays, shape (p,), p <= r. De-duplicated on the small integer codes
    first (one int64 sort), so only the chunk's distinct pairs are hashed and merged.
    """
    m = np.int64(len(hb) + 1)
    # pandas' hash-table unique: O(r), no sort (the pair set sorts the few distinct pairs)
    key = pd.unique(ca.astype(np.int64) * m + (cb.astype(np.int64) + 1))
    hb = np.append(np.uint64(0), hb)
    return ha[key // m], hb[key % m]


def _pair_key(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """One uint64 sort key per (a, b) pair. Only a sort order: equality is always checked
    on (a, b) themselves, so a collision of keys costs a slower path, never a wrong count."""
    with np.errstate(over="ignore"):
        return (a * _MUL64) ^ b


class _PairSet:
    """A set of (a, b) uint64 pairs, optionally with an int64 count summed per pair.

    Held as flat arrays sorted by :func:`_pair_key` (24 bytes per pair, 32 with counts).
    Added pairs wait in a buffer of at most half the set (or 64k pairs); then they are
    sorted together, searched in the set and inserted in one pass: no hash table, and the
    only temporaries are the buffer's sort and the inserted result, so memory stays within
    about twice the set, and each pair is sorted about once.
    """

    _MIN_FLUSH = 1 << 16

    def __init__(self, counts: bool = False):
        self.k = np.zeros(0, np.uint64)
        self.a = np.zeros(0, np.uint64)
        self.b = np.zeros(0, np.uint64)
        self.n = np.zeros(0, np.int64) if counts else None
        self._pending: list[tuple] = []
        self._pending_rows = 0

    def __len__(self):
        self._flush()
        return len(self.k)

    @staticmethod
    def _unique(k, a, b, n):
        """(k, a, b, n) sorted by k (then a, b), one row per distinct (a, b), n summed."""
        o = np.argsort(k)  # equal keys hold equal pairs (checked below): any order will do
        k, a, b = k[o], a[o], b[o]
        n = n[o] if n is not None else None
        same_k = k[1:] == k[:-1]
        same = same_k & (a[1:] == a[:-1]) & (b[1:] == b[:-1])
        if (same_k & ~same).any():  # two pairs share a key: order fully, so equals are adjacent
            o = np.lexsort((b, a, k))
            k, a, b = k[o], a[o], b[o]
            n = n[o] if n is not None else None
            same = (k[1:] == k[:-1]) & (a[1:] == a[:-1]) & (b[1:] == b[:-1])
        if not same.any():
            return k, a, b, n
        start = np.append(True, ~same)
        if n is not None:
            n = np.add.reduceat(n, np.flatnonzero(start)) if len(n) else n
        return k[start], a[start], b[start], n

    def add(self, a: np.ndarray, b: np.ndarray, n: np.ndarray | None = None) -> None:
        """Add pairs (``a[i]``, ``b[i]``) (with counts ``n[i]`` for a counting set)."""
        if not len(a):
            return
        a = np.asarray(a, np.uint64)
        b = np.asarray(b, np.uint64)
        n = np.asarray(n, np.int64) if self.n is not None else None
        self._pending.append((a, b, n))
        self._pending_rows += len(a)
        if self._pending_rows >= max(len(self.k) // 2, self._MIN_FLUSH):
            self._flush()

    def _flush(self) -> None:
        """Merge the buffered pairs into the set."""
        if not self._pending:
            return
        parts, self._pending, self._pending_rows = self._pending, [], 0
        a = np.concatenate([p[0] for p in parts])
        b = np.concatenate([p[1] for p in parts])
        n = np.concatenate([p[2] for p in parts]) if self.n is not None else None
        del parts
        self._insert(*self._unique(_pair_key(a, b), a, b, n))

    def _insert(self, k, a, b, n) -> None:
        """Merge distinct, key-sorted pairs into the set."""
        if not len(self.k):
            self.k, self.a, self.b = k, a, b
            if self.n is not None:
                self.n = n
            return
        pos = np.searchsorted(self.k, k)
        at = np.minimum(pos, len(self.k) - 1)
        same_k = self.k[at] == k
        hit = same_k & (self.a[at] == a) & (self.b[at] == b)
        if (same_k & ~hit).any():
            # A key shared by different pairs (in the set or across set and chunk): the
            # exact path, a full de-duplication of both.
            both = [np.concatenate((x, y)) for x, y in ((self.k, k), (self.a, a), (self.b, b))]
            nn = np.concatenate((self.n, n)) if self.n is not None else None
            self.k, self.a, self.b, nn = self._unique(*both, nn)
            if self.n is not None:
                self.n = nn
            return
        if self.n is not None and hit.any():
            self.n[at[hit]] += n[hit]
        new = ~hit
        if new.any():
            where = pos[new]
            self.k = np.insert(self.k, where, k[new])
            self.a = np.insert(self.a, where, a[new])
            self.b = np.insert(self.b, where, b[new])
            if self.n is not None:
                self.n = np.insert(self.n, where, n[new])

    def merge(self, other: "_PairSet") -> None:
        self._flush()
        if len(other):  # flushes other
            self._insert(other.k, other.a, other.b, other.n)

    def keep(self, mask: np.ndarray) -> None:
        """Drop the pairs where *mask* (over ``self.b`` after a flush) is False."""
        if not mask.all():
            self.k, self.a, self.b = self.k[mask], self.a[mask], self.b[mask]
            if self.n is not None:
                self.n = self.n[mask]

    def per_a(self) -> tuple[np.ndarray, np.ndarray]:
        """(sorted distinct a, distinct pairs per a (or summed counts for a counting set))."""
        self._flush()
        return _group_sizes(self.a, self.n)


def _group_sizes(a: np.ndarray, n: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """(sorted distinct values of *a*, rows per value, or the sum of *n* per value).

    Hash-grouped (one pass), so only the distinct values are sorted, not every row: a
    pair set holds several pairs per referring domain. Integer sums: exact in any order.
    """
    if not len(a):
        return np.zeros(0, np.uint64), np.zeros(0, np.int64)
    codes, uniq = pd.factorize(a)
    if n is None:
        sizes = np.bincount(codes, minlength=len(uniq)).astype(np.int64)
    else:  # int64 counts summed without a float round trip
        sizes = np.zeros(len(uniq), np.int64)
        np.add.at(sizes, codes, n)
    o = np.argsort(uniq)
    return np.asarray(uniq, dtype=a.dtype)[o], sizes[o]


def _day_histogram(day: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(day, return_counts=True)`` (counts int64) without a sort: a chunk's
    first-seen days span a few years at most, so one bincount over the span."""
    if not len(day):
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    lo, hi = int(day.min()), int(day.max())
    if hi - lo > 4 * len(day) + 4096:  # a sparse span (dates decades apart): sort instead
        days, counts = np.unique(day, return_counts=True)
        return days, counts.astype(np.int64)
    counts = np.bincount(day - lo, minlength=hi - lo + 1)
    present = np.flatnonzero(counts)
    return present.astype(np.int64) + lo, counts[present].astype(np.int64)


def _day_number(ts) -> int | None:
    return None if pd.isna(ts) else int(pd.Timestamp(ts).to_datetime64().astype("datetime64[D]").astype(np.int64))


_SUMS = ["links", "anchored", "com_sum", "com_n", "site_sum", "site_n", "dated"]
_MIN_DAY, _MAX_DAY = len(_SUMS), len(_SUMS) + 1  # columns of the per-domain table after the sums


def _lookup_sorted(keys: np.ndarray, table_keys: np.ndarray, values: np.ndarray, missing=np.nan) -> np.ndarray:
    """values[table_keys == key] per key (*missing* where absent); *table_keys* sorted unique."""
    out = np.full(len(keys), missing, dtype=np.float64)
    if not len(table_keys):
        return out
    at = np.minimum(np.searchsorted(table_keys, keys), len(table_keys) - 1)
    hit = table_keys[at] == keys
    out[hit] = values[at[hit]]
    return out


@dataclass
class PreparedChunk:
    """One chunk's contribution to the aggregates (:meth:`ProfileAccumulator.prepare`).

    Attributes
    ----------
    reference_date : Timestamp or NaT — the chunk's latest first/last-seen date.
    domain_keys : uint64 ndarray, shape (k,) — hashes of the chunk's counted domains.
    domain_table : float64 ndarray, shape (k, len(_SUMS) + 2) — their sums, min and max day.
    pairs : dict of set name -> (a, b) uint64 ndarrays — the chunk's distinct pairs.
    days, day_counts : int64 ndarrays — the chunk's first-seen day histogram.
    recent : (domain hash uint64, day int64, links int64) ndarrays — per-(domain, day)
        counts of the days within ``NEW_DAYS`` of the chunk's own reference date, sorted by
        (domain code, day); :meth:`ProfileAccumulator.add` keeps those recent by the
        export's date.
    """

    reference_date: object
    domain_keys: np.ndarray
    domain_table: np.ndarray
    pairs: dict
    days: np.ndarray
    day_counts: np.ndarray
    recent: tuple


def _prepare(ctx: Context) -> PreparedChunk:
    """:meth:`ProfileAccumulator.prepare` on a :class:`Context`."""
    d = export_reference_date(ctx.links)
    facts = _pass1_facts(ctx)
    keep = facts["dcode"] >= 0
    for c in (S.ROW_ISSUE, S.DUPLICATE_OF):
        s = ctx.col(c)
        if s is not None:
            keep &= _missing(s)
    dc = facts["dcode"][keep]
    dhash_u = facts["dhash_u"]
    k = len(dhash_u)
    com, site, day = facts["commercial"][keep], facts["sitewide"][keep], facts["day"][keep]
    acode = facts["acode"][keep]
    ok_a = acode >= 0
    ok_d = day != _NO_DAY

    def bc(w=None):
        return np.bincount(dc, weights=w, minlength=k).astype(np.float64)

    table = np.empty((k, len(_SUMS) + 2))
    for j, col in enumerate((bc(), bc(ok_a.astype(float)), bc(np.nan_to_num(com)), bc((~np.isnan(com)).astype(float)),
                             bc(np.nan_to_num(site)), bc((~np.isnan(site)).astype(float)), bc(ok_d.astype(float)))):
        table[:, j] = col
    table[:, _MIN_DAY] = np.inf
    table[:, _MAX_DAY] = -np.inf
    dd = day[ok_d].astype(np.float64)
    np.minimum.at(table[:, _MIN_DAY], dc[ok_d], dd)
    np.maximum.at(table[:, _MAX_DAY], dc[ok_d], dd)
    present = table[:, 0] > 0

    sc = facts["scode"][keep]
    ok_s = sc >= 0
    ok_t = facts["has_title"][keep]
    pairs = {
        "anchor": _code_pairs(dc[ok_a], acode[ok_a], dhash_u, facts["ahash_u"]),
        "host": _code_pairs(dc, facts["hcode"][keep], dhash_u, facts["hhash_u"]),
        "subnet": _code_pairs(sc[ok_s], dc[ok_s], facts["shash_u"], dhash_u),
        "title": _code_pairs(facts["title_code"][keep][ok_t], dc[ok_t], facts["thash_u"], dhash_u),
    }
    days, day_counts = _day_histogram(day[ok_d])
    # Counting (domain, day) pairs and then dropping the days that are not recent gives the
    # counts of the recent rows: the export's reference date is at least this chunk's.
    ref_day = _day_number(d)
    recent = ok_d if ref_day is None else ok_d & (day >= ref_day - NEW_DAYS)
    rec = (np.zeros(0, np.uint64), np.zeros(0, np.int64), np.zeros(0, np.int64))
    if recent.any():
        m = np.int64(1 << 32)  # (domain code, day) as one int64: days fit in 32 bits
        lo = day[recent].min()
        key, n = np.unique(dc[recent].astype(np.int64) * m + (day[recent] - lo), return_counts=True)
        rec = (dhash_u[key // m], key % m + lo, n)
    return PreparedChunk(d, dhash_u[present], table[present], pairs, days, day_counts, rec)


class ProfileAccumulator:
    """Pass 1 of the profile features: ``update(chunk)`` per chunk, then ``finish()``.

    Only aggregates are kept (see the module docstring); ``update`` accepts chunks in any
    order and any size. Each chunk is merged into the aggregates at once: a per-domain
    table sorted by domain hash, sets of distinct hash pairs (:class:`_PairSet`) and a day
    histogram. Per-(domain, day) counts are kept only for days that can still be "new"
    (within ``NEW_DAYS`` of the latest date seen so far: the reference date only grows),
    so that table stays small.
    """

    def __init__(self):
        self._dom_keys = np.zeros(0, np.uint64)  # sorted distinct domain hashes
        self._dom = np.zeros((0, len(_SUMS) + 2))  # per domain: _SUMS, min day, max day
        self._sets = {k: _PairSet() for k in ("anchor", "host", "subnet", "title")}
        self._recent = _PairSet(counts=True)  # (domain hash, day) -> links
        self._days = np.zeros(0, np.int64)  # sorted day numbers
        self._day_n = np.zeros(0, np.int64)
        self._ref = pd.NaT
        self._updates = 0

    def update(self, links: pd.DataFrame) -> "ProfileAccumulator":
        """Add one chunk of the canonical links table; returns ``self``.

        The same as ``add(prepare(links))``.
        """
        return self._update(Context(links))

    @staticmethod
    def prepare(links: pd.DataFrame) -> "PreparedChunk":
        """The per-chunk part of :meth:`update`: everything that depends on *links* alone
        (hashing, per-domain sums, the chunk's distinct pairs, its day histogram).

        It reads no accumulator state, so it may run in another thread (e.g. the one
        reading the next chunk) while :meth:`add` merges the previous one.
        """
        return _prepare(Context(links))

    def add(self, part: "PreparedChunk") -> "ProfileAccumulator":
        """Merge a chunk from :meth:`prepare` into the aggregates; returns ``self``."""
        d = part.reference_date
        if not pd.isna(d) and (pd.isna(self._ref) or d > self._ref):
            self._ref = d
        self._add_domains(part.domain_keys, part.domain_table)
        for name, pairs in part.pairs.items():
            self._sets[name].add(*pairs)
        self._add_days(part.days, part.day_counts)
        ref_day = _day_number(self._ref)
        dhash, rday, n = part.recent
        if ref_day is not None and len(rday):
            # the chunk kept the days recent by its own date; the export's may be later
            recent = rday >= ref_day - NEW_DAYS
            if recent.any():
                self._recent.add(dhash[recent], rday[recent].astype(np.uint64), n[recent])
        self._drop_old()
        self._updates += 1
        return self

    def _update(self, ctx: Context) -> "ProfileAccumulator":
        return self.add(_prepare(ctx))

    def _add_domains(self, keys: np.ndarray, table: np.ndarray) -> None:
        """Merge per-domain rows (sums, min day, max day) into the per-domain table."""
        if not len(keys):
            return
        o = np.argsort(keys)  # equal keys (if any) need only be adjacent: sums, min, max
        keys, table = keys[o], table[o]
        dup = keys[1:] == keys[:-1]
        if dup.any():  # two domain strings with one hash (or unsorted parts): combine rows
            start = np.flatnonzero(np.append(True, ~dup))
            keys, table = keys[start], self._combine(table, start)
        if not len(self._dom_keys):
            self._dom_keys, self._dom = keys, table
            return
        pos = np.searchsorted(self._dom_keys, keys)
        at = np.minimum(pos, len(self._dom_keys) - 1)
        hit = self._dom_keys[at] == keys
        rows = at[hit]
        old = self._dom[rows]
        old[:, :_MIN_DAY] += table[hit, :_MIN_DAY]
        old[:, _MIN_DAY] = np.minimum(old[:, _MIN_DAY], table[hit, _MIN_DAY])
        old[:, _MAX_DAY] = np.maximum(old[:, _MAX_DAY], table[hit, _MAX_DAY])
        self._dom[rows] = old
        new = ~hit
        if new.any():
            self._dom_keys = np.insert(self._dom_keys, pos[new], keys[new])
            self._dom = np.insert(self._dom, pos[new], table[new], axis=0)

    @staticmethod
    def _combine(table: np.ndarray, start: np.ndarray) -> np.ndarray:
        out = np.add.reduceat(table, start, axis=0)
        out[:, _MIN_DAY] = np.minimum.reduceat(table[:, _MIN_DAY], start)
        out[:, _MAX_DAY] = np.maximum.reduceat(table[:, _MAX_DAY], start)
        return out

    def _add_days(self, days: np.ndarray, counts: np.ndarray) -> None:
        if not len(days):
            return
        all_days = np.concatenate((self._days, days))
        self._days, inv = np.unique(all_days, return_inverse=True)
        self._day_n = np.bincount(inv, weights=np.concatenate((self._day_n, counts)),
                                  minlength=len(self._days)).astype(np.int64)

    def _drop_old(self) -> None:
        """Forget (domain, day) counts of days that can no longer be "new"."""
        ref_day = _day_number(self._ref)
        if ref_day is not None and len(self._recent):  # len() flushes
            self._recent.keep(self._recent.b.astype(np.int64) >= ref_day - NEW_DAYS)

    def merge(self, other: "ProfileAccumulator") -> "ProfileAccumulator":
        """Add another accumulator's aggregates (e.g. one partition's, from a Dask worker).

        Every aggregate is order-independent and the reference date only grows, so merging
        partial accumulators equals updating one accumulator with all their chunks.
        """
        self._add_domains(other._dom_keys, other._dom)
        for key, pairs in other._sets.items():
            self._sets[key].merge(pairs)
        self._recent.merge(other._recent)
        self._add_days(other._days, other._day_n)
        if not pd.isna(other._ref) and (pd.isna(self._ref) or other._ref > self._ref):
            self._ref = other._ref
        self._drop_old()
        self._updates += other._updates
        return self

    def finish(self) -> ProfileStats:
        """Pass-1 result: the whole-export aggregates as a :class:`ProfileStats`."""
        ref = self._ref
        empty = pd.Series(dtype=float)
        if not self._updates:
            return ProfileStats(ref, pd.DataFrame(columns=_DOMAIN_FEATURES, dtype=float), empty, empty, empty, np.nan)
        self._drop_old()
        keys, dom = self._dom_keys, self._dom
        col = dict(zip(_SUMS, dom.T))
        min_day = np.where(np.isfinite(dom[:, _MIN_DAY]), dom[:, _MIN_DAY], np.nan)
        max_day = np.where(np.isfinite(dom[:, _MAX_DAY]), dom[:, _MAX_DAY], np.nan)
        anchors = _lookup_sorted(keys, *self._sets["anchor"].per_a(), missing=0.0)
        hosts = _lookup_sorted(keys, *self._sets["host"].per_a())
        new = _lookup_sorted(keys, *self._recent.per_a(), missing=0.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            per = {
                "prf_domain_links": col["links"],
                "prf_domain_anchors": anchors,
                "prf_links_per_anchor": np.where(anchors > 0, col["anchored"] / anchors, np.nan),
                "prf_commercial_share": np.where(col["com_n"] > 0, col["com_sum"] / col["com_n"], np.nan),
                "prf_sitewide_share": np.where(col["site_n"] > 0, col["site_sum"] / col["site_n"], np.nan),
                "prf_domain_hosts": hosts,
                "prf_domain_new_share": np.where(col["dated"] > 0, new / col["dated"], np.nan),
                "prf_domain_span_days": max_day - min_day,
            }
        index = pd.Index(keys, dtype=np.uint64, name="domain_hash")
        domains = pd.DataFrame({c: np.asarray(per[c], dtype=np.float64) for c in _DOMAIN_FEATURES}, index=index)
        day_counts = pd.Series(self._day_n.astype(np.float64), index=pd.Index(self._days, dtype=np.int64))
        baseline = float(day_counts.sum() / (self._days[-1] - self._days[0] + 1)) if len(self._days) else np.nan

        def per_key(pairs: _PairSet) -> pd.Series:
            a, n = pairs.per_a()
            return pd.Series(n.astype(np.float64), index=pd.Index(a, dtype=np.uint64, name="a"))

        return ProfileStats(ref, domains, per_key(self._sets["subnet"]), per_key(self._sets["title"]), day_counts, baseline)


_DOMAIN_FEATURES = [
    "prf_domain_links",
    "prf_domain_anchors",
    "prf_links_per_anchor",
    "prf_commercial_share",
    "prf_sitewide_share",
    "prf_domain_hosts",
    "prf_domain_new_share",
    "prf_domain_span_days",
]


def _lookup(keys: np.ndarray, table: pd.Series) -> np.ndarray:
    """table[key] per row via the keys' factorisation (NaN for unknown keys)."""
    codes, uniq = pd.factorize(keys, use_na_sentinel=True)
    vals = table.reindex(uniq).to_numpy(dtype=float) if len(uniq) else np.zeros(0)
    return np.append(vals, np.nan)[codes]


def _day_lookup(day: np.ndarray, counts: pd.Series) -> np.ndarray:
    """:func:`_lookup` for day numbers: a binary search in the sorted day histogram."""
    days = counts.index.to_numpy()
    if not len(days) or not counts.index.is_monotonic_increasing or days.dtype.kind not in "iu":
        return _lookup(day, counts)
    lo, hi = int(days[0]), int(days[-1])
    if hi - lo > 4 * len(day) + 4096:  # a sparse span: binary search in the histogram
        at = np.minimum(np.searchsorted(days, day), len(days) - 1)
        return np.where(days[at] == day, counts.to_numpy(dtype=float)[at], np.nan)
    # A dense table over the export's span of days (a few thousand at most), NaN for the
    # days without links and for the slot past the end that every out-of-span day reads.
    dense = np.full(hi - lo + 2, np.nan)
    dense[days - lo] = counts.to_numpy(dtype=float)
    return dense[np.where((day >= lo) & (day <= hi), day - lo, hi - lo + 1)]


def compute(ctx: Context) -> dict[str, np.ndarray]:
    stats = ctx.profile
    if stats is None:
        stats = ProfileAccumulator()._update(ctx).finish()
    facts = _row_facts(ctx)
    n = ctx.n
    out = {}
    # The chunk's domains' rows of the per-domain table (a NaN row for unknown domains and
    # for code -1), then one gather per row.
    at = stats.domains.index.get_indexer(pd.Index(facts["dhash_u"], dtype=np.uint64))
    per = np.full((len(at) + 1, stats.domains.shape[1]), np.nan)
    per[:-1][at >= 0] = stats.domains.to_numpy(dtype=float)[at[at >= 0]]
    per = per[facts["dcode"]]
    for j, name in enumerate(stats.domains.columns):
        out[name] = per[:, j]
    sub = stats.subnet_domains.reindex(pd.Index(facts["shash_u"], dtype=np.uint64)).to_numpy(dtype=float)
    out["prf_subnet_domains"] = np.append(sub, np.nan)[facts["scode"]]
    # Per distinct title, then per row: what _lookup(facts["title"], ...) gives.
    tvals_u = stats.title_domains.reindex(pd.Index(facts["thash_u"], dtype=np.uint64)).to_numpy(dtype=float)
    tvals = np.append(tvals_u, np.nan)[facts["title_code"]]
    tvals[~facts["has_title"]] = np.nan
    out["prf_title_domains"] = tvals
    day = facts["day"]
    burst = _day_lookup(day, stats.day_counts) / stats.day_baseline
    burst[day == _NO_DAY] = np.nan
    out["prf_day_burst"] = burst
    return {f.name: out.get(f.name, np.full(n, np.nan)) for f in FEATURES}
