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
from toxlink.features._base import Context, FeatureSet, above, arrow_codes, bool_float, export_reference_date, never, to_arrow

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

_REDUCE_EVERY = 8
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
    norm = pc.utf8_trim_whitespace(pc.replace_substring_regex(pc.utf8_lower(uniq), r"\s+", " "))
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
    dcodes, duniq = ctx.domain_codes
    scodes, suniq = _subnet(ctx.col(S.SOURCE_IP), n)
    ctx.cache["profile_facts"] = facts = {
        "dcode": dcodes,
        "dhash_u": _hash(duniq),
        "day": _days(ctx.col(S.FIRST_SEEN), n),
        "title": th,
        "has_title": tok,
        "title_code": tcodes,
        "thash_u": thash_u,
        "scode": scodes,
        "shash_u": _hash(suniq),
    }
    return facts


def _pass1_facts(ctx: Context) -> dict:
    """:func:`_row_facts` plus what only the aggregates need (host and anchor keys,
    commercial and site-wide flags); the pass-2 join never pays for them."""
    facts = dict(_row_facts(ctx))
    if "anchor_commercial" not in ctx.cache:  # pass 1: not computed by the anchor family
        from toxlink.features import anchor

        anchor.share_commercial(ctx)
    n = ctx.n
    codes, uniq = ctx.cache["anchor_codes"]
    hcodes, huniq = ctx.host_codes
    zero = np.uint64(0)
    facts.update({
        "host": np.append(_hash(huniq.to_numpy(zero_copy_only=False)), zero)[hcodes],
        "anchor": np.append(_hash(uniq.to_numpy(zero_copy_only=False)), zero)[codes],
        "has_anchor": codes >= 0,
        "commercial": ctx.cache["anchor_commercial"],
        "sitewide": bool_float(ctx.col(S.SITEWIDE), n),
    })
    return facts


def _pairs(a: np.ndarray, b: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame({"a": a, "b": b}).drop_duplicates()


def _day_number(ts) -> int | None:
    return None if pd.isna(ts) else int(pd.Timestamp(ts).to_datetime64().astype("datetime64[D]").astype(np.int64))


_SUMS = ["links", "anchored", "com_sum", "com_n", "site_sum", "site_n", "dated"]


class ProfileAccumulator:
    """Pass 1 of the profile features: ``update(chunk)`` per chunk, then ``finish()``.

    Only aggregates are kept (see the module docstring); ``update`` accepts chunks in any
    order and any size. Per-(domain, day) counts are kept only for days that can still be
    "new" (within ``NEW_DAYS`` of the latest date seen so far: the reference date only
    grows), so that table stays small.
    """

    def __init__(self):
        self._parts: dict[str, list[pd.DataFrame]] = {k: [] for k in ("dom", "anchor", "host", "subnet", "title", "day", "recent")}
        self._ref = pd.NaT
        self._updates = 0

    def update(self, links: pd.DataFrame) -> "ProfileAccumulator":
        """Add one chunk of the canonical links table; returns ``self``."""
        return self._update(Context(links))

    def _update(self, ctx: Context) -> "ProfileAccumulator":
        d = export_reference_date(ctx.links)
        if not pd.isna(d) and (pd.isna(self._ref) or d > self._ref):
            self._ref = d
        facts = _pass1_facts(ctx)
        keep = facts["dcode"] >= 0
        for c in (S.ROW_ISSUE, S.DUPLICATE_OF):
            s = ctx.col(c)
            if s is not None:
                keep &= s.isna().to_numpy()
        dc = facts["dcode"][keep]
        dhash_u = facts["dhash_u"]
        dh = dhash_u[dc]
        k = len(dhash_u)
        com, site, day = facts["commercial"][keep], facts["sitewide"][keep], facts["day"][keep]
        ok_a = facts["has_anchor"][keep]
        ok_d = day != _NO_DAY

        def bc(w=None):
            return np.bincount(dc, weights=w, minlength=k)

        sums = {
            "links": bc(),
            "anchored": bc(ok_a.astype(float)),
            "com_sum": bc(np.nan_to_num(com)),
            "com_n": bc((~np.isnan(com)).astype(float)),
            "site_sum": bc(np.nan_to_num(site)),
            "site_n": bc((~np.isnan(site)).astype(float)),
            "dated": bc(ok_d.astype(float)),
        }
        dom = pd.DataFrame(sums, index=pd.Index(dhash_u, dtype=np.uint64))
        span = pd.DataFrame({"d": dc[ok_d], "day": day[ok_d]}).groupby("d")["day"].agg(["min", "max"])
        dom["min_day"] = np.nan
        dom["max_day"] = np.nan
        dom.iloc[span.index.to_numpy(), dom.columns.get_loc("min_day")] = span["min"].to_numpy(dtype=float)
        dom.iloc[span.index.to_numpy(), dom.columns.get_loc("max_day")] = span["max"].to_numpy(dtype=float)
        self._parts["dom"].append(dom[sums["links"] > 0])
        self._parts["anchor"].append(_pairs(dh[ok_a], facts["anchor"][keep][ok_a]))
        self._parts["host"].append(_pairs(dh, facts["host"][keep]))
        sc = facts["scode"][keep]
        ok_s = sc >= 0
        self._parts["subnet"].append(_pairs(facts["shash_u"][sc[ok_s]], dh[ok_s]))
        ok_t = facts["has_title"][keep]
        self._parts["title"].append(_pairs(facts["title"][keep][ok_t], dh[ok_t]))
        days, counts = np.unique(day[ok_d], return_counts=True)
        self._parts["day"].append(pd.Series(counts, index=days, dtype=np.int64))
        recent = pd.DataFrame({"a": dh[ok_d], "day": day[ok_d]})
        ref_day = _day_number(self._ref)
        if ref_day is not None:
            recent = recent[recent["day"] >= ref_day - NEW_DAYS]
        self._parts["recent"].append(recent.value_counts(sort=False).rename("n").reset_index())
        self._updates += 1
        if self._updates % _REDUCE_EVERY == 0:
            self._reduce()
        return self

    def merge(self, other: "ProfileAccumulator") -> "ProfileAccumulator":
        """Add another accumulator's aggregates (e.g. one partition's, from a Dask worker).

        Every aggregate is order-independent and the reference date only grows, so merging
        partial accumulators equals updating one accumulator with all their chunks.
        """
        for key, parts in other._parts.items():
            self._parts[key].extend(parts)
        if not pd.isna(other._ref) and (pd.isna(self._ref) or other._ref > self._ref):
            self._ref = other._ref
        self._updates += other._updates
        self._reduce()
        return self

    def _reduce(self) -> None:
        p = self._parts
        if len(p["dom"]) > 1:
            agg = {**dict.fromkeys(_SUMS, "sum"), "min_day": "min", "max_day": "max"}
            p["dom"] = [pd.concat(p["dom"]).groupby(level=0, sort=False).agg(agg)]
            p["day"] = [pd.concat(p["day"]).groupby(level=0).sum()]
            for key in ("anchor", "host", "subnet", "title"):
                p[key] = [pd.concat(p[key], ignore_index=True).drop_duplicates()]
        if p["recent"]:
            recent = pd.concat(p["recent"], ignore_index=True)
            ref_day = _day_number(self._ref)
            if ref_day is not None:
                recent = recent[recent["day"] >= ref_day - NEW_DAYS]
            p["recent"] = [recent.groupby(["a", "day"], as_index=False, sort=False)["n"].sum()]

    def finish(self) -> ProfileStats:
        """Pass-1 result: the whole-export aggregates as a :class:`ProfileStats`."""
        self._reduce()
        p = self._parts
        ref = self._ref
        empty = pd.Series(dtype=float)
        if not p["dom"]:
            return ProfileStats(ref, pd.DataFrame(columns=_DOMAIN_FEATURES, dtype=float), empty, empty, empty, np.nan)
        dom = p["dom"][0].sort_index()
        per = pd.DataFrame(index=dom.index)
        per.index.name = "domain_hash"
        per["prf_domain_links"] = dom["links"]
        anchors = p["anchor"][0].groupby("a").size().reindex(per.index).fillna(0).to_numpy(dtype=float)
        per["prf_domain_anchors"] = anchors
        with np.errstate(invalid="ignore", divide="ignore"):
            per["prf_links_per_anchor"] = np.where(anchors > 0, dom["anchored"] / anchors, np.nan)
            per["prf_commercial_share"] = np.where(dom["com_n"] > 0, dom["com_sum"] / dom["com_n"], np.nan)
            per["prf_sitewide_share"] = np.where(dom["site_n"] > 0, dom["site_sum"] / dom["site_n"], np.nan)
        per["prf_domain_hosts"] = p["host"][0].groupby("a").size().reindex(per.index).to_numpy(dtype=float)
        recent = p["recent"][0]
        new = recent.groupby("a")["n"].sum().reindex(per.index).fillna(0).to_numpy(dtype=float)
        with np.errstate(invalid="ignore", divide="ignore"):
            per["prf_domain_new_share"] = np.where(dom["dated"] > 0, new / dom["dated"], np.nan)
        per["prf_domain_span_days"] = dom["max_day"] - dom["min_day"]
        day_counts = p["day"][0].sort_index().astype(float)
        baseline = float(day_counts.sum() / (day_counts.index.max() - day_counts.index.min() + 1)) if len(day_counts) else np.nan
        subnets = p["subnet"][0].groupby("a").size().astype(float)
        titles = p["title"][0].groupby("a").size().astype(float)
        return ProfileStats(ref, per[_DOMAIN_FEATURES].astype(float), subnets, titles, day_counts, baseline)


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
    at = np.minimum(np.searchsorted(days, day), len(days) - 1)
    return np.where(days[at] == day, counts.to_numpy(dtype=float)[at], np.nan)


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
