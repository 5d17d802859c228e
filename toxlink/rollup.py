"""Per-site statistics of scored links: counts, risks, top reasons, toxic URLs, and the
facts a reviewer decides with (authority, traffic, follow split, dates, anchors, targets).

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
    # Facts for the reviewer (min, max and sums: the same whatever the chunks).
    (S.DOMAIN_RATING, (S.DOMAIN_RATING, "max"), "max"),
    (S.DOMAIN_AUTHORITY, (S.DOMAIN_AUTHORITY, "max"), "max"),
    (S.TRUST_FLOW, (S.TRUST_FLOW, "max"), "max"),
    (S.DOMAIN_TRAFFIC, (S.DOMAIN_TRAFFIC, "max"), "max"),
    (S.N_DOFOLLOW, ("dofollow", "sum"), "sum"),
    (S.N_NOFOLLOW, ("nofollow", "sum"), "sum"),
    (S.N_LOST, ("lost", "sum"), "sum"),
    (S.FIRST_SEEN, (S.FIRST_SEEN, "min"), "min"),
    (S.LAST_SEEN, (S.LAST_SEEN, "max"), "max"),
]
#: How many reason sentences a site's ``top_reasons`` holds.
TOP_REASONS = 3
#: How many items the list facts hold: anchors, target pages, languages.
TOP_ANCHORS, TOP_TARGETS, TOP_LANGUAGES = 5, 5, 3
# The per-link text a list fact counts: (partial name, link column).
_TEXT_FACTS = (("anchors", S.ANCHOR), ("targets", S.TARGET_URL), ("languages", S.LANGUAGE))


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
        # Partials: per site; (site, reason sentence, n); (site, disavowable URL); per list
        # fact (site, text, n); (site, risk, url) of each site's riskiest link.
        self._sites: list[pa.Table] = []
        self._reasons: list[pa.Table] = []
        self._urls: list[pa.Table] = []
        self._texts: dict[str, list[pa.Table]] = {name: [] for name, _ in _TEXT_FACTS}
        self._examples: list[pa.Table] = []

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
        links, sentences, urls, texts = self._chunk_tables(scored)
        if links.num_rows:
            self._sites.append(_grouped([links], ["site"], [(c, f, name) for name, (c, f), _ in _SITE_AGGREGATES]))
            self._reasons.append(sentences)
            self._urls.append(urls)
            for name, _ in _TEXT_FACTS:
                self._texts[name].append(_grouped([texts[name]], ["site", "text"], [("n", "sum", "n")]))
            # Reduced at once: a chunk's examples are one URL per site, too many to keep 16 of.
            self._examples = [_riskiest(self._examples + [links.select(["site", "example_risk", "example_url"])])]
            if len(self._sites) >= COMBINE_EVERY:
                self._combine()
        return self

    def merge(self, other: "SiteStatistics") -> "SiteStatistics":
        """Add the statistics of *other* (built on other rows); returns ``self``."""
        self._sites += other._sites
        self._reasons += other._reasons
        self._urls += other._urls
        for name, parts in other._texts.items():
            self._texts[name] += parts
        if other._examples:
            self._examples = [_riskiest(self._examples + other._examples)]
        if len(self._sites) >= COMBINE_EVERY:
            self._combine()
        return self

    def _combine(self) -> None:
        """Group the partials together again (once there are many of them, and at the end):
        what is kept then grows with the sites, not with the updates."""
        self._sites = [_grouped(self._sites, ["site"], [(name, how, name) for name, _, how in _SITE_AGGREGATES])]
        self._reasons = [_grouped(self._reasons, ["site", "sentence"], [("n", "sum", "n")])]
        self._urls = [_grouped(self._urls, ["site", "url"], [])]
        self._combine_facts()

    def _combine_facts(self) -> None:
        self._texts = {name: [_grouped(parts, ["site", "text"], [("n", "sum", "n")])] if parts else []
                       for name, parts in self._texts.items()}

    def finish(self) -> pd.DataFrame:
        """The statistics of every row added so far, one row per referring site.

        Returns
        -------
        DataFrame, shape (n_sites, 28)
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
            - the facts of :data:`toxlink.schema.FACT_COLUMNS` (:meth:`_facts`), missing
              where no link of the site gives them.

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
        stats = pd.DataFrame({
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
        return pd.concat([stats, self._facts(table, names)], axis=1)

    def _facts(self, table: pa.Table, names: pa.Array) -> pd.DataFrame:
        """The facts of :data:`toxlink.schema.FACT_COLUMNS` for the sites *names* (shape
        (n_sites,)), from their grouped per-site *table*, the list facts' partials and the
        riskiest links: a DataFrame of shape (n_sites, 14) on a 0..n-1 index."""
        self._combine_facts()
        out = {}
        for name in (S.DOMAIN_RATING, S.DOMAIN_AUTHORITY, S.TRUST_FLOW, S.DOMAIN_TRAFFIC):
            out[name] = table[name].to_numpy(zero_copy_only=False)
        for name in (S.N_DOFOLLOW, S.N_NOFOLLOW):
            out[name] = table[name].to_numpy().astype(np.int64)
        for name in (S.FIRST_SEEN, S.LAST_SEEN):
            out[name] = pd.Series(table[name].to_pandas(), dtype="datetime64[ns]").to_numpy()
        out[S.N_LOST] = table[S.N_LOST].to_numpy().astype(np.int64)
        for column, name, k in ((S.TOP_ANCHORS, "anchors", TOP_ANCHORS), (S.TARGET_PAGES, "targets", TOP_TARGETS),
                                (S.LANGUAGES, "languages", TOP_LANGUAGES)):
            counts = self._texts[name][0] if self._texts[name] else _no_texts(pa.array([], pa.large_string()))
            if name == "targets":
                distinct = _grouped([counts], ["site"], [("n", "count", "n")]) if counts.num_rows else None
                out[S.N_TARGET_PAGES] = (np.zeros(len(names), np.int64) if distinct is None else pc.fill_null(
                    _aligned(names, as_strings(_decoded(distinct)["site"]), distinct["n"]), 0).to_numpy())
            top = _top_counted(counts, k) if counts.num_rows else None
            out[column] = pd.arrays.ArrowStringArray(
                pc.fill_null(_aligned(names, top["site"], top["top"]), "") if top is not None
                else pa.array([""] * len(names), pa.large_string()))
        example = _decoded(self._examples[0]) if self._examples else None
        out[S.EXAMPLE_URL] = pd.arrays.ArrowStringArray(
            pc.fill_null(_aligned(names, as_strings(example["site"]), as_strings(example["example_url"])), "")
            if example is not None else pa.array([""] * len(names), pa.large_string()))
        return pd.DataFrame({name: out[name] for name in S.FACT_COLUMNS})

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

    def _chunk_tables(self, scored: pd.DataFrame) -> tuple[pa.Table, pa.Table, pa.Table, dict[str, pa.Table]]:
        """What the statistics need of the counted links of *scored*.

        Returns
        -------
        links : pyarrow.Table
            One row per counted link: ``site, risk, toxic, review, disavowable`` (toxic and
            not whitelisted), ``whitelisted, platform`` (the host is the platform itself),
            ``risk_units`` (the risk in units of 2**-84, decimal128), ``risk_nonfinite``,
            and the link's facts (:func:`_link_facts`).
        sentences : pyarrow.Table
            ``site, sentence, n`` (n = 1): one row per reason sentence of a toxic or
            review link.
        urls : pyarrow.Table
            ``site, url``: one row per disavowable link.
        texts : dict of str to pyarrow.Table
            For each list fact (:data:`_TEXT_FACTS`), ``site, text, n`` (n = 1): one row per
            link that gives the text.

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
                          "risk_nonfinite": np.where(finite, 0.0, risk),
                          **_link_facts(scored, rows, risk)})
        said = np.full(len(scored), -1, dtype=np.int64)  # the site of each row whose reasons count
        said[rows[toxic | review]] = site_code[toxic | review]
        urls = pa.table({"site": _encoded(site_code[disavowable], sites),
                         "url": as_strings(scored[S.SOURCE_URL]).take(rows[disavowable])})
        texts = {name: _texts(scored, column, rows, site_code, sites) for name, column in _TEXT_FACTS}
        return links, _sentences(scored, said, sites), urls, texts

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


def _link_facts(scored: pd.DataFrame, rows: np.ndarray, risk: np.ndarray) -> dict[str, pa.Array]:
    """The per-link columns behind a site's facts, for the counted *rows* of *scored*
    (positions, shape (n,)) and their *risk*: authority metrics, traffic, follow flags, lost,
    dates (null where the export lacks them) and ``example_risk`` / ``example_url`` (the risk
    as links.csv rounds it, and the referring URL)."""
    def column(name: str, dtype: str) -> pd.Series:
        if name in scored.columns:
            return scored[name].iloc[rows]
        return pd.Series(pd.NA if dtype == "boolean" else None, index=range(len(rows)), dtype=dtype)

    def number(values: pd.Series) -> pa.Array:
        return pa.array(pd.to_numeric(values, errors="coerce").to_numpy(dtype="float64", na_value=np.nan),
                        from_pandas=True)  # NaN -> null: a site without the metric stays blank

    def flag(name: str) -> np.ndarray:
        return column(name, "boolean").astype("boolean").to_numpy(dtype=bool, na_value=False)

    # Moz's Domain Authority and Ahrefs' Domain Rating share the links table's domain_rating
    # column (toxlink.exports.vendors); named apart here by the vendor of each row.
    moz = column(S.VENDOR, "string").astype("string").eq("moz").to_numpy(dtype=bool, na_value=False)
    rating = pd.to_numeric(column(S.DOMAIN_RATING, "float64"), errors="coerce")
    marked = flag(S.NOFOLLOW) | flag(S.UGC) | flag(S.SPONSORED)
    followed = column(S.NOFOLLOW, "boolean").astype("boolean").eq(False).to_numpy(dtype=bool, na_value=False) & ~marked
    dates = {name: pa.array(pd.to_datetime(column(name, "datetime64[ns]"), errors="coerce").to_numpy(
        dtype="datetime64[ns]"), type=pa.timestamp("ns"), from_pandas=True) for name in (S.FIRST_SEEN, S.LAST_SEEN)}
    return {
        S.DOMAIN_RATING: number(rating.where(~moz)),
        S.DOMAIN_AUTHORITY: number(rating.where(moz)),
        S.TRUST_FLOW: number(column(S.TRUST_FLOW, "float64")),
        S.DOMAIN_TRAFFIC: number(column(S.DOMAIN_TRAFFIC, "float64")),
        "dofollow": followed, "nofollow": marked, "lost": flag(S.LOST), **dates,
        "example_risk": np.round(risk, S.RISK_DECIMALS),
        "example_url": as_strings(scored[S.SOURCE_URL]).take(rows),
    }


def _texts(scored: pd.DataFrame, column: str, rows: np.ndarray, site_code: np.ndarray, sites: pa.Array) -> pa.Table:
    """``site``, ``text`` (both dictionary-encoded), ``n`` (1): the *column* text of each
    counted link (*rows* of *scored*, of the sites *site_code* in *sites*), trimmed, runs of
    white space as one space; links without one (missing or empty) are left out."""
    if column not in scored.columns:
        return _no_texts(sites)
    # Cleaned once per distinct text; kept encoded: a chunk has few distinct anchors and targets.
    raw = pc.dictionary_encode(as_strings(scored[column]).take(rows))
    if not len(raw.dictionary):  # no link gives one
        return _no_texts(sites)
    clean = pc.dictionary_encode(pc.replace_substring_regex(pc.utf8_trim_whitespace(raw.dictionary), r"\s+", " "))
    code = np.asarray(clean.indices, dtype=np.int64)[np.asarray(raw.indices.fill_null(0), dtype=np.int64)]
    given = np.asarray(pc.utf8_length(clean.dictionary), dtype=np.int64) > 0
    keep = np.asarray(raw.indices.is_valid(), dtype=bool) & given[code]
    return pa.table({"site": _encoded(site_code[keep], sites), "text": _encoded(code[keep], clean.dictionary),
                     "n": np.ones(int(keep.sum()), dtype=np.int64)})


def _no_texts(sites: pa.Array) -> pa.Table:
    empty = np.zeros(0, np.int64)
    return pa.table({"site": _encoded(empty, sites), "text": _encoded(empty, pa.array([], pa.large_string())),
                     "n": pa.array([], pa.int64())})


def _riskiest(parts: list[pa.Table]) -> pa.Table:
    """``site`` (dictionary-encoded), ``example_risk, example_url``: of the rows of *parts*,
    each site's riskiest (highest rounded risk, then the first URL in code point order: the
    same row however the links were chunked). Two hash group-bys, no sort of the URLs."""
    table = pa.concat_tables(parts).unify_dictionaries()
    site = table["site"].combine_chunks()
    codes = np.asarray(site.indices, dtype=np.int64)
    keyed = pa.table({"site": codes, "risk": table["example_risk"], "url": table["example_url"]})
    top = keyed.group_by("site", use_threads=False).aggregate([("risk", "max")])
    best = np.full(len(site.dictionary), -np.inf)
    best[top["site"].to_numpy()] = top["risk_max"].to_numpy()
    ties = keyed.filter(np.asarray(keyed["risk"].to_numpy() >= best[codes], dtype=bool))
    first = ties.group_by("site", use_threads=False).aggregate([("url", "min")])
    at = first["site"].to_numpy()
    return pa.table({"site": _encoded(at, site.dictionary), "example_risk": best[at],
                     "example_url": first["url_min"]})


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
    sentence = reasons["sentence"].combine_chunks()
    # What the user's own lists say (toxlink.known) comes first, then the most frequent.
    listed = np.asarray(pc.starts_with(sentence.dictionary, "listed as "), dtype=np.int8)[np.asarray(sentence.indices)]
    site, texts, _ = _ranked(reasons["site"].combine_chunks(), sentence, reasons["n"], TOP_REASONS, listed)
    return pa.table({"site": site, "top_reasons": pc.binary_join(texts, pa.scalar(S.LIST_SEPARATOR, pa.large_string()))})


def _top_counted(counts: pa.Table, k: int) -> pa.Table:
    """``site, top`` (strings): each site's *k* most frequent texts as ``"text (n)"``,
    ``"; "``-joined, most frequent first (ties in code point order), from ``site``,
    ``text`` (dictionary-encoded, one dictionary each), ``n`` counts."""
    site, texts, n = _ranked(counts["site"].combine_chunks(), counts["text"].combine_chunks(), counts["n"], k)
    flat = pc.binary_join_element_wise(pc.list_flatten(texts), pa.scalar(" (", pa.large_string()),
                                       pc.cast(pc.list_flatten(n), pa.large_string()), pa.scalar(")", pa.large_string()),
                                       pa.scalar("", pa.large_string()))
    items = pa.ListArray.from_arrays(texts.offsets, flat)
    return pa.table({"site": site, "top": pc.binary_join(items, pa.scalar(S.LIST_SEPARATOR, pa.large_string()))})


def _ranked(site: pa.DictionaryArray, text: pa.DictionaryArray, n: pa.ChunkedArray, k: int,
            first: np.ndarray | None = None) -> tuple[pa.Array, pa.ListArray, pa.ListArray]:
    """Each site's *k* texts with the highest *n* (shape (m,) each: one row per site and
    text), those whose *first* is 1 before the others, ties in code point order.

    Returns ``(sites, texts, counts)``: the sites that have a text (strings, shape (s,)),
    and for each its texts and their counts (list arrays, shape (s,)).
    """
    alphabetical = np.empty(len(text.dictionary), dtype=np.int64)
    alphabetical[np.asarray(pc.sort_indices(text.dictionary))] = np.arange(len(alphabetical))
    text_code = np.asarray(text.indices)
    ranking = pa.table({"site": site.indices, "first": first if first is not None else np.zeros(len(text_code), np.int8),
                        "n": n, "alphabetical": alphabetical[text_code]})
    order = np.asarray(pc.sort_indices(ranking, sort_keys=[("site", "ascending"), ("first", "descending"),
                                                           ("n", "descending"), ("alphabetical", "ascending")]))
    site_code = np.asarray(site.indices)[order]
    starts = np.flatnonzero(np.diff(site_code, prepend=-1))  # each site's first (top) text
    rank = np.arange(len(order)) - np.repeat(starts, np.diff(np.append(starts, len(order))))
    picked = order[rank < k]
    sites = site_code[rank < k]
    offsets = pa.array(np.append(np.flatnonzero(np.diff(sites, prepend=-1)), len(sites)).astype(np.int32))
    counts = (n.combine_chunks() if isinstance(n, pa.ChunkedArray) else n).cast(pa.int64())
    return (site.dictionary.take(sites[offsets.to_numpy()[:-1]]),
            pa.ListArray.from_arrays(offsets, text.dictionary.take(pa.array(text_code[picked]))),
            pa.ListArray.from_arrays(offsets, counts.take(pa.array(picked))))


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
    frame = pd.DataFrame({
        S.DOMAIN: pd.Series(dtype="string"),
        **{c: pd.Series(dtype="int64") for c in (S.N_LINKS, S.N_TOXIC, S.N_REVIEW, S.N_DISAVOWABLE)},
        **{c: pd.Series(dtype="float64") for c in (S.TOXIC_SHARE, S.MAX_RISK, S.MEAN_RISK)},
        S.TOP_REASONS: pd.Series(dtype="string"),
        **{c: pd.Series(dtype=bool) for c in (S.WHITELISTED, S.WHITELISTED_BELOW, S.PROTECTED, S.FREE_HOST,
                                              S.PLATFORM)},
        **{c: pd.Series(dtype="float64") for c in (S.DOMAIN_RATING, S.DOMAIN_AUTHORITY, S.TRUST_FLOW, S.DOMAIN_TRAFFIC)},
        **{c: pd.Series(dtype="int64") for c in (S.N_DOFOLLOW, S.N_NOFOLLOW, S.N_LOST, S.N_TARGET_PAGES)},
        **{c: pd.Series(dtype="datetime64[ns]") for c in (S.FIRST_SEEN, S.LAST_SEEN)},
        **{c: pd.Series(dtype="string") for c in (S.TOP_ANCHORS, S.EXAMPLE_URL, S.TARGET_PAGES, S.LANGUAGES)},
    })
    return frame[[c for c in frame.columns if c not in S.FACT_COLUMNS] + list(S.FACT_COLUMNS)]
