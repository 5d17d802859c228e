"""Per-site statistics of scored links: counts, risks, top reasons, toxic URLs.

:class:`SiteStatistics` rolls a scored links table up to one row per referring site
(:func:`toxlink.sites.site_of`), chunk by chunk, with ``pyarrow.Table.group_by``: each
``update`` keeps the chunk's links grouped by site, and its reason sentences and
disavowable URLs as they are (grouping them per chunk would hardly make them fewer); all
of them are grouped together again every :data:`COMBINE_EVERY` updates and at ``finish``.
Memory grows with the sites, their reason sentences and their toxic URLs (and the last
few chunks' sentences and URLs), not with the links; the partials are plain Arrow tables,
so an accumulator pickles (Dask workers return it). Sites and sentences are kept
dictionary-encoded and grouped on their integer codes.

(DuckDB did these group-bys first: with one query per chunk beside the scoring threads,
the memory it kept made ``toxlink score`` of 1M links peak ~350 MiB higher.)

What the statistics do not decide is what to do with a site: that is
:func:`toxlink.policy.decide_actions`.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from toxlink import schema as S
from toxlink.disavow.lines import normalise_urls
from toxlink.sites import as_strings, gov_edu_hosts, is_covered, site_of
from toxlink.urls import domains_of, hosts_of

#: Partial aggregates are grouped together again every this many updates.
COMBINE_EVERY = 16

# Risks are summed exactly, as 128-bit integer multiples of 2**-84 (decimal128; exact for any
# risk >= 2**-32, smaller ones are truncated far below a calibrated probability's resolution):
# the mean risk is then the same, to the last bit, however the links were chunked, merged or
# ordered. Non-finite risks are summed apart, so that they poison the mean as a float sum would.
_RISK_SCALE = 2**84

# Per site: (name, aggregation of a chunk's links, aggregation of partial aggregates).
_SITE_AGGREGATES = [
    ("n_links", ("risk", "count"), "sum"),
    ("n_toxic", ("toxic", "sum"), "sum"),
    ("n_review", ("review", "sum"), "sum"),
    ("n_disavowable", ("disavowable", "sum"), "sum"),
    ("max_risk", ("risk", "max"), "max"),
    ("risk_units", ("risk_units", "sum"), "sum"),
    ("risk_nonfinite", ("risk_nonfinite", "sum"), "sum"),
    ("platform", ("platform", "any"), "any"),
    ("has_whitelisted_link", ("whitelisted", "any"), "any"),
]
#: How many reason sentences a site's ``top_reasons`` holds.
TOP_REASONS = 3


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
        # Partials: per site; (site, reason sentence, n); (site, disavowable URL).
        self._sites: list[pa.Table] = []
        self._reasons: list[pa.Table] = []
        self._urls: list[pa.Table] = []

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
            self._sites.append(_grouped([links], ["site"], [(c, f, name) for name, (c, f), _ in _SITE_AGGREGATES]))
            self._reasons.append(sentences)
            self._urls.append(urls)
            if len(self._sites) >= COMBINE_EVERY:
                self._combine()
        return self

    def merge(self, other: "SiteStatistics") -> "SiteStatistics":
        """Add the statistics of *other* (built on other rows); returns ``self``."""
        self._sites += other._sites
        self._reasons += other._reasons
        self._urls += other._urls
        if len(self._sites) >= COMBINE_EVERY:
            self._combine()
        return self

    def _combine(self) -> None:
        """Group the partials together again (once there are many of them, and at the end):
        what is kept then grows with the sites, not with the updates."""
        self._sites = [_grouped(self._sites, ["site"], [(name, how, name) for name, _, how in _SITE_AGGREGATES])]
        self._reasons = [_grouped(self._reasons, ["site", "sentence"], [("n", "sum", "n")])]
        self._urls = [_grouped(self._urls, ["site", "url"], [])]

    def finish(self) -> pd.DataFrame:
        """The statistics of every row added so far, one row per referring site.

        Returns
        -------
        DataFrame, shape (n_sites, 14)
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
            - ``platform``: some link came from the platform itself (``wordpress.com``).

            The URL entries of its disavowable links are :meth:`url_entries`.
        """
        if not self._sites:
            return _empty_statistics()
        self._sites = [_grouped(self._sites, ["site"], [(name, how, name) for name, _, how in _SITE_AGGREGATES])]
        table = _decoded(self._sites[0])
        table = table.take(pc.sort_indices(table["site"]))
        names = as_strings(table["site"])
        self._reasons = [_grouped(self._reasons, ["site", "sentence"], [("n", "sum", "n")])]
        top = _top_reasons(self._reasons[0])

        n = table["n_links"].to_numpy()
        total = np.array([int(units) / _RISK_SCALE for units in table["risk_units"].to_pylist()], dtype=np.float64)
        total += table["risk_nonfinite"].to_numpy()
        whitelist, n_sites = self.policy.whitelist, len(names)
        if len(whitelist):
            whitelisted = whitelist.covers_host(names)
            below = whitelist.has_entries_under(names) | table["has_whitelisted_link"].to_numpy()
        else:
            whitelisted = below = np.zeros(n_sites, dtype=bool)
        n_toxic = table["n_toxic"].to_numpy().astype(np.int64)
        return pd.DataFrame({
            S.DOMAIN: pd.arrays.ArrowStringArray(names),
            S.N_LINKS: n.astype(np.int64),
            S.N_TOXIC: n_toxic,
            S.N_REVIEW: table["n_review"].to_numpy().astype(np.int64),
            S.N_DISAVOWABLE: table["n_disavowable"].to_numpy().astype(np.int64),
            S.TOXIC_SHARE: n_toxic / n,
            S.MAX_RISK: table["max_risk"].to_numpy(),
            S.MEAN_RISK: total / n,
            S.TOP_REASONS: pd.arrays.ArrowStringArray(pc.fill_null(_aligned(names, top["site"], top["top_reasons"]), "")),
            S.WHITELISTED: whitelisted,
            S.WHITELISTED_BELOW: below,
            S.PROTECTED: gov_edu_hosts(names) if self.policy.protect_gov_edu else np.zeros(n_sites, dtype=bool),
            S.FREE_HOST: is_covered(names, self._platforms),
            S.PLATFORM: table["platform"].to_numpy(),
        })

    def url_entries(self, sites) -> list[list[str]]:
        """The URL entries of each of *sites* (sequence of str, shape (n,)): its disavowable
        links' distinct URLs (toxic, not whitelisted) as disavow entries (normalised: two
        spellings of one URL are one entry), in code point order; URLs that cannot be
        written as an entry are left out.

        Normalised here, for these sites only: most disavowable links are on sites
        disavowed whole, which need no URL entries.
        """
        sites = as_strings(sites)
        out: list[list[str]] = [[] for _ in range(len(sites))]
        if not self._urls or not len(sites):
            return out
        urls = _decoded(pa.concat_tables(self._urls).unify_dictionaries())
        urls = urls.filter(pc.is_in(urls["site"], value_set=sites))
        entries = normalise_urls(pd.Series(pd.arrays.ArrowStringArray(as_strings(urls["url"])), dtype="string"))
        urls = urls.set_column(1, "url", as_strings(entries)).filter(entries.notna().to_numpy())
        urls = _grouped([urls], ["site", "url"], [])  # distinct
        urls = urls.append_column("at", pc.index_in(urls["site"], value_set=sites))
        for i, url in zip(*(urls.sort_by([("at", "ascending"), ("url", "ascending")])[c].to_pylist()
                            for c in ("at", "url"))):
            out[i].append(url)
        return out

    def _chunk_tables(self, scored: pd.DataFrame) -> tuple[pa.Table, pa.Table, pa.Table]:
        """What the statistics need of the counted links of *scored*.

        Returns
        -------
        links : pyarrow.Table
            One row per counted link: ``site, risk, toxic, review, disavowable`` (toxic and
            not whitelisted), ``whitelisted, platform`` (the host is the platform itself),
            ``risk_units`` (the risk in units of 2**-84, decimal128) and ``risk_nonfinite``.
        sentences : pyarrow.Table
            ``site, sentence, n`` (n = 1): one row per reason sentence of a toxic or
            review link.
        urls : pyarrow.Table
            ``site, url``: one row per disavowable link.

        ``site`` and ``sentence`` are dictionary-encoded.
        """
        host = scored[S.HOST] if S.HOST in scored.columns else hosts_of(scored[S.SOURCE_URL])
        rows, risk, toxic, review = self._verdicts(scored, host)
        site_code, sites, platform, hosts = self._sites_of(scored, host, rows)
        whitelist = self.policy.whitelist
        whitelisted = (whitelist.covers_links(scored[S.SOURCE_URL].iloc[rows], hosts) if len(whitelist)
                       else np.zeros(len(rows), dtype=bool))
        disavowable = toxic & ~whitelisted
        finite = np.isfinite(risk)
        links = pa.table({"site": _encoded(site_code, sites), "risk": risk, "toxic": toxic, "review": review,
                          "disavowable": disavowable, "whitelisted": whitelisted, "platform": platform,
                          "risk_units": pc.cast(np.where(finite, np.floor(risk * float(_RISK_SCALE)), 0.0),
                                                pa.decimal128(38, 0)),
                          "risk_nonfinite": np.where(finite, 0.0, risk)})
        said = np.full(len(scored), -1, dtype=np.int64)  # the site of each row whose reasons count
        said[rows[toxic | review]] = site_code[toxic | review]
        urls = pa.table({"site": _encoded(site_code[disavowable], sites),
                         "url": as_strings(scored[S.SOURCE_URL]).take(rows[disavowable])})
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
    """``site, sentence`` (dictionary-encoded), ``n`` (1): one row per reason sentence (``"; "``-separated,
    stripped, empty ones left out) of the rows of *scored* whose *said* (shape (n,)) is a
    position in *sites*, not -1."""
    if S.REASONS not in scored.columns:
        return pa.table({"site": _encoded(np.zeros(0, np.int64), sites),
                         "sentence": _encoded(np.zeros(0, np.int64), pa.array([], pa.large_string())),
                         "n": pa.array([], pa.int64())})
    parts = pc.split_pattern(as_strings(scored[S.REASONS]), "; ")
    site = said[np.asarray(pc.list_parent_indices(parts))]
    sentence = pc.dictionary_encode(pc.list_flatten(parts))
    text = pc.dictionary_encode(pc.utf8_trim_whitespace(sentence.dictionary))  # the chunk's few distinct ones
    code = np.asarray(text.indices, dtype=np.int64)[np.asarray(sentence.indices)]
    keep = (site >= 0) & np.asarray(pc.not_equal(text.dictionary, ""), dtype=bool)[code]
    return pa.table({"site": _encoded(site[keep], sites), "sentence": _encoded(code[keep], text.dictionary),
                     "n": np.ones(int(keep.sum()), dtype=np.int64)})



def _encoded(codes: np.ndarray, dictionary: pa.Array) -> pa.DictionaryArray:
    return pa.DictionaryArray.from_arrays(pa.array(codes, type=pa.int32()), dictionary)


def _grouped(parts: list[pa.Table], keys: list[str], aggregations: list[tuple[str, str, str]]) -> pa.Table:
    """The concatenated *parts* grouped by *keys*, with each ``(column, function, name)`` of
    *aggregations* (``pyarrow.TableGroupBy.aggregate`` functions; none: the distinct keys).

    Keys are grouped on integer codes, which Arrow groups far faster than text: a
    dictionary-encoded key under one dictionary (the parts' dictionaries unified first), a
    text key once encoded here; each comes back as it was given.
    """
    table = pa.concat_tables(parts)
    text = [key for key in keys if pa.types.is_large_string(table.schema.field(key).type)]
    for key in text:
        table = table.set_column(table.schema.get_field_index(key), key, pc.dictionary_encode(table[key]))
    table = table.unify_dictionaries()
    dictionaries = {}
    for key in keys:
        if pa.types.is_dictionary(table.schema.field(key).type):
            column = table[key]
            dictionaries[key] = column.chunk(0).dictionary if column.num_chunks else pa.array([], pa.large_string())
            table = table.set_column(table.schema.get_field_index(key), key,
                                     pa.chunked_array([c.indices for c in column.chunks], pa.int32()))
    out = table.group_by(keys, use_threads=False).aggregate([(c, f) for c, f, _ in aggregations])
    out = out.rename_columns(keys + [name for *_, name in aggregations])
    for key, dictionary in dictionaries.items():
        codes = out[key].to_numpy()
        out = out.set_column(out.schema.get_field_index(key), key,
                             dictionary.take(codes) if key in text else _encoded(codes, dictionary))
    return out


def _top_reasons(reasons: pa.Table) -> pa.Table:
    """``site, top_reasons`` (strings): each site's :data:`TOP_REASONS` most frequent
    sentences, after any that a list of the user's names it in, ties in alphabetical (code
    point) order, ``"; "``-joined, from the
    ``site, sentence`` (dictionary-encoded), ``n`` counts."""
    site, sentence = (reasons[c].combine_chunks() for c in ("site", "sentence"))
    alphabetical = np.empty(len(sentence.dictionary), dtype=np.int64)
    alphabetical[np.asarray(pc.sort_indices(sentence.dictionary))] = np.arange(len(alphabetical))
    # What the user's own lists say (toxlink.known) comes first, then the most frequent.
    listed = np.asarray(pc.starts_with(sentence.dictionary, "listed as "), dtype=np.int8)
    ranking = pa.table({"site": site.indices, "listed": listed[np.asarray(sentence.indices)], "n": reasons["n"],
                        "alphabetical": alphabetical[np.asarray(sentence.indices)]})
    order = np.asarray(pc.sort_indices(ranking, sort_keys=[("site", "ascending"), ("listed", "descending"),
                                                           ("n", "descending"), ("alphabetical", "ascending")]))
    site_code = np.asarray(site.indices)[order]
    starts = np.flatnonzero(np.diff(site_code, prepend=-1))  # each site's first (most frequent) sentence
    rank = np.arange(len(order)) - np.repeat(starts, np.diff(np.append(starts, len(order))))
    picked = order[rank < TOP_REASONS]
    sites = site_code[rank < TOP_REASONS]
    offsets = np.append(np.flatnonzero(np.diff(sites, prepend=-1)), len(sites)).astype(np.int32)
    texts = pa.ListArray.from_arrays(offsets, sentence.dictionary.take(sentence.indices.take(picked)))
    return pa.table({"site": site.dictionary.take(sites[offsets[:-1]]),
                     "top_reasons": pc.binary_join(texts, pa.scalar("; ", pa.large_string()))})


def _aligned(keys: pa.Array, at: pa.Array, values: pa.Array) -> pa.Array:
    """*values* (given for the keys *at*) for each of *keys*, null where a key has none."""
    return values.take(pc.index_in(keys, value_set=at))


def _decoded(table: pa.Table) -> pa.Table:
    """*table* with its dictionary-encoded columns as plain strings."""
    for i, field in enumerate(table.schema):
        if pa.types.is_dictionary(field.type):
            table = table.set_column(i, field.name, table.column(i).cast(field.type.value_type))
    return table


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
    })
