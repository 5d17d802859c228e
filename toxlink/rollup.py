"""Per-site statistics of scored links: counts, risks, top reasons, toxic URLs.

:class:`SiteStatistics` rolls a scored links table up to one row per referring site
(:func:`toxlink.sites.site_of`), chunk by chunk: each ``update`` groups the chunk's counted
links by site in DuckDB and keeps only those per-site partial aggregates (Arrow tables),
which are grouped again every few updates and once more at ``finish``. Memory grows with
the sites, their reason sentences and their toxic URLs, not with the links; the partials
are plain Arrow tables, so an accumulator pickles (Dask workers return it).

What the statistics do not decide is what to do with a site: that is
:func:`toxlink.policy.decide_actions`.
"""

from __future__ import annotations

import tempfile
from typing import Mapping

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from toxlink import schema as S
from toxlink.disavow.lines import normalise_urls
from toxlink.sites import as_strings, gov_edu_hosts, is_covered, site_of
from toxlink.urls import domains_of, hosts_of

#: Per-chunk partial aggregates are grouped together again every this many updates.
COMBINE_EVERY = 8

# Risks are summed exactly, as 128-bit integer multiples of 2**-84 (exact for any risk
# >= 2**-32; smaller ones are truncated far below a calibrated probability's resolution):
# the mean risk is then the same, to the last bit, however the links were chunked, merged
# or ordered. Non-finite risks are summed apart, so that they poison the mean as a float
# sum would.
_RISK_SCALE = 2**84

_SITE_PARTIAL = """
select site,
       count(*) as n_links,
       count(*) filter (where toxic) as n_toxic,
       count(*) filter (where review) as n_review,
       count(*) filter (where disavowable) as n_disavowable,
       max(risk) as max_risk,
       sum(if(isfinite(risk), floor(risk * pow(2, 84))::hugeint, 0)) as risk_units,
       sum(if(isfinite(risk), 0, risk)) as risk_nonfinite,
       bool_or(platform) as platform,
       bool_or(whitelisted) as has_whitelisted_link
from links group by site
"""
_SITE_COMBINE = """
select site,
       sum(n_links)::bigint as n_links,
       sum(n_toxic)::bigint as n_toxic,
       sum(n_review)::bigint as n_review,
       sum(n_disavowable)::bigint as n_disavowable,
       max(max_risk) as max_risk,
       sum(risk_units) as risk_units,
       sum(risk_nonfinite) as risk_nonfinite,
       bool_or(platform) as platform,
       bool_or(has_whitelisted_link) as has_whitelisted_link
from {parts} group by site
"""
_REASON_PARTIAL = "select site, sentence, count(*) as n from sentences group by site, sentence"
_REASON_COMBINE = "select site, sentence, sum(n)::bigint as n from {parts} group by site, sentence"
_URL_PARTIAL = "select distinct site, url from urls"
_URL_COMBINE = "select distinct site, url from {parts}"
# The 3 most frequent reason sentences of each site, ties in alphabetical order: on codes
# that number the sentences alphabetically, the largest of ``n * n_sentences - code``.
_TOP_REASONS = "select site, max_by(sentence, n * {n_sentences} - sentence, 3) as top from reasons group by site"
_URL_COUNTS = "select site, count(*) as n_url_entries from {parts} group by site"
_URL_ENTRIES = "select site, list(url order by url) as url_entries from urls where site in (select * from wanted) group by site"


class SiteStatistics:
    """Per-site statistics of a scored links table, one chunk at a time.

    ``stats = SiteStatistics(policy); stats.update(chunk)`` for every chunk (any sizes),
    ``stats.merge(other)`` for the statistics of other rows, then ``stats.finish()``.
    The result does not depend on how the rows were chunked, merged or ordered.

    Parameters
    ----------
    policy : toxlink.policy.Policy
        Which links are toxic or for review (:meth:`~toxlink.policy.Policy.link_verdicts`),
        the whitelist, the free hosting platforms and whether gov/edu sites are protected.
    model_thresholds : mapping, optional
        ``{"toxic": t, "review": r}`` from the model metadata, for a threshold the policy
        leaves as ``None``.
    """

    def __init__(self, policy, *, model_thresholds: Mapping[str, float] | None = None):
        self.policy = policy
        self.model_thresholds = dict(model_thresholds) if model_thresholds else None
        self._platforms = policy.platforms()
        # Partial aggregates: per site; per (site, reason sentence); distinct (site, toxic URL).
        self._sites: list[pa.Table] = []
        self._reasons: list[pa.Table] = []
        self._urls: list[pa.Table] = []
        self._con: duckdb.DuckDBPyConnection | None = None  # opened when first needed, never pickled

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_con": None}

    def _duckdb(self) -> duckdb.DuckDBPyConnection:
        """This accumulator's in-memory DuckDB database (opening one per query costs more
        than a small chunk's group-by); it spills to the system's temporary folder, not the
        current one, if an aggregation outgrows memory. One thread: the roll-up runs beside
        the scoring threads."""
        if self._con is None:
            self._con = duckdb.connect(config={"temp_directory": tempfile.gettempdir(), "threads": 1})
        return self._con

    def update(self, scored: pd.DataFrame) -> "SiteStatistics":
        """Add a chunk of a scored links table; returns ``self``.

        Parameters
        ----------
        scored : DataFrame, shape (n, >=8)
            Columns ``source_url, host, domain, risk, band, reasons, duplicate_of,
            row_issue`` (``host``/``domain`` are derived from the URL when absent).
            Duplicates (``duplicate_of`` set) and rejected rows (band ``rejected`` or
            missing, a ``row_issue``, no risk or no host) are not counted.
        """
        links, sentences, urls = self._chunk_tables(scored)
        if links.num_rows:
            con = self._duckdb()
            self._sites.append(_group(con, _SITE_PARTIAL, links=links))
            self._reasons.append(_group(con, _REASON_PARTIAL, sentences=sentences))
            self._urls.append(_group(con, _URL_PARTIAL, urls=urls))
            self._combine_if_many()
        return self

    def merge(self, other: "SiteStatistics") -> "SiteStatistics":
        """Add the statistics of *other* (built on other rows); returns ``self``."""
        self._sites += other._sites
        self._reasons += other._reasons
        self._urls += other._urls
        self._combine_if_many()
        return self

    def _combine_if_many(self) -> None:
        """Group the partials together again once there are many of them: what is kept
        then grows with the sites, not with the updates."""
        if len(self._sites) >= COMBINE_EVERY:
            con = self._duckdb()
            self._sites = [_group(con, _SITE_COMBINE, parts=self._sites)]
            self._reasons = [_group(con, _REASON_COMBINE, parts=self._reasons)]
            self._urls = [_group(con, _URL_COMBINE, parts=self._urls)]

    def finish(self) -> pd.DataFrame:
        """The statistics of every row added so far, one row per referring site.

        Returns
        -------
        DataFrame, shape (n_sites, 15)
            Sorted by site; columns:

            - ``domain``: the referring site;
            - ``n_links``, ``n_toxic``, ``n_review``: counted links, toxic ones (at or
              above ``Policy.min_risk``) and those for review;
            - ``n_disavowable``: toxic links whose URL the whitelist does not cover;
            - ``toxic_share`` (``n_toxic / n_links``), ``max_risk``, ``mean_risk``;
            - ``top_reasons``: the 3 most frequent reason sentences among its toxic and
              review links, ``"; "``-joined (ties alphabetical);
            - ``whitelisted``: the whitelist covers the site;
            - ``whitelisted_below``: a whitelisted domain, URL or link is at or below it;
            - ``protected``: a gov/edu site, when ``Policy.protect_gov_edu``;
            - ``free_host``: the site is on a free hosting platform;
            - ``platform``: some link came from the platform itself (``wordpress.com``);
            - ``n_url_entries``: how many of its toxic links' distinct URLs can be
              written as disavow entries (the whitelisted ones left out; see
              :meth:`url_entries`).
        """
        if not self._sites:
            return _empty_statistics()
        con = self._duckdb()
        table = _decoded(_group(con, _SITE_COMBINE, parts=self._sites))
        table = table.take(pc.sort_indices(table["site"]))
        names = as_strings(table["site"])
        top = _top_reasons(con, _group(con, _REASON_COMBINE, parts=self._reasons))
        url_counts = _decoded(_group(con, _URL_COUNTS, parts=[_group(con, _URL_COMBINE, parts=self._urls)]))
        top_reasons = pc.fill_null(_aligned(names, top["site"], top["top_reasons"]), "")
        n_url_entries = pc.fill_null(_aligned(names, url_counts["site"], url_counts["n_url_entries"]), 0)

        n = table["n_links"].to_numpy()
        total = np.array([int(units) / _RISK_SCALE for units in table["risk_units"].to_pylist()], dtype=np.float64)
        total += table["risk_nonfinite"].to_numpy()
        whitelist, n_sites = self.policy.whitelist, len(names)
        if len(whitelist):
            whitelisted = whitelist.covers_host(names)
            below = whitelist.has_entries_under(names) | table["has_whitelisted_link"].to_numpy()
        else:
            whitelisted = below = np.zeros(n_sites, dtype=bool)
        protected = gov_edu_hosts(names) if self.policy.protect_gov_edu else np.zeros(n_sites, dtype=bool)
        return pd.DataFrame({
            S.DOMAIN: pd.arrays.ArrowStringArray(names),
            S.N_LINKS: n,
            S.N_TOXIC: table["n_toxic"].to_numpy(),
            S.N_REVIEW: table["n_review"].to_numpy(),
            S.N_DISAVOWABLE: table["n_disavowable"].to_numpy(),
            S.TOXIC_SHARE: table["n_toxic"].to_numpy() / n,
            S.MAX_RISK: table["max_risk"].to_numpy(),
            S.MEAN_RISK: total / n,
            S.TOP_REASONS: pd.arrays.ArrowStringArray(as_strings(top_reasons)),
            S.WHITELISTED: whitelisted,
            S.WHITELISTED_BELOW: below,
            S.PROTECTED: protected,
            S.FREE_HOST: is_covered(names, self._platforms),
            S.PLATFORM: table["platform"].to_numpy(),
            S.N_URL_ENTRIES: n_url_entries.to_numpy(),
        })

    def url_entries(self, sites) -> list[list[str]]:
        """The URL entries of each of *sites* (sequence of str, shape (n,)): its toxic links'
        distinct URLs that the whitelist does not cover, as disavow entries (normalised),
        in code point order."""
        sites = as_strings(sites)
        if not self._urls or not len(sites):
            return [[] for _ in range(len(sites))]
        con = self._duckdb()
        entries = _sql(con, _URL_ENTRIES, urls=_decoded(_group(con, _URL_COMBINE, parts=self._urls)),
                       wanted=pa.table({"site": sites}))
        return [e or [] for e in _aligned(sites, entries["site"], entries["url_entries"]).to_pylist()]

    def _chunk_tables(self, scored: pd.DataFrame) -> tuple[pa.Table, pa.Table, pa.Table]:
        """What the statistics need of the counted links of *scored*.

        Returns
        -------
        links : pyarrow.Table
            One row per counted link: ``site, risk, toxic, review, disavowable`` (toxic and
            not whitelisted), ``whitelisted, platform`` (the host is the platform itself).
        sentences : pyarrow.Table
            ``site, sentence``: one row per reason sentence of a toxic or review link.
        urls : pyarrow.Table
            ``site, url``: one row per disavowable link whose URL can be written as a
            disavow entry (normalised).

        ``site`` and ``sentence`` are dictionary-encoded.
        """
        host = scored[S.HOST] if S.HOST in scored.columns else hosts_of(scored[S.SOURCE_URL])
        rows, risk, toxic, review = self._verdicts(scored, host)
        site_code, sites, platform, hosts = self._sites_of(scored, host, rows)
        whitelist = self.policy.whitelist
        whitelisted = (whitelist.covers_links(scored[S.SOURCE_URL].iloc[rows], hosts) if len(whitelist)
                       else np.zeros(len(rows), dtype=bool))
        disavowable = toxic & ~whitelisted
        links = pa.table({"site": _encoded(site_code, sites), "risk": risk, "toxic": toxic, "review": review,
                          "disavowable": disavowable, "whitelisted": whitelisted, "platform": platform})
        said = np.full(len(scored), -1, dtype=np.int64)  # the site of each row whose reasons count
        said[rows[toxic | review]] = site_code[toxic | review]
        entries = normalise_urls(scored[S.SOURCE_URL].iloc[rows[disavowable]].astype("string"))
        written = entries.notna().to_numpy()
        urls = pa.table({"site": _encoded(site_code[disavowable][written], sites),
                         "url": as_strings(entries).filter(written)})
        return links, _sentences(scored, said, sites), urls

    def _verdicts(self, scored: pd.DataFrame, host: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The counted rows of *scored* (positions; *host* is its hosts), their risks and
        whether they are toxic or for review (:meth:`toxlink.policy.Policy.link_verdicts`),
        ndarrays of shape (n,)."""
        risk = pd.to_numeric(scored[S.RISK], errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
        band = scored[S.BAND].astype("string")
        counted = (scored[S.DUPLICATE_OF].isna().to_numpy() & scored[S.ROW_ISSUE].isna().to_numpy()
                   & band.notna().to_numpy() & band.ne("rejected").to_numpy(dtype=bool, na_value=False)
                   & ~np.isnan(risk) & host.notna().to_numpy())
        rows = np.flatnonzero(counted)
        toxic, review = self.policy.link_verdicts(risk[rows], band.iloc[rows].to_numpy(dtype=object, na_value=None),
                                                  self.model_thresholds)
        return rows, risk[rows], toxic, review

    def _sites_of(self, scored: pd.DataFrame, host: pd.Series, rows: np.ndarray
                  ) -> tuple[np.ndarray, pa.Array, np.ndarray, pa.Array]:
        """The referring site of the *rows* of *scored*: ``(codes, sites, platform, hosts)``,
        each row's site as a position in *sites* (distinct), whether its host is a platform
        itself, and its host.

        A host's site depends on the host alone: it is found once per distinct host, from
        the domain of its first row (toxlink's scored tables give a host one domain).
        """
        domain = scored[S.DOMAIN] if S.DOMAIN in scored.columns else domains_of(host)
        hosts = as_strings(host).take(rows)
        distinct = pc.dictionary_encode(hosts)
        host_code = np.asarray(distinct.indices)
        _, first = np.unique(host_code, return_index=True)
        host_site, host_platform = site_of(distinct.dictionary, _domain_strings(domain).take(rows[first]),
                                           self._platforms)
        sites = pc.dictionary_encode(host_site)
        return np.asarray(sites.indices)[host_code], sites.dictionary, host_platform[host_code], hosts


def _sentences(scored: pd.DataFrame, said: np.ndarray, sites: pa.Array) -> pa.Table:
    """``site, sentence`` (dictionary-encoded): one row per reason sentence (``"; "``-separated,
    stripped, empty ones left out) of the rows of *scored* whose *said* (shape (n,)) is a
    position in *sites*, not -1."""
    if S.REASONS not in scored.columns:
        return pa.table({"site": _encoded(np.zeros(0, np.int64), sites),
                         "sentence": _encoded(np.zeros(0, np.int64), pa.array([], pa.large_string()))})
    parts = pc.split_pattern(as_strings(scored[S.REASONS]), "; ")
    site = said[np.asarray(pc.list_parent_indices(parts))]
    sentence = pc.dictionary_encode(pc.list_flatten(parts))
    text = pc.dictionary_encode(pc.utf8_trim_whitespace(sentence.dictionary))  # the chunk's few distinct ones
    code = np.asarray(text.indices, dtype=np.int64)[np.asarray(sentence.indices)]
    keep = (site >= 0) & np.asarray(pc.not_equal(text.dictionary, ""), dtype=bool)[code]
    return pa.table({"site": _encoded(site[keep], sites), "sentence": _encoded(code[keep], text.dictionary)})


def _encoded(codes: np.ndarray, dictionary: pa.Array) -> pa.DictionaryArray:
    return pa.DictionaryArray.from_arrays(pa.array(codes, type=pa.int32()), dictionary)


def _group(con: duckdb.DuckDBPyConnection, query: str, **tables: list[pa.Table] | pa.Table) -> pa.Table:
    """*query* over the tables (a list: concatenated), in DuckDB, the query's ``{parts}``
    naming the table.

    Dictionary-encoded columns (sites, reason sentences) go to DuckDB as their integer
    codes, which it groups far faster than the strings, under one dictionary per column
    (Arrow unifies the chunks' dictionaries); the result's columns of the same names are
    encoded with it again.
    """
    (name, table), = tables.items()
    table = pa.concat_tables(table) if isinstance(table, list) else table
    table = table.unify_dictionaries()
    dictionaries = {}
    for i, field in enumerate(table.schema):
        if pa.types.is_dictionary(field.type):
            column = table.column(i)
            dictionaries[field.name] = column.chunk(0).dictionary
            table = table.set_column(i, field.name, pa.chunked_array([c.indices for c in column.chunks],
                                                                     field.type.index_type))
    out = _sql(con, query.format(parts=name), **{name: table})
    for column, dictionary in dictionaries.items():
        i = out.schema.get_field_index(column)
        out = out.set_column(i, column, _encoded(out.column(i).to_numpy(), dictionary))
    return out


def _top_reasons(con: duckdb.DuckDBPyConnection, reasons: pa.Table) -> pa.Table:
    """``site, top_reasons`` (strings) of the ``site, sentence, n`` counts (site and sentence
    dictionary-encoded)."""
    site, sentence = (reasons[c].combine_chunks() for c in ("site", "sentence"))
    order = np.asarray(pc.sort_indices(sentence.dictionary))  # code point order
    alphabetical = np.empty(len(order), dtype=np.int64)
    alphabetical[order] = np.arange(len(order))
    codes = pa.table({"site": site.indices, "sentence": alphabetical[np.asarray(sentence.indices)],
                      "n": reasons["n"]})
    top = _sql(con, _TOP_REASONS.format(n_sentences=len(order)), reasons=codes)
    picked = top["top"].combine_chunks()  # each site's sentences, as alphabetical codes
    texts = pa.ListArray.from_arrays(picked.offsets, sentence.dictionary.take(order).take(picked.values))
    return pa.table({"site": site.dictionary.take(top["site"]), "top_reasons": pc.binary_join(texts, pa.scalar("; ", pa.large_string()))})


def _aligned(keys: pa.Array, at: pa.Array, values: pa.Array) -> pa.Array:
    """*values* (given for the keys *at*) for each of *keys*, null where a key has none."""
    return values.take(pc.index_in(keys, value_set=at))


def _decoded(table: pa.Table) -> pa.Table:
    """*table* with its dictionary-encoded columns as plain strings."""
    for i, field in enumerate(table.schema):
        if pa.types.is_dictionary(field.type):
            table = table.set_column(i, field.name, table.column(i).cast(field.type.value_type))
    return table


def _sql(con: duckdb.DuckDBPyConnection, query: str, **tables: pa.Table) -> pa.Table:
    """The result of *query* over the named Arrow tables."""
    for name, table in tables.items():
        con.register(name, table)
    try:
        return con.sql(query).to_arrow_table()
    finally:
        for name in tables:
            con.unregister(name)


def _domain_strings(domain: pd.Series) -> pa.Array:
    """*domain* as strings, null where a value is not a string (it then falls back to the host)."""
    if isinstance(domain.dtype, pd.StringDtype):
        return as_strings(domain)
    values = domain.to_numpy(dtype=object)
    return pa.array([v if isinstance(v, str) else None for v in values.tolist()], type=pa.large_string())


def _empty_statistics() -> pd.DataFrame:
    return pd.DataFrame({
        S.DOMAIN: pd.Series(dtype="string"),
        **{c: pd.Series(dtype="int64") for c in (S.N_LINKS, S.N_TOXIC, S.N_REVIEW, S.N_DISAVOWABLE)},
        **{c: pd.Series(dtype="float64") for c in (S.TOXIC_SHARE, S.MAX_RISK, S.MEAN_RISK)},
        S.TOP_REASONS: pd.Series(dtype="string"),
        **{c: pd.Series(dtype=bool) for c in (S.WHITELISTED, S.WHITELISTED_BELOW, S.PROTECTED, S.FREE_HOST,
                                              S.PLATFORM)},
        S.N_URL_ENTRIES: pd.Series(dtype="int64"),
    })
