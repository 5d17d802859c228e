"""Profile family: how a link sits in the whole backlink profile (per referring domain,
per IP /24, per page title, per first-seen day).

Two-pass design (streaming)
---------------------------
Profile features need aggregates over the whole export, so they are computed in two passes:

1. The aggregates group each row's referring domain and host, anchor, site-wide flag and
   dates (canonical columns) and the keys ``profile_keys(chunk)`` derives from the links
   (whether the anchor is commercial, the first-seen day, the IPv4 /24 subnet, the page
   title lower-cased with its spaces collapsed, whether the row counts). ``toxlink score``
   appends the derived keys to its spool of the export (an Arrow file) in pass 1;
   ``ProfileAccumulator`` keeps all the keys in memory (``update(chunk)``, ``merge(other)``).
2. ``profile_stats(keys)`` (or ``acc.finish()``) runs the group-bys in DuckDB: per
   referring domain, links, distinct anchors, distinct hosts, commercial and site-wide
   shares, first-seen span and links first seen within ``NEW_DAYS`` of the export's
   reference date; distinct referring domains per /24 subnet and per page title; links
   per first-seen day. ``compute(chunk, profile=stats)`` joins them back onto each chunk's
   rows.

``compute(links)`` with ``profile=None`` runs both passes on ``links`` itself. Rows with
``row_issue`` or ``duplicate_of`` set are left out of the aggregates (they would double-count
or count junk) but still get features. Every aggregate is a count, sum, minimum or maximum
over rows, so any chunking of the same rows gives the same features.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from toxlink import schema as S
from toxlink.features._base import (Context, FeatureSet, above, arrow_codes, export_reference_date, never,
                                    to_arrow)

NEW_DAYS = 30  # a link first seen within this many days of the reference date is "new"

FEATURES = FeatureSet("profile")
FEATURES.add("prf_domain_links", "links from this referring domain in the whole export", above(100, "this site links to you {:,.0f} times"))
FEATURES.add("prf_domain_anchors", "distinct anchor texts used by this referring domain", never)
FEATURES.add("prf_links_per_anchor", "links with an anchor / distinct anchors from this domain (high = one anchor repeated)", above(4, "this domain links {:,.0f} times per distinct anchor text (the same anchor repeated)"))
FEATURES.add("prf_commercial_share", "share of this domain's anchors that are exact/partial-match commercial", above(0.5, "{:.0%} of this domain's anchors are commercial keywords"))
FEATURES.add("prf_sitewide_share", "share of this domain's links reported site-wide", above(0.5, "{:.0%} of this domain's links are site-wide"))
FEATURES.add("prf_domain_hosts", "distinct hosts (subdomains) of this registrable domain linking", above(5, "{:,.0f} subdomains of one domain link to you"))
FEATURES.add("prf_subnet_domains", "referring domains sharing this host's IPv4 /24 subnet; NaN without an IPv4", above(3, "{:,.0f} referring domains share one IP /24 block (possible link network)"))
FEATURES.add("prf_title_domains", "referring domains whose page title is identical to this page's; NaN without a title", above(4, "{:,.0f} referring domains use this exact page title (possible link network)"))
FEATURES.add("prf_day_burst", "links first seen on this link's day / the export's average links per day", above(5, "the link arrived in a burst ({:,.0f}x the usual daily rate)"))
FEATURES.add("prf_domain_new_share", f"share of this domain's links first seen within {NEW_DAYS} days of the reference date", above(0.8, "{:.0%} of this domain's links are new"))
FEATURES.add("prf_domain_span_days", "days between this domain's earliest and latest first-seen link", never)

_IPV4_24 = r"^\s*(?P<net>\d{1,3}\.\d{1,3}\.\d{1,3})\.\d{1,3}\s*$"

#: Key columns toxlink derives (beside the canonical ones: domain, host, anchor, sitewide,
#: first_seen, last_seen); ``toxlink score`` spools them with the links.
COMMERCIAL, DAY, SUBNET, TITLE, COUNTED = "profile_commercial", "profile_day", "profile_subnet", "profile_title", "profile_counted"
DERIVED_KEYS = {COMMERCIAL: pa.bool_(), DAY: pa.int32(), SUBNET: pa.large_string(), TITLE: pa.large_string(),
                COUNTED: pa.bool_()}
_CANONICAL_KEYS = {S.DOMAIN: pa.large_string(), S.HOST: pa.large_string(), S.ANCHOR: pa.large_string(),
                   S.SITEWIDE: pa.bool_(), S.FIRST_SEEN: pa.timestamp("ns"), S.LAST_SEEN: pa.timestamp("ns")}
#: The schema of :func:`profile_keys`.
KEYS_SCHEMA = pa.schema({**_CANONICAL_KEYS, **DERIVED_KEYS})

_DOMAIN_FEATURES = ["prf_domain_links", "prf_domain_anchors", "prf_links_per_anchor", "prf_commercial_share",
                    "prf_sitewide_share", "prf_domain_hosts", "prf_domain_new_share", "prf_domain_span_days"]


@dataclass
class ProfileStats:
    """Whole-export aggregates (see the module docstring).

    Attributes
    ----------
    reference_date : Timestamp or NaT — latest first/last-seen date in the export.
    domains : DataFrame indexed by referring domain, one column per domain-level ``prf_``
        feature (float64).
    subnet_domains : Series, /24 prefix ("a.b.c") -> distinct referring domains.
    title_domains : Series, normalised page title -> distinct referring domains.
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
        return self.domains.reindex([domain]).iloc[0]


# -- pass 1: the keys of each row ----------------------------------------------------------------

def _day_numbers(first_seen: pd.Series | None, n: int) -> pa.Array:
    """First-seen day of each row (days since 1970-01-01, floored), int32, null when unknown."""
    if first_seen is None:
        return pa.nulls(n, pa.int32())
    days = first_seen.to_numpy(dtype="datetime64[ns]").astype("datetime64[D]")
    return pa.array(days.astype(np.int64).astype(np.int32), mask=np.isnat(days))


def _titles(title: pd.Series | None, n: int) -> tuple[np.ndarray, pa.Array]:
    """(code per row, -1 without a title; the distinct titles lower-cased, every run of
    whitespace one space, trimmed). Computed on the distinct titles."""
    if title is None:
        return np.full(n, -1, dtype=np.int64), pa.array([], pa.large_string())
    codes, uniq = arrow_codes(title)
    low = pc.replace_substring_regex(pc.utf8_lower(uniq), r"\s+", " ")
    norm = pc.utf8_trim_whitespace(low)
    empty = np.asarray(pc.equal(pc.binary_length(norm), 0).to_numpy(zero_copy_only=False), dtype=bool)
    return np.where(np.append(empty, True)[codes], -1, codes), norm


def _subnets(ip: pd.Series | None, n: int) -> tuple[np.ndarray, pa.Array]:
    """(code per row, -1 without an IPv4; the distinct /24 prefixes "a.b.c")."""
    if ip is None:
        return np.full(n, -1, dtype=np.int64), pa.array([], pa.large_string())
    codes, uniq = arrow_codes(ip)
    # extract_regex leaves "" (not null) in the field of a non-matching row: mask explicitly.
    net = pc.if_else(pc.match_substring_regex(uniq, _IPV4_24), pc.extract_regex(uniq, _IPV4_24).field("net"), None)
    ncodes, nuniq = arrow_codes(net)
    return np.append(ncodes, -1)[codes], nuniq


def _row_keys(ctx: Context) -> dict:
    """The keys the per-chunk join needs (shared by :func:`profile_keys` and :func:`compute`)."""
    if "profile_keys" not in ctx.cache:
        dcodes, duniq = arrow_codes(ctx.domain)
        ctx.cache["profile_keys"] = {
            "domain": (dcodes, duniq),
            "subnet": _subnets(ctx.col(S.SOURCE_IP), ctx.n),
            "title": _titles(ctx.col(S.PAGE_TITLE), ctx.n),
            "day": _day_numbers(ctx.col(S.FIRST_SEEN), ctx.n),
        }
    return ctx.cache["profile_keys"]


def _take(codes: np.ndarray, uniq: pa.Array) -> pa.Array:
    return uniq.take(pa.array(codes, mask=codes < 0))


def _derived_keys(ctx: Context) -> pa.Table:
    """:func:`profile_keys` on a :class:`Context`."""
    if "anchor_commercial" not in ctx.cache:  # pass 1: not computed by the anchor family
        from toxlink.features import anchor

        anchor.share_commercial(ctx)
    keys = _row_keys(ctx)
    counted = np.asarray(pc.is_valid(to_arrow(ctx.domain)).to_numpy(zero_copy_only=False), dtype=bool)
    for c in (S.ROW_ISSUE, S.DUPLICATE_OF):
        if ctx.col(c) is not None:
            counted &= ctx.col(c).isna().to_numpy()
    commercial = ctx.cache["anchor_commercial"]
    columns = {
        COMMERCIAL: pa.array(commercial == 1, mask=np.isnan(commercial)),
        DAY: keys["day"],
        SUBNET: _take(*keys["subnet"]),
        TITLE: _take(*keys["title"]),
        COUNTED: pa.array(counted),
    }
    return pa.table(columns, schema=pa.schema(DERIVED_KEYS))


def _keys(ctx: Context) -> pa.Table:
    """Every key of the aggregates (:data:`KEYS_SCHEMA`) of the rows of *ctx*."""
    n = ctx.n

    def canonical(name: str, type_: pa.DataType) -> pa.Array:
        if name in (S.DOMAIN, S.HOST):  # derived from the source URLs when the links lack them
            return to_arrow(ctx.domain if name == S.DOMAIN else ctx.host)
        s = ctx.col(name)
        return pa.nulls(n, type_) if s is None else pa.array(s, type=type_, from_pandas=True)

    derived = _derived_keys(ctx)
    columns = {name: canonical(name, t) for name, t in _CANONICAL_KEYS.items()}
    return pa.table({**columns, **dict(zip(derived.column_names, derived.columns))}, schema=KEYS_SCHEMA)


def profile_keys(links: pd.DataFrame) -> pa.Table:
    """The keys of the profile aggregates that toxlink derives, one row per link.

    The aggregates group these beside the links' own ``domain``, ``host``, ``anchor``,
    ``sitewide``, ``first_seen`` and ``last_seen`` (:data:`KEYS_SCHEMA` is all of them).

    Parameters
    ----------
    links : DataFrame, shape (n, k)
        Canonical links with ``host`` and ``domain`` (any subset of the other columns).

    Returns
    -------
    pyarrow.Table, shape (n, 5)
        :data:`DERIVED_KEYS`: ``profile_commercial`` (the anchor has a commercial word;
        null without an anchor), ``profile_day`` (first-seen day number),
        ``profile_subnet`` (IPv4 /24), ``profile_title`` (normalised page title, null when
        empty) and ``profile_counted`` (the row has a domain and neither a ``row_issue``
        nor a ``duplicate_of``).
    """
    return _derived_keys(Context(links))


# -- the aggregates ------------------------------------------------------------------------------

def _day_number(ts) -> int | None:
    return None if pd.isna(ts) else int(pd.Timestamp(ts).to_datetime64().astype("datetime64[D]").astype(np.int64))


def _frame(con, sql: str, params: list | None = None) -> pd.DataFrame:
    return con.sql(sql, params=params).to_arrow_table().to_pandas()


def profile_stats(keys) -> ProfileStats:
    """The whole-export aggregates, as DuckDB group-bys over the keys of every row.

    Parameters
    ----------
    keys : pyarrow.Table or pyarrow.dataset.Dataset
        Rows with the columns of :data:`KEYS_SCHEMA` (and any others, e.g. the spool of
        ``toxlink score``: the canonical links with their :func:`profile_keys`).

    Returns
    -------
    ProfileStats
    """
    con = duckdb.connect()
    try:
        con.register("src", keys)
        return _stats(con)
    finally:
        con.close()


def _stats(con) -> ProfileStats:
    latest = con.sql(f"SELECT max({S.FIRST_SEEN}), max({S.LAST_SEEN}) FROM src").to_arrow_table()
    dates = [d for d in (latest.column(i).to_pandas().iloc[0] for i in range(2)) if not pd.isna(d)]
    ref = max(dates) if dates else pd.NaT
    ref_day = _day_number(ref)
    dom = _frame(con, f"""
        SELECT {S.DOMAIN} AS domain, count(*) AS links, count({S.ANCHOR}) AS anchored,
               count(DISTINCT {S.ANCHOR}) AS anchors,
               count(DISTINCT {S.HOST}) + max(({S.HOST} IS NULL)::INT) AS hosts,
               count_if({COMMERCIAL}) AS com_sum, count({COMMERCIAL}) AS com_n,
               count_if({S.SITEWIDE}) AS site_sum, count({S.SITEWIDE}) AS site_n,
               count({DAY}) AS dated, min({DAY}) AS min_day, max({DAY}) AS max_day,
               count_if({DAY} >= ?) AS recent
        FROM src WHERE {COUNTED} GROUP BY {S.DOMAIN}""", [None if ref_day is None else ref_day - NEW_DAYS])
    per_key = {}
    for key in (SUBNET, TITLE):
        table = _frame(con, f"SELECT {key} AS key, count(DISTINCT {S.DOMAIN}) AS n FROM src "
                            f"WHERE {COUNTED} AND {key} IS NOT NULL GROUP BY {key}")
        per_key[key] = pd.Series(table["n"].to_numpy(np.float64), index=pd.Index(table["key"], dtype=object))
    days = _frame(con, f"SELECT {DAY} AS day, count(*) AS n FROM src WHERE {COUNTED} AND {DAY} IS NOT NULL "
                       f"GROUP BY {DAY} ORDER BY {DAY}")
    day_counts = pd.Series(days["n"].to_numpy(np.float64), index=pd.Index(days["day"].to_numpy(np.int64)))
    span = int(day_counts.index[-1] - day_counts.index[0] + 1) if len(day_counts) else 0
    baseline = float(day_counts.sum() / span) if span else np.nan
    return ProfileStats(ref, _domain_table(dom), per_key[SUBNET], per_key[TITLE], day_counts, baseline)


def _domain_table(dom: pd.DataFrame) -> pd.DataFrame:
    """The per-domain ``prf_`` values from the per-domain counts (float64 arithmetic)."""
    col = {c: dom[c].to_numpy(np.float64, na_value=np.nan) for c in dom.columns if c != "domain"}
    anchors = col["anchors"]
    with np.errstate(invalid="ignore", divide="ignore"):
        per = {
            "prf_domain_links": col["links"],
            "prf_domain_anchors": anchors,
            "prf_links_per_anchor": np.where(anchors > 0, col["anchored"] / anchors, np.nan),
            "prf_commercial_share": np.where(col["com_n"] > 0, col["com_sum"] / col["com_n"], np.nan),
            "prf_sitewide_share": np.where(col["site_n"] > 0, col["site_sum"] / col["site_n"], np.nan),
            "prf_domain_hosts": col["hosts"],
            "prf_domain_new_share": np.where(col["dated"] > 0, col["recent"] / col["dated"], np.nan),
            "prf_domain_span_days": col["max_day"] - col["min_day"],
        }
    return pd.DataFrame(per, index=pd.Index(dom["domain"], dtype=object, name=S.DOMAIN))[_DOMAIN_FEATURES]


class ProfileAccumulator:
    """The profile aggregates of chunks: ``update(chunk)`` per chunk, then ``finish()``.

    Keeps the :func:`profile_keys` of every row it is given (in Arrow, a few dozen bytes a
    row); ``finish`` runs :func:`profile_stats` over them. Chunks may come in any order and
    size, and accumulators of different parts merge (``merge``) into the same result.
    ``toxlink score`` spools the keys to disk with the links instead.
    """

    def __init__(self):
        self._keys: list[pa.Table] = []

    def update(self, links: pd.DataFrame) -> "ProfileAccumulator":
        """Add one chunk of the canonical links table; returns ``self``."""
        self._keys.append(_keys(Context(links)))
        return self

    def merge(self, other: "ProfileAccumulator") -> "ProfileAccumulator":
        """Add another accumulator's rows; returns ``self``."""
        self._keys.extend(other._keys)
        return self

    def finish(self) -> ProfileStats:
        """The whole-export aggregates as a :class:`ProfileStats`."""
        return profile_stats(pa.concat_tables(self._keys) if self._keys else KEYS_SCHEMA.empty_table())


# -- pass 2: the join --------------------------------------------------------------------------

def _lookup(table: pd.Series | pd.DataFrame, codes: np.ndarray, uniq) -> np.ndarray:
    """``table.loc[key]`` of each row's key (given as codes into *uniq*), NaN for code -1 or
    an unknown key; shape (n,) for a Series, (n, k) for a DataFrame. Looked up once per
    distinct key."""
    at = table.index.get_indexer(uniq)
    values = table.to_numpy(np.float64)
    per_key = np.full((len(at) + 1,) + values.shape[1:], np.nan)  # the last row for code -1
    per_key[:-1][at >= 0] = values[at[at >= 0]]
    return per_key[codes]


def compute(ctx: Context) -> dict[str, np.ndarray]:
    stats = ctx.profile if ctx.profile is not None else profile_stats(_keys(ctx))
    keys = _row_keys(ctx)
    dcodes, duniq = keys["domain"]
    per = _lookup(stats.domains, dcodes, duniq.to_numpy(zero_copy_only=False))
    out = {name: per[:, j] for j, name in enumerate(stats.domains.columns)}
    for name, key, table in (("prf_subnet_domains", "subnet", stats.subnet_domains),
                             ("prf_title_domains", "title", stats.title_domains)):
        codes, uniq = keys[key]
        out[name] = _lookup(table, codes, uniq.to_numpy(zero_copy_only=False))
    day = keys["day"]
    codes, uniq = pd.factorize(np.asarray(pc.fill_null(day, 0), dtype=np.int64))
    codes[~np.asarray(day.is_valid(), dtype=bool)] = -1
    out["prf_day_burst"] = _lookup(stats.day_counts, codes, uniq) / stats.day_baseline
    return {f.name: out.get(f.name, np.full(ctx.n, np.nan)) for f in FEATURES}


__all__ = ["FEATURES", "NEW_DAYS", "KEYS_SCHEMA", "DERIVED_KEYS", "ProfileStats", "ProfileAccumulator",
           "profile_keys", "profile_stats", "compute", "export_reference_date"]
