"""The HTML audit report: one self-contained file an SEO can send to a client.

>>> html = build_report(scored, domains, diff=DisavowDiff(added=[...], existing_entries=120))  # doctest: +SKIP
>>> write_report("audit.html", scored, domains, diff=diff)                                   # doctest: +SKIP

Streamed, for an export too big to hold (memory bounded by the aggregates, not the links):

>>> acc = ReportAccumulator()                                                                # doctest: +SKIP
>>> for chunk in scored_chunks:                                                              # doctest: +SKIP
...     acc.update(chunk)
>>> write_report_from(acc, "audit.html", domains, diff=diff)                                 # doctest: +SKIP

The file has no external references: plotly.js is inlined once in ``<head>``, styles are
inlined, fonts are the reader's system fonts, and plotly's "send to cloud" links are off,
so the report opens offline and leaks nothing when a client opens it.

Every number is aggregated here in pandas/numpy and only the aggregates go into the
charts, so the file size depends on the number of periods / TLDs / bins, not on the
number of links (a 1M-link export gives the same ~5 MB file as a 1k-link one, almost all
of it plotly.js). The aggregates are kept by :class:`ReportAccumulator` (counts per band,
risk bin, TLD, anchor category, first-seen day and target host), which adds chunks and
merges partitions; :func:`build_report` is that accumulator over one chunk, so there is a
single rendering path.

Sections
--------
- Headline numbers (``<span id="n-..." data-value="...">``, stable ids for tests/scrapers):
  links (duplicates excluded), duplicates, referring domains, toxic / review / ok /
  rejected links, domains and URLs to disavow, domains to review, whitelisted domains.
- Risk histogram (20 bins of width 0.05, stacked by band).
- Toxic share by TLD: the *top_tlds* ICANN suffixes with the most scored links.
- Anchor-text mix: :func:`anchor_categories`.
- Links first seen over time, with bursts: :func:`first_seen_timeline`.
- Top toxic referring domains with their reasons (HTML-escaped).
- What the new disavow file adds to the existing one (:class:`DisavowDiff`).
"""

from __future__ import annotations

import datetime as _dt
import html as _html
import os
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from toxlink import policy as P
from toxlink import schema as S
from toxlink import urls
from toxlink.resources import word_list

# --- columns of the per-site roll-up (toxlink.policy.recommend_domains) ------------------
D_DOMAIN = P.ROLLUP_DOMAIN
D_ACTION = P.ACTION
D_LINKS = P.N_LINKS
D_TOXIC_LINKS = P.N_TOXIC
D_REVIEW_LINKS = P.N_REVIEW
D_TOXIC_SHARE = P.TOXIC_SHARE
D_MAX_RISK = P.MAX_RISK
D_MEAN_RISK = P.MEAN_RISK
D_REASONS = P.TOP_REASONS
D_WHITELISTED = P.WHITELISTED
D_PROTECTED = P.PROTECTED
D_ENTRIES = P.DISAVOW_ENTRIES
D_HOST = S.HOST  # optional: the disavow unit when it differs from the site
#: Other names a roll-up may use for the same columns (read as the canonical ones).
ROLLUP_ALIASES = {"links": D_LINKS, "toxic_links": D_TOXIC_LINKS, "review_links": D_REVIEW_LINKS, "reasons": D_REASONS}

ACTIONS = P.ACTIONS
TOXIC, REVIEW, OK, REJECTED = S.BANDS

BAND_COLOURS = {TOXIC: "#c8423b", REVIEW: "#e9a23b", OK: "#4a9b6e", REJECTED: "#a3aab3"}
BAND_LABELS = {TOXIC: "Toxic", REVIEW: "Review", OK: "OK", REJECTED: "Not scored"}
_LEGEND_RANK = {TOXIC: 1, REVIEW: 2, OK: 3, REJECTED: 4}  # legend order, whatever the stacking order

# --- anchor-text categories ---------------------------------------------------------------
EMPTY, NAKED_URL, BRANDED, GENERIC, COMMERCIAL, OTHER, UNKNOWN = (
    "empty", "naked URL", "branded", "generic", "commercial", "other", "unknown",
)
#: Categories in the order they are tested (the first rule that matches wins).
ANCHOR_CATEGORIES = (EMPTY, NAKED_URL, BRANDED, GENERIC, COMMERCIAL, OTHER, UNKNOWN)

# Word lists shared with toxlink.features.anchor (data/, provenance in data/SOURCES.md), so
# the report and the model agree on what a generic or a money anchor is.
_GENERIC_LIST = "generic_anchors.txt"  # whole anchor, after squeezing punctuation to spaces
_COMMERCIAL_LIST = "commercial_terms.txt"  # commercial-intent words (buy, cheap, price, ...)
_SPAM_LEXICON = "spam_lexicon.txt"  # gambling / pharma / ... terms with no innocent reading
_SQUEEZE_RE = re.compile(r"[^\w']+")


@lru_cache(maxsize=1)
def _generic_anchors() -> frozenset[str]:
    return frozenset(_SQUEEZE_RE.sub(" ", a).strip() for a in word_list(_GENERIC_LIST)) - {""}


@lru_cache(maxsize=1)
def _money_re() -> re.Pattern:
    from toxlink.features._base import categorised

    terms = set(word_list(_COMMERCIAL_LIST))
    terms.update(t for ts in categorised(_SPAM_LEXICON).values() for t in ts)
    alternation = "|".join(re.escape(t) for t in sorted(terms, key=len, reverse=True))
    return re.compile(rf"(?<!\w)(?:{alternation})(?!\w)")


_NAKED_URL_RE = r"^(?:https?://)?(?:www\.)?(?:[a-z0-9\-]+\.)+[a-z][a-z0-9\-]{1,62}\.?(?::\d+)?(?:[/?#]\S*)?$"

# --- timeline -------------------------------------------------------------------------------
#: Weekly periods while the profile spans at most this many weeks (~3 years), else monthly.
WEEKLY_MAX_PERIODS = 160
#: A period is a burst when its count exceeds median + BURST_K * max(1.4826 * MAD, 1) ...
BURST_K = 3.0
#: ... and it holds at least this many links (a 3-link week is never a "burst") ...
MIN_BURST_LINKS = 5
#: ... and at least this multiple of the median period: on a busy profile a week 1.8x the
#: usual volume can pass the statistical test without being a campaign worth flagging.
BURST_MIN_RATIO = 2.0


@dataclass(frozen=True)
class DisavowDiff:
    """What a new disavow file changes relative to the existing one.

    Parameters
    ----------
    added : list of str
        Entries (``domain:x`` or URLs) in the new file that the existing file lacks.
    already_present : list of str
        Recommended entries the existing file already had (kept as they are).
    whitelisted : list of str
        Recommended entries skipped because they match the whitelist.
    existing_entries : int
        Size of the existing file (0 when there is none), counted in *unit*.
    unit : {"entries", "lines"}
        What *existing_entries* counts (a merge result knows lines, comments included).
    """

    added: Sequence[str] = ()
    already_present: Sequence[str] = ()
    whitelisted: Sequence[str] = ()
    existing_entries: int = 0
    unit: str = "entries"

    @classmethod
    def coerce(cls, diff) -> "DisavowDiff | None":
        """A :class:`DisavowDiff` from itself, a mapping with the same keys, a
        :class:`toxlink.disavow.Diff` (whose existing size is in lines), or ``None``."""
        if diff is None or isinstance(diff, cls):
            return diff
        if hasattr(diff, "rows") and hasattr(diff, "existing_lines"):
            return cls(
                added=[r.entry for r in diff.added],
                already_present=[r.entry for r in diff.already_present],
                whitelisted=[r.entry for r in diff.whitelisted],
                existing_entries=int(diff.existing_lines),
                unit="lines",
            )
        if isinstance(diff, Mapping):
            return cls(
                added=list(diff.get("added", ())),
                already_present=list(diff.get("already_present", ())),
                whitelisted=list(diff.get("whitelisted", ())),
                existing_entries=int(diff.get("existing_entries", 0)),
            )
        raise TypeError(f"diff must be a DisavowDiff or a mapping, not {type(diff).__name__}")

    @property
    def total_after(self) -> int:
        """Entries in the merged file: everything already there plus what is added."""
        return int(self.existing_entries) + len(self.added)


# =========================================================================================
# Aggregations (pure pandas; tested directly)
# =========================================================================================
def counted_links(scored: pd.DataFrame) -> pd.DataFrame:
    """The rows counted in the report: every row that is not a duplicate of an earlier one."""
    if S.DUPLICATE_OF in scored.columns:
        first = scored[S.DUPLICATE_OF].isna().to_numpy()
        if not first.all():  # filtering copies every column: skip it when nothing is dropped
            return scored[first]
    return scored


def _hosts_of_few(url_col: pd.Series) -> pd.Series:
    """:func:`urls.hosts_of` parsed once per unique URL (an export links to few targets)."""
    codes, uniq = pd.factorize(url_col.astype("string"), use_na_sentinel=True)
    hosts = urls.hosts_of(pd.Series(uniq, dtype="string")).to_numpy(dtype=object)
    out = np.full(len(url_col), None, dtype=object)
    out[codes >= 0] = hosts[codes[codes >= 0]]
    return pd.Series(out, index=url_col.index, dtype="string")


def rollup_frame(domains: pd.DataFrame) -> pd.DataFrame:
    """*domains* with :data:`ROLLUP_ALIASES` renamed to the roll-up's own column names
    (only where the canonical column is absent)."""
    rename = {a: c for a, c in ROLLUP_ALIASES.items() if a in domains.columns and c not in domains.columns}
    return domains.rename(columns=rename) if rename else domains


def _band_of(rows: pd.DataFrame) -> pd.Series:
    """The band column as strings, a missing band read as ``rejected`` (nothing to show)."""
    return rows[S.BAND].astype("string").fillna(REJECTED)


def band_counts(scored: pd.DataFrame) -> dict[str, int]:
    """Links per band (duplicates excluded), every band in :data:`schema.BANDS` present."""
    bands = _band_of(counted_links(scored)).value_counts()
    return {b: int(bands.get(b, 0)) for b in S.BANDS}


def _brand_tokens(target_hosts: pd.Series) -> pd.Series:
    """Brand token of each target host: its registrable domain without the public suffix,
    alphanumerics only (``acme-tools.co.uk`` -> ``acmetools``); computed per unique host."""
    hosts = target_hosts.astype("string")
    uniq = pd.Series(pd.unique(hosts.dropna()), dtype="string")
    if uniq.empty:
        return pd.Series(pd.NA, index=target_hosts.index, dtype="string")
    table = urls.host_table(uniq)
    dom = table["domain"].astype(str)
    suffix = table["suffix"].astype(str)
    label = [d[: -len(s) - 1] if s and d.endswith("." + s) else d for d, s in zip(dom, suffix)]
    token = pd.Series(label, index=table.index, dtype="string").str.replace(r"[^a-z0-9]", "", regex=True)
    token = token.where(token.str.len() >= 3)  # "ab" would match half the web's anchors
    return hosts.map(token).astype("string")


def anchor_categories(anchors: pd.Series, target_urls: pd.Series | None = None) -> pd.Series:
    """Classify anchor texts as branded / naked URL / generic / commercial / empty / other.

    Rules, tested in this order (first match wins), on the lower-cased, trimmed anchor:

    1. ``unknown``: the anchor is missing (``NA``: the export has no anchor column).
    2. ``empty``: the anchor is ``""`` or whitespace (image links without alt text).
    3. ``naked URL``: the anchor is a URL or a bare host name (``https://x.com/``, ``x.com``).
    4. ``branded``: with punctuation and spaces removed it contains the target's brand
       token, i.e. the target's registrable domain without its suffix (``acmetools`` for
       ``https://www.acmetools.com/shop``; tokens shorter than 3 characters are ignored).
    5. ``generic``: with punctuation squeezed to spaces it is a line of
       ``data/generic_anchors.txt`` ("click here", "website", "hier", ...).
    6. ``commercial``: it contains, as a whole word or phrase, a line of
       ``data/commercial_terms.txt`` (buy, cheap, price, ...) or a term of
       ``data/spam_lexicon.txt`` (casino, viagra, ...): a money or spam keyword anchor.
    7. ``other``: anything else (descriptive or keyword anchors).

    Parameters
    ----------
    anchors : Series of str, shape (n,)
    target_urls : Series of str, shape (n,), optional
        Without targets, rule 4 never applies.

    Returns
    -------
    Series of str, shape (n,), same index as *anchors*, values from :data:`ANCHOR_CATEGORIES`.
    """
    text = anchors.astype("string")
    # Every rule but "branded" depends on the anchor alone: evaluate once per unique anchor.
    codes, uniq = pd.factorize(text.str.strip().str.lower(), use_na_sentinel=True)
    u = pd.Series(uniq, dtype="string")
    # Python's re on the unique anchors: word boundaries must know non-ASCII letters.
    plain = np.asarray(uniq, dtype=object)
    generic, money = _generic_anchors(), _money_re()
    cat_u = np.select(
        [
            u.eq("").to_numpy(bool),
            u.str.contains(_NAKED_URL_RE, regex=True).fillna(False).to_numpy(bool),
            np.fromiter((_SQUEEZE_RE.sub(" ", a).strip() in generic for a in plain), bool, len(plain)),
            np.fromiter((money.search(a) is not None for a in plain), bool, len(plain)),
        ],
        [EMPTY, NAKED_URL, GENERIC, COMMERCIAL],
        OTHER,
    ).astype(object)
    out = np.full(len(text), UNKNOWN, dtype=object)
    has = codes >= 0
    out[has] = cat_u[codes[has]]

    if target_urls is not None and has.any():
        brand = _brand_tokens(_hosts_of_few(target_urls))
        compact = u.str.replace(r"[^a-z0-9]", "", regex=True).to_numpy(dtype=object)
        # Branded only overrides the rules after it (generic, commercial, other).
        can = has & np.isin(out, [GENERIC, COMMERCIAL, OTHER]) & brand.notna().to_numpy()
        idx = np.flatnonzero(can)
        if idx.size:
            pairs = pd.DataFrame({"a": codes[idx], "b": brand.to_numpy(dtype=object)[idx]})
            upairs = pairs.drop_duplicates()
            hit = np.array([b in compact[a] for a, b in zip(upairs["a"], upairs["b"])], dtype=bool)
            key = pd.MultiIndex.from_frame(upairs)
            hits = pd.Series(hit, index=key).reindex(pd.MultiIndex.from_frame(pairs)).to_numpy(bool)
            out[idx[hits]] = BRANDED
    return pd.Series(out, index=anchors.index, dtype="string")


def first_seen_timeline(first_seen: pd.Series, bands: pd.Series | None = None, freq: str | None = None) -> pd.DataFrame:
    """Links per period of first-seen date, with burst periods flagged.

    Periods are weeks (starting Monday) while the profile spans at most
    :data:`WEEKLY_MAX_PERIODS` weeks, else calendar months; every period between the first
    and last date is present (empty ones count 0, which matters for the median).

    A period is a **burst** when its count exceeds ``median + BURST_K * max(1.4826 * MAD, 1)``
    of all periods' counts (MAD = median absolute deviation; 1.4826 * MAD estimates the
    standard deviation of normal counts; the floor of 1 keeps a flat profile, MAD = 0, from
    calling every above-median period a burst), holds at least :data:`MIN_BURST_LINKS` links
    and at least :data:`BURST_MIN_RATIO` times the median.

    Parameters
    ----------
    first_seen : Series of datetime64, shape (n,)
    bands : Series of str, shape (n,), optional
        Adds one count column per band in :data:`schema.BANDS`.
    freq : {"W", "M"}, optional
        Force weekly or monthly periods.

    Returns
    -------
    DataFrame, shape (periods, 4 + bands), indexed by period start (``period``) with
    ``count``, ``threshold`` (same on every row), ``burst`` (bool), ``ratio`` (count /
    median, inf for a zero median) and, with *bands*, one column per band.
    """
    return _timeline_from_days(_day_counts(first_seen, bands), bands is not None, freq)


# Band key of a dated row without a band: counted in ``count``, in no band column.
_NO_BAND = ""


def _day_counts(first_seen: pd.Series, bands: pd.Series | None = None) -> dict[tuple[int, str], int]:
    """Dated rows per (day, band), the day as days since 1970-01-01 (wall-clock date of a
    tz-aware timestamp). Days are the finest grain the timeline needs: weeks or months, and
    which of the two, are only decided once every day is known."""
    dates = pd.to_datetime(first_seen, errors="coerce")
    ok = dates.notna().to_numpy()
    if not ok.any():
        return {}
    dates = dates[ok].dt.tz_localize(None) if getattr(dates.dt, "tz", None) is not None else dates[ok]
    day = dates.dt.normalize().to_numpy().astype("datetime64[D]").astype(np.int64)
    if bands is None:
        band = np.full(len(day), _NO_BAND, dtype=object)
    else:
        band = pd.Series(bands.to_numpy()[ok]).astype("string").fillna(_NO_BAND).to_numpy(dtype=object)
    return dict(_pair_counts(day, band))


def _timeline_from_days(days: Mapping[tuple[int, str], int], with_bands: bool, freq: str | None = None) -> pd.DataFrame:
    """:func:`first_seen_timeline` from per-(day, band) counts (:func:`_day_counts`)."""
    cols = ["count", "threshold", "burst", "ratio"] + (list(S.BANDS) if with_bands else [])
    if not days:
        return pd.DataFrame(columns=cols, index=pd.DatetimeIndex([], name="period"))
    keys = list(days)
    day = pd.DatetimeIndex(np.fromiter((k[0] for k in keys), np.int64, len(keys)).astype("datetime64[D]")).as_unit("ns")
    band = np.array([k[1] for k in keys], dtype=object)
    n = np.fromiter(days.values(), np.int64, len(keys))
    if freq is None:
        weeks = (day.max() - day.min()).days / 7 + 1
        freq = "W" if weeks <= WEEKLY_MAX_PERIODS else "M"
    if freq == "W":
        start = day - pd.to_timedelta(day.day_of_week, unit="D")
        index = pd.date_range(start.min(), start.max(), freq="W-MON")
    elif freq == "M":
        start = day.to_period("M").start_time
        index = pd.date_range(start.min(), start.max(), freq="MS")
    else:
        raise ValueError(f"freq must be 'W' or 'M', not {freq!r}")
    index = pd.DatetimeIndex(index, name="period").as_unit("ns")
    start = pd.DatetimeIndex(start).as_unit("ns")
    counts = pd.Series(n).groupby(start).sum().reindex(index, fill_value=0).astype(np.int64)
    values = counts.to_numpy(float)
    median = float(np.median(values))
    mad = float(np.median(np.abs(values - median)))
    threshold = median + BURST_K * max(1.4826 * mad, 1.0)
    out = pd.DataFrame({"count": counts.to_numpy()}, index=index)
    out["threshold"] = threshold
    out["burst"] = (values > threshold) & (values >= MIN_BURST_LINKS) & (values >= BURST_MIN_RATIO * median)
    with np.errstate(divide="ignore", invalid="ignore"):
        out["ratio"] = np.where(median > 0, values / median if median else 0.0, np.inf)
    if with_bands:
        table = pd.Series(n).groupby([start, band]).sum().unstack(fill_value=0)
        table = table.reindex(index=index, columns=list(S.BANDS), fill_value=0)
        for b in S.BANDS:
            out[b] = table[b].to_numpy(np.int64)
    out.attrs["freq"] = freq
    return out


def _pair_counts(keys, bands) -> Iterator[tuple[tuple, int]]:
    """``((key, band), count)`` for every distinct pair of two aligned arrays, shape (n,).

    Keys and bands come back as Python scalars so aggregates pickle small (Dask)."""
    kc, ku = pd.factorize(np.asarray(keys))
    bc, bu = pd.factorize(np.asarray(bands, dtype=object))
    if not len(kc):
        return iter(())
    combo = kc.astype(np.int64) * len(bu) + bc
    uniq, n = np.unique(combo, return_counts=True)
    k = np.asarray(ku)[uniq // len(bu)].tolist()
    b = np.asarray(bu, dtype=object)[uniq % len(bu)].tolist()
    return zip(zip(k, b), n.tolist())


def _tld_counts(scored: pd.DataFrame) -> Iterator[tuple[tuple[str, str], int]]:
    """``((tld, band), count)`` over the counted, scored (not rejected) rows of *scored*."""
    rows = counted_links(scored)
    band = _band_of(rows)
    keep = band.ne(REJECTED).to_numpy(bool)
    if not keep.any():
        return iter(())
    domain = rows[S.DOMAIN] if S.DOMAIN in rows.columns else urls.domains_of(rows[S.HOST])
    # Suffixes per unique domain; only the two needed columns are filtered, never the frame.
    codes, uniq = pd.factorize(domain.astype("string")[keep], use_na_sentinel=True)
    table = urls.host_table(pd.Series(uniq, dtype="string"))
    suffix = table["suffix"].where(~table["is_ip"], "(IP address)").replace("", "(none)")
    label = suffix.where(suffix.str.startswith("("), "." + suffix).to_numpy(dtype=object)
    tld = np.where(codes >= 0, label[np.maximum(codes, 0)] if len(label) else "(none)", "(none)")
    return _pair_counts(tld.astype(object), band.to_numpy(dtype=object)[keep])


def _crosstab(counts: Mapping[tuple, int]) -> pd.DataFrame:
    """The ``pd.crosstab`` of the rows that *counts* tallies: keys x bands, both sorted, int64."""
    s = pd.Series(list(counts.values()), index=pd.MultiIndex.from_tuples(list(counts)), dtype=np.int64)
    return s.unstack(fill_value=0).sort_index().sort_index(axis=1).astype(np.int64)


def _tld_frame(counts: Mapping[tuple[str, str], int], top: int) -> pd.DataFrame:
    cols = ["links", TOXIC, REVIEW, OK, "toxic_share"]
    if not counts:
        return pd.DataFrame(columns=cols, index=pd.Index([], name="tld"))
    ct = _crosstab(counts).reindex(columns=[TOXIC, REVIEW, OK], fill_value=0)
    ct.index.name = "tld"
    ct.columns.name = None
    ct.insert(0, "links", ct.sum(axis=1))
    ct["toxic_share"] = ct[TOXIC] / ct["links"].where(ct["links"] > 0)
    return ct.sort_values(["links", "toxic_share"], ascending=[False, False]).head(top)


def tld_table(scored: pd.DataFrame, top: int = 12) -> pd.DataFrame:
    """Scored links per ICANN suffix (TLD) of the referring domain, the *top* largest.

    Duplicates and rejected rows are excluded. IP-address hosts are grouped as
    ``(IP address)``. Suffixes are looked up once per unique domain.

    Returns
    -------
    DataFrame indexed by ``tld`` with ``links``, one count column per scored band
    (toxic, review, ok) and ``toxic_share`` (toxic / links), sorted by ``links`` descending.
    """
    return _tld_frame(dict(_tld_counts(scored)), top)


def top_toxic_domains(domains: pd.DataFrame, top: int = 30) -> pd.DataFrame:
    """Referring domains to act on, most urgent first.

    Domains whose action is a disavow or a review, or that have toxic links (including
    whitelisted ones, shown so the reader sees what the whitelist protects), ordered by
    action (disavow-domain, disavow-url, review, keep), then ``max_risk``, then
    ``toxic_links``, both descending.
    """
    domains = rollup_frame(domains)
    if domains.empty:
        return domains
    action = domains[D_ACTION].astype("string")
    toxic = pd.to_numeric(domains.get(D_TOXIC_LINKS, 0), errors="coerce").fillna(0)
    keep = action.isin(ACTIONS[:3]).fillna(False) | (toxic > 0)
    sel = domains[keep.to_numpy()].copy()
    sel["_rank"] = sel[D_ACTION].astype("string").map({a: i for i, a in enumerate(ACTIONS)}).fillna(len(ACTIONS)).astype(int)
    sel = sel.sort_values(["_rank", D_MAX_RISK, D_TOXIC_LINKS], ascending=[True, False, False], kind="stable")
    return sel.drop(columns="_rank").head(top)


def headline_numbers(scored: pd.DataFrame, domains: pd.DataFrame, diff: DisavowDiff | None = None) -> dict[str, int]:
    """The numbers of the report's header cards, keyed by their element id without ``n-``.

    ``links`` counts every non-duplicate row (rejected ones included); ``domains`` is the
    number of rows of the roll-up; the ``disavow_*``/``review_domains`` counts come from its
    ``action`` column; ``diff_*`` only with a *diff*.
    """
    counted = counted_links(scored)
    return _headline(len(scored), len(counted), band_counts(counted), domains, diff)


def _headline(n_rows: int, n_counted: int, bands: Mapping[str, int], domains: pd.DataFrame,
              diff: DisavowDiff | None) -> dict[str, int]:
    """:func:`headline_numbers` from the row counts and the links per band."""
    domains = rollup_frame(domains)
    action = domains[D_ACTION].astype("string").value_counts() if D_ACTION in domains.columns else pd.Series(dtype=int)
    white = sum(map(_truthy, domains[D_WHITELISTED])) if D_WHITELISTED in domains.columns else 0
    out = {
        "links": int(n_counted),
        "duplicates": int(n_rows - n_counted),
        "domains": int(len(domains)),
        **{b: int(bands.get(b, 0)) for b in S.BANDS},
        "disavow-domains": int(action.get("disavow-domain", 0)),
        "disavow-urls": int(action.get("disavow-url", 0)),
        "review-domains": int(action.get("review", 0)),
        "whitelisted": int(white),
    }
    if diff is not None:
        out.update(
            {
                "diff-existing": int(diff.existing_entries),
                "diff-added": len(diff.added),
                "diff-present": len(diff.already_present),
                "diff-whitelisted": len(diff.whitelisted),
                "diff-total": diff.total_after,
            }
        )
    return out


# =========================================================================================
# Charts (plotly figures built from the aggregates above)
# =========================================================================================
_FONT = '-apple-system, BlinkMacSystemFont, "Segoe UI", Roboto, "Helvetica Neue", Arial, "DejaVu Sans", sans-serif'
# Every chart: no plotly logo, no "edit in chart studio" link, no cloud URL in the file.
# The mode bar is hidden: it overlaps legends and a client reading the report only needs hover.
_PLOT_CONFIG = {"displaylogo": False, "showSendToCloud": False, "responsive": True, "displayModeBar": False}


def _layout(fig, height: int = 320, **kw):
    kw.setdefault("bargap", 0.08)
    fig.update_layout(
        template="plotly_white", height=height, margin=dict(l=10, r=10, t=10, b=10),
        font=dict(family=_FONT, size=12, color="#2b3440"),
        legend=dict(orientation="h", yanchor="bottom", y=1.02, xanchor="left", x=0, title_text="", traceorder="normal"),
        hoverlabel=dict(font_family=_FONT), **kw,
    )
    return fig


def _figure_html(fig, div_id: str) -> str:
    import plotly.io as pio

    # plotly.js is inlined once in <head>; each figure only carries its data and a newPlot call.
    return pio.to_html(fig, include_plotlyjs=False, full_html=False, config=_PLOT_CONFIG, div_id=div_id, default_height=f"{fig.layout.height}px")


#: Risk histogram bins: 20 bins of width 0.05 (the last one closed: risk 1.0 is counted).
_RISK_EDGES = np.linspace(0.0, 1.0, 21)
_HIST_BANDS = (OK, REVIEW, TOXIC)  # stacking order, bottom up


def _risk_bins(rows: pd.DataFrame) -> dict[str, np.ndarray]:
    """Links per risk bin for each scored band, shape (20,) int64 each, on *rows* as given
    (already de-duplicated). Histogram counts add up across chunks."""
    risk = (pd.to_numeric(rows[S.RISK], errors="coerce").to_numpy(float, na_value=np.nan) if S.RISK in rows.columns
            else np.full(len(rows), np.nan))
    band = _band_of(rows)
    out = {}
    for b in _HIST_BANDS:
        r = risk[band.eq(b).to_numpy(bool) & np.isfinite(risk)]
        out[b] = np.histogram(np.clip(r, 0, 1), bins=_RISK_EDGES)[0].astype(np.int64)
    return out


def _risk_histogram(bins: Mapping[str, np.ndarray]):
    import plotly.graph_objects as go

    edges = _RISK_EDGES
    fig = go.Figure()
    for b in _HIST_BANDS:
        fig.add_bar(
            x=(edges[:-1] + edges[1:]) / 2, y=bins[b], width=0.05, name=BAND_LABELS[b], legendrank=_LEGEND_RANK[b],
            marker_color=BAND_COLOURS[b], customdata=np.c_[edges[:-1], edges[1:]],
            hovertemplate="risk %{customdata[0]:.0%}–%{customdata[1]:.0%}<br>%{y:,} links<extra>" + BAND_LABELS[b] + "</extra>",
        )
    _layout(fig, barmode="stack")
    fig.update_xaxes(range=[0, 1], tickformat=".0%", dtick=0.1, title_text="Risk (calibrated probability of spam / manipulation)")
    fig.update_yaxes(title_text="Links", rangemode="tozero")
    return fig


def _tld_chart(tlds: pd.DataFrame):
    import plotly.graph_objects as go

    t = tlds.iloc[::-1]  # plotly draws horizontal bars bottom-up: biggest TLD on top
    labels = [f"{tld}  ({n:,})" for tld, n in zip(t.index, t["links"])]
    fig = go.Figure()
    for b in (TOXIC, REVIEW, OK):
        share = t[b] / t["links"]
        fig.add_bar(
            y=labels, x=share, orientation="h", name=BAND_LABELS[b], legendrank=_LEGEND_RANK[b], marker_color=BAND_COLOURS[b],
            customdata=t[b], text=[f"{v:.0%}" if b == TOXIC and v >= 0.04 else "" for v in share],
            textposition="inside", insidetextanchor="start",
            hovertemplate="%{y}<br>%{x:.1%} (%{customdata:,} links)<extra>" + BAND_LABELS[b] + "</extra>",
        )
    _layout(fig, height=max(220, 28 * len(t) + 70), barmode="stack")
    fig.update_xaxes(range=[0, 1], tickformat=".0%", title_text="Share of the TLD's scored links")
    return fig


def _anchor_chart(mix: pd.DataFrame):
    import plotly.graph_objects as go

    m = mix.iloc[::-1]
    total = int(mix["links"].sum()) or 1
    labels = [f"{c}  ({n / total:.0%})" for c, n in zip(m.index, m["links"])]
    fig = go.Figure()
    for b in (TOXIC, REVIEW, OK, REJECTED):
        if m[b].sum() == 0 and b == REJECTED:
            continue
        fig.add_bar(y=labels, x=m[b], orientation="h", name=BAND_LABELS[b], legendrank=_LEGEND_RANK[b], marker_color=BAND_COLOURS[b],
                    hovertemplate="%{y}<br>%{x:,} links<extra>" + BAND_LABELS[b] + "</extra>")
    _layout(fig, height=max(220, 34 * len(m) + 70), barmode="stack")
    fig.update_xaxes(title_text="Links", rangemode="tozero")
    return fig


def _timeline_chart(tl: pd.DataFrame):
    import plotly.graph_objects as go

    freq = tl.attrs.get("freq", "W")
    width_ms = (7 if freq == "W" else 30) * 86_400_000 * 0.9
    x = tl.index + pd.Timedelta(days=3.5 if freq == "W" else 15)  # centre bars on their period
    fig = go.Figure()
    for b in (OK, REVIEW, TOXIC, REJECTED):
        if b not in tl.columns or (b == REJECTED and tl[b].sum() == 0):
            continue
        fig.add_bar(x=x, y=tl[b], width=width_ms, name=BAND_LABELS[b], legendrank=_LEGEND_RANK[b], marker_color=BAND_COLOURS[b],
                    customdata=tl.index.strftime("%Y-%m-%d"),
                    hovertemplate=("week of " if freq == "W" else "month of ") + "%{customdata}<br>%{y:,} links<extra>" + BAND_LABELS[b] + "</extra>")
    thr = float(tl["threshold"].iloc[0])
    fig.add_scatter(x=[x.min(), x.max()], y=[thr, thr], mode="lines", name=f"Burst threshold ({thr:,.1f})", legendrank=5,
                    line=dict(color="#6b4fbb", dash="dot", width=1.5), hoverinfo="skip")
    burst = tl[tl["burst"]]
    if len(burst):
        bx = burst.index + pd.Timedelta(days=3.5 if freq == "W" else 15)
        fig.add_scatter(x=bx, y=burst["count"] * 1.04 + 0.5, mode="markers", name="Burst", legendrank=6,
                        marker=dict(symbol="triangle-down", size=11, color="#6b4fbb"),
                        customdata=np.c_[burst.index.strftime("%Y-%m-%d"), burst["count"]],
                        hovertemplate="burst: %{customdata[1]:,} links, period of %{customdata[0]}<extra></extra>")
    _layout(fig, height=340, barmode="stack", bargap=0.0)
    fig.update_yaxes(title_text="Links first seen", rangemode="tozero")
    return fig


# =========================================================================================
# HTML
# =========================================================================================
def _e(value) -> str:
    """Escape any value for HTML text or a quoted attribute."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    return _html.escape(str(value), quote=True)


def _truthy(value) -> bool:
    """A roll-up flag read from a frame or a CSV (``True``, ``"True"``, 1), NA as False."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return False
    return str(value).strip().lower() in ("true", "1", "yes") if isinstance(value, str) else bool(value)


def _num(key: str, value: int | float, label: str, tone: str = "", note: str = "", note_html: str = "") -> str:
    """A headline card; *note* is text (escaped), *note_html* trusted markup built here."""
    shown = f"{value:,}" if isinstance(value, (int, np.integer)) else f"{value:,.1f}"
    note_html = f'<div class="note">{_e(note) if note else note_html}</div>' if note or note_html else ""
    return (f'<div class="card {tone}"><div class="label">{_e(label)}</div>'
            f'<span class="value" id="n-{_e(key)}" data-value="{_e(value)}">{_e(shown)}</span>{note_html}</div>')


def _pct(x: float) -> str:
    return "–" if x is None or not np.isfinite(x) else f"{x:.0%}"


def _empty(msg: str) -> str:
    return f'<p class="empty">{_e(msg)}</p>'


def _domains_table(top: pd.DataFrame, total_flagged: int) -> str:
    if top.empty:
        return _empty("No referring domain has toxic links or a disavow / review recommendation.")
    rows = []
    for d in top.to_dict("records"):
        action = str(d.get(D_ACTION, "") or "")
        reasons = [x.strip() for x in str(d.get(D_REASONS) or "").split(";") if x.strip()]
        reasons_html = "<ul>" + "".join(f"<li>{_e(x)}</li>" for x in reasons[:4]) + "</ul>" if reasons else '<span class="muted">–</span>'
        host, dom = d.get(D_HOST), d.get(D_DOMAIN)
        # The disavow unit only needs showing when it is not the domain itself (or its www.).
        shown_host = isinstance(host, str) and host not in (dom, f"www.{dom}")
        host_html = f'<div class="muted small">host {_e(host)}</div>' if shown_host else ""
        badge = "".join(f'<span class="badge {cls}">{label}</span>' for col, cls, label in
                        ((D_WHITELISTED, "white", "whitelisted"), (D_PROTECTED, "white", "protected gov/edu"))
                        if _truthy(d.get(col)))
        entries = d.get(D_ENTRIES)
        if action == P.DISAVOW_URL and isinstance(entries, (list, tuple, np.ndarray)) and len(entries):
            badge += f'<div class="muted small">{len(entries):,} URL{"s" if len(entries) != 1 else ""}</div>'
        rows.append(
            f'<tr data-domain="{_e(d.get(D_DOMAIN))}"><td class="dom">{_e(d.get(D_DOMAIN))}{host_html}</td>'
            f'<td class="num">{int(d.get(D_LINKS) or 0):,}</td><td class="num">{int(d.get(D_TOXIC_LINKS) or 0):,}</td>'
            f'<td class="num">{_pct(float(d.get(D_TOXIC_SHARE, np.nan)))}</td>'
            f'<td class="num"><span class="risk" style="--r:{_e(round(float(d.get(D_MAX_RISK) or 0), 3))}">{_pct(float(d.get(D_MAX_RISK, np.nan)))}</span></td>'
            f'<td><span class="badge {_e(action)}">{_e(action)}</span>{badge}</td><td class="reasons">{reasons_html}</td></tr>'
        )
    more = total_flagged - len(top)
    foot = (f'<p class="muted small">{more:,} more flagged domains are not shown here; the per-domain '
            "table exported with this report lists them all.</p>") if more > 0 else ""
    return (
        '<table class="data" id="top-domains"><thead><tr><th>Referring domain</th><th class="num">Links</th>'
        '<th class="num">Toxic</th><th class="num">Toxic share</th><th class="num">Max risk</th><th>Action</th>'
        "<th>Why</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table>" + foot
    )


def _entry_list(entries: Sequence[str], limit: int = 300) -> str:
    items = "".join(f"<li>{_e(x)}</li>" for x in list(entries)[:limit])
    more = len(entries) - limit
    more_html = f'<li class="muted">… and {more:,} more</li>' if more > 0 else ""
    return f'<ul class="entries">{items}{more_html}</ul>'


def _diff_section(diff: DisavowDiff | None, numbers: dict) -> str:
    if diff is None:
        return _empty("No disavow file was compared (run with an existing disavow file to see what changes).")
    cards = "".join(
        [
            _num("diff-existing", numbers["diff-existing"], f"{diff.unit.capitalize()} in the existing file (all kept)"),
            _num("diff-added", numbers["diff-added"], "New entries added", "toxic"),
            _num("diff-present", numbers["diff-present"], "Recommended, already disavowed"),
            _num("diff-whitelisted", numbers["diff-whitelisted"], "Skipped: whitelisted", "ok"),
            _num("diff-total", numbers["diff-total"], "Entries in the new file" if diff.unit == "entries" else "Existing lines + new entries"),
        ]
    )
    lists = []
    for title, entries, cls in (("Added", diff.added, "added"), ("Already present", diff.already_present, "present"),
                                ("Whitelisted, not added", diff.whitelisted, "white")):
        if entries:
            lists.append(f'<details class="{cls}"><summary>{_e(title)} ({len(entries):,})</summary>{_entry_list(entries)}</details>')
    note = ('<p class="muted small">Every entry of the existing file is kept: the new file is the existing one plus '
            "the added entries, so nothing disavowed before is silently dropped.</p>")
    return f'<div class="cards small-cards">{cards}</div>{note}' + "".join(lists)


def _bursts_table(tl: pd.DataFrame) -> str:
    b = tl[tl["burst"]]
    if b.empty:
        return '<p class="muted small" id="bursts">No burst: no period exceeds the threshold.</p>'
    unit = "Week of" if tl.attrs.get("freq") == "W" else "Month of"
    rows = []
    for start, r in b.iterrows():
        ratio = "–" if not np.isfinite(r["ratio"]) else f"{r['ratio']:.1f}×"
        share = _pct(r[TOXIC] / r["count"]) if TOXIC in r.index and r["count"] else "–"
        rows.append(f'<tr><td>{_e(start.strftime("%Y-%m-%d"))}</td><td class="num">{int(r["count"]):,}</td>'
                    f'<td class="num">{ratio}</td><td class="num">{share}</td></tr>')
    rows = "".join(rows)
    return ('<table class="data compact" id="bursts"><thead><tr>'
            f'<th>{unit}</th><th class="num">Links</th><th class="num">× median</th><th class="num">Toxic share</th>'
            f"</tr></thead><tbody>{rows}</tbody></table>")


def anchor_mix(scored: pd.DataFrame) -> pd.DataFrame:
    """Links per anchor category (duplicates excluded) and band, largest category first.

    Categories (:func:`anchor_categories`) with no links are dropped.
    """
    return _anchor_frame(dict(_anchor_counts(counted_links(scored))))


def _anchor_counts(rows: pd.DataFrame) -> Iterator[tuple[tuple[str, str], int]]:
    """``((category, band), count)`` over *rows* as given (already de-duplicated). A table
    without an anchor column counts as all ``unknown``."""
    if rows.empty:
        return iter(())
    return _pair_counts(_classify(rows).to_numpy(dtype=object), _band_of(rows).to_numpy(dtype=object))


def _anchor_frame(counts: Mapping[tuple[str, str], int]) -> pd.DataFrame:
    if not counts:
        return pd.DataFrame(columns=["links", *S.BANDS], index=pd.Index([], name="category"), dtype=np.int64)
    ct = _crosstab(counts).reindex(columns=list(S.BANDS), fill_value=0)
    ct.columns.name = None
    ct.insert(0, "links", ct.sum(axis=1))
    ct.index.name = "category"
    return ct[ct["links"] > 0].sort_values("links", ascending=False)


def _classify(rows: pd.DataFrame) -> pd.Series:
    target = rows[S.TARGET_URL] if S.TARGET_URL in rows.columns else None
    anchors = rows[S.ANCHOR] if S.ANCHOR in rows.columns else pd.Series(pd.NA, index=rows.index, dtype="string")
    return anchor_categories(anchors, target)


_REPORT_COLUMNS = (S.DUPLICATE_OF, S.ROW_ISSUE, S.SOURCE_URL, S.TARGET_URL, S.ANCHOR, S.FIRST_SEEN,
                   S.HOST, S.DOMAIN, S.RISK, S.BAND, S.REASONS)


def _summary_sentence(numbers: dict, scored_n: int, diff: DisavowDiff | None) -> str:
    """One plain-language sentence a client reads first."""
    if not numbers["links"]:
        return "The export contains no backlinks."
    parts = [f"{numbers['links']:,} backlinks from {numbers['domains']:,} referring domains were audited."]
    if scored_n:
        parts.append(
            f"{numbers[TOXIC]:,} ({numbers[TOXIC] / scored_n:.1%}) look toxic and {numbers[REVIEW]:,} "
            f"({numbers[REVIEW] / scored_n:.1%}) need a manual review."
        )
    n_dis = numbers["disavow-domains"] + numbers["disavow-urls"]
    parts.append(f"{n_dis:,} referring domain{'s' if n_dis != 1 else ''} should be disavowed"
                 + (f" ({numbers['disavow-urls']:,} of them URL by URL)." if numbers["disavow-urls"] else "."))
    if diff is not None:
        parts.append(f"The new disavow file adds {len(diff.added):,} entr{'ies' if len(diff.added) != 1 else 'y'} "
                     f"to the {diff.existing_entries:,} already there.")
    return " ".join(parts)


class ReportAccumulator:
    """Everything the report shows about the links, aggregated chunk by chunk.

    The report only shows aggregates of the links table, so a 1M-link export never has to
    be held in memory: feed the scored links in chunks (any chunking, in row order), or
    accumulate partitions separately (e.g. one per Dask worker) and :meth:`merge` them,
    then :meth:`build` the report. :func:`build_report` is exactly
    ``ReportAccumulator().update(scored).build(domains, ...)``, so the HTML is the same
    byte for byte whichever way the rows arrived.

    >>> acc = ReportAccumulator()                                   # doctest: +SKIP
    >>> for chunk in scored_chunks:                                 # doctest: +SKIP
    ...     acc.update(chunk)
    >>> html = acc.build(domains, diff=diff)                        # doctest: +SKIP

    The state grows with the number of distinct days, TLDs, bands and target hosts, never
    with the number of links (:meth:`sizes`):

    Attributes
    ----------
    n_rows : int
        Rows seen, duplicates included.
    n_counted : int
        Rows counted (not a duplicate of an earlier row).
    bands : dict of str to int
        Counted links per band (a missing band is ``rejected``).
    risk_bins : dict of str to ndarray, shape (20,)
        Counted links per risk bin of width 0.05, for each scored band (ok, review, toxic).
    tlds : dict of (str, str) to int
        Counted, scored links per (TLD of the referring domain, band).
    anchors : dict of (str, str) to int
        Counted links per (anchor category, band) (:func:`anchor_categories`).
    days : dict of (int, str) to int
        Counted links with a first-seen date per (day as days since 1970-01-01, band):
        weekly or monthly periods and bursts depend on the whole date range, so they are
        derived from days at build time.
    targets : dict of str to int
        Counted links per target host, in order of first appearance (the title names the
        most linked one; ties go to the first seen, as ``value_counts`` orders them).
    """

    def __init__(self):
        self.n_rows = 0
        self.n_counted = 0
        self.bands: dict[str, int] = {}
        self.risk_bins: dict[str, np.ndarray] = {b: np.zeros(len(_RISK_EDGES) - 1, np.int64) for b in _HIST_BANDS}
        self.tlds: dict[tuple[str, str], int] = {}
        self.anchors: dict[tuple[str, str], int] = {}
        self.days: dict[tuple[int, str], int] = {}
        self.targets: dict[str, int] = {}

    def __repr__(self) -> str:
        return f"ReportAccumulator(n_rows={self.n_rows}, n_counted={self.n_counted}, sizes={self.sizes()})"

    def update(self, scored: pd.DataFrame) -> "ReportAccumulator":
        """Add a chunk of scored links (same columns as :func:`build_report`'s *scored*).

        Chunks must arrive in row order only for the title's tie-break between equally
        linked target hosts; every count is order-free. Returns *self*.
        """
        # Only these columns are read; filtering a 45-column frame costs more than the counting.
        rows = counted_links(scored[[c for c in _REPORT_COLUMNS if c in scored.columns]])
        self.n_rows += len(scored)
        if rows.empty:
            return self
        self.n_counted += len(rows)
        band = _band_of(rows)
        _add_counts(self.bands, band.value_counts().items())
        for b, counts in _risk_bins(rows).items():
            self.risk_bins[b] += counts
        _add_counts(self.tlds, _tld_counts(rows))
        _add_counts(self.anchors, _anchor_counts(rows))
        if S.FIRST_SEEN in rows.columns:
            _add_counts(self.days, _day_counts(rows[S.FIRST_SEEN], band).items())
        if S.TARGET_URL in rows.columns:
            codes, uniq = pd.factorize(_hosts_of_few(rows[S.TARGET_URL]), use_na_sentinel=True)
            n = np.bincount(codes[codes >= 0], minlength=len(uniq))
            _add_counts(self.targets, zip(np.asarray(uniq, dtype=object).tolist(), n.tolist()))
        return self

    def merge(self, other: "ReportAccumulator") -> "ReportAccumulator":
        """Add *other*'s aggregates to this one, *other*'s rows taken as following this
        one's (only the title's tie-break depends on it). Returns *self*."""
        if not isinstance(other, ReportAccumulator):
            raise TypeError(f"can only merge a ReportAccumulator, not {type(other).__name__}")
        self.n_rows += other.n_rows
        self.n_counted += other.n_counted
        for b, counts in other.risk_bins.items():
            self.risk_bins[b] = self.risk_bins[b] + counts
        for name in ("bands", "tlds", "anchors", "days", "targets"):
            _add_counts(getattr(self, name), getattr(other, name).items())
        return self

    def sizes(self) -> dict[str, int]:
        """Number of stored entries per aggregate (what the memory used depends on)."""
        return {
            "bands": len(self.bands),
            "risk_bins": sum(len(v) for v in self.risk_bins.values()),
            "tlds": len(self.tlds),
            "anchors": len(self.anchors),
            "days": len(self.days),
            "targets": len(self.targets),
        }

    def title(self) -> str:
        """The default title: "Backlink audit — <most linked target host>"."""
        if not self.targets:
            return "Backlink audit"
        return f"Backlink audit — {max(self.targets.items(), key=lambda kv: kv[1])[0]}"

    def build(self, domains: pd.DataFrame, diff=None, title: str | None = None, *,
              top_domains: int = 30, top_tlds: int = 12, generated: _dt.datetime | None = None) -> str:
        """Render the report from the aggregates; arguments as in :func:`build_report`."""
        return _render(self, domains, diff=diff, title=title, top_domains=top_domains, top_tlds=top_tlds,
                       generated=generated)


def _add_counts(into: dict, counts) -> None:
    """Add ``(key, count)`` pairs into *into* (new keys appended, so insertion order is
    order of first appearance)."""
    for k, n in counts:
        into[k] = into.get(k, 0) + int(n)


def build_report(scored: pd.DataFrame, domains: pd.DataFrame, diff=None, title: str | None = None, *,
                 top_domains: int = 30, top_tlds: int = 12, generated: _dt.datetime | None = None) -> str:
    """Render the audit report as one self-contained HTML document.

    Same as ``ReportAccumulator().update(scored).build(domains, ...)``; for an export too
    big to hold, feed a :class:`ReportAccumulator` chunk by chunk instead.

    Parameters
    ----------
    scored : DataFrame, shape (n, ...)
        Scored links: canonical columns plus ``host``, ``domain``, ``risk``, ``band`` and
        ``reasons`` (:meth:`toxlink.predictor.Predictor.score`). Rows with ``duplicate_of``
        set are not counted.
    domains : DataFrame, shape (d, ...)
        Per-domain roll-up (:func:`toxlink.policy.recommend_domains`) with ``domain``,
        ``host``, ``links``, ``max_risk``, ``mean_risk``, ``toxic_links``, ``toxic_share``,
        ``review_links``, ``reasons``, ``action``, ``whitelisted``.
    diff : DisavowDiff or mapping, optional
        What the new disavow file adds to the existing one.
    title : str, optional
        Report title; defaults to "Backlink audit — <most linked target host>".
    top_domains, top_tlds : int
        Rows of the toxic-domains table and bars of the TLD chart.
    generated : datetime, optional
        Timestamp printed in the header (default: now, UTC).

    Returns
    -------
    str
        The HTML document (UTF-8 text; plotly.js inlined, ~5 MB).
    """
    return ReportAccumulator().update(scored).build(domains, diff=diff, title=title, top_domains=top_domains,
                                                    top_tlds=top_tlds, generated=generated)


def _render(acc: ReportAccumulator, domains: pd.DataFrame, diff=None, title: str | None = None, *,
            top_domains: int = 30, top_tlds: int = 12, generated: _dt.datetime | None = None) -> str:
    """The HTML of :meth:`ReportAccumulator.build`: the one place the report is rendered."""
    from plotly.offline import get_plotlyjs

    from toxlink import __version__

    diff = DisavowDiff.coerce(diff)
    domains = rollup_frame(domains)
    numbers = _headline(acc.n_rows, acc.n_counted, acc.bands, domains, diff)
    generated = generated or _dt.datetime.now(_dt.timezone.utc)

    if title is None:
        title = acc.title()
    if acc.days:
        first, last = (pd.Timestamp(np.datetime64(f(d for d, _ in acc.days), "D")) for f in (min, max))
        period = f"Links first seen {first:%d %b %Y} – {last:%d %b %Y}"
    else:
        period = "No first-seen dates in the export"
    scored_n = numbers[TOXIC] + numbers[REVIEW] + numbers[OK]

    # --- charts -------------------------------------------------------------------------
    if scored_n:
        risk_html = _figure_html(_risk_histogram(acc.risk_bins), "chart-risk")
    else:
        risk_html = _empty("No link could be scored.")
    tlds = _tld_frame(acc.tlds, top_tlds)
    tld_html = _figure_html(_tld_chart(tlds), "chart-tld") if len(tlds) else _empty("No scored links.")
    mix = _anchor_frame(acc.anchors) if acc.n_counted else pd.DataFrame()
    if len(mix) and not (mix.index == UNKNOWN).all():
        anchor_html = _figure_html(_anchor_chart(mix), "chart-anchors")
    else:
        anchor_html = _empty("The export has no anchor texts.")
    tl = _timeline_from_days(acc.days, with_bands=True) if acc.days else None
    if tl is not None and len(tl):
        time_html = _figure_html(_timeline_chart(tl), "chart-timeline") + _bursts_table(tl)
        unit = "week" if tl.attrs.get("freq") == "W" else "month"
        n_bursts = int(tl["burst"].sum())
    else:
        time_html, unit, n_bursts = _empty("The export has no first-seen dates."), "week", 0

    flagged = top_toxic_domains(domains, top=len(domains))
    top = flagged.head(top_domains)

    def pct_of(n, d):
        return f"{n / d:.1%} of scored links" if d else ""

    cards = "".join(
        [
            _num("links", numbers["links"], "Backlinks", note_html=(
                f'<span id="n-duplicates" data-value="{numbers["duplicates"]}">{numbers["duplicates"]:,}</span> duplicate rows not counted')),
            _num("domains", numbers["domains"], "Referring domains"),
            _num(TOXIC, numbers[TOXIC], "Toxic links", "toxic", pct_of(numbers[TOXIC], scored_n)),
            _num(REVIEW, numbers[REVIEW], "Links to review", "review", pct_of(numbers[REVIEW], scored_n)),
            _num(OK, numbers[OK], "OK links", "ok", pct_of(numbers[OK], scored_n)),
            _num(REJECTED, numbers[REJECTED], "Not scored", "muted-card", "unusable source URL" if numbers[REJECTED] else ""),
        ]
    )
    action_cards = "".join(
        [
            _num("disavow-domains", numbers["disavow-domains"], "Domains to disavow", "toxic"),
            _num("disavow-urls", numbers["disavow-urls"], "Domains: disavow URLs only", "toxic"),
            _num("review-domains", numbers["review-domains"], "Domains to review", "review"),
            _num("whitelisted", numbers["whitelisted"], "Whitelisted domains", "ok"),
        ]
    )
    bursts_note = (f"{n_bursts} burst {unit}{'s' if n_bursts != 1 else ''} (marked ▼)" if n_bursts else f"no burst {unit}")

    body = f"""
<header class="top">
  <div>
    <div class="eyebrow">Backlink risk audit</div>
    <h1>{_e(title)}</h1>
    <div class="meta">{_e(period)} · generated {_e(generated.strftime("%d %b %Y %H:%M UTC"))} · toxlink {_e(__version__)}</div>
  </div>
</header>
<section class="summary">
  <p class="headline" id="summary">{_e(_summary_sentence(numbers, scored_n, diff))}</p>
  <div class="cards">{cards}</div>
  <div class="cards">{action_cards}</div>
</section>
<section class="grid2">
  <div class="panel"><h2>Risk distribution</h2><p class="lead">How many links fall in each 5-point risk bin, coloured by verdict.</p>{risk_html}</div>
  <div class="panel"><h2>Anchor-text mix</h2><p class="lead">Anchor categories by verdict; a natural profile is mostly branded, naked-URL and generic anchors.</p>{anchor_html}</div>
</section>
<section class="panel">
  <h2>Links first seen over time</h2>
  <p class="lead">New links per {unit}; {_e(bursts_note)}. A burst is a {unit} with more links than the median + 3 × the robust spread (1.4826 × MAD) of all {unit}s, at least {BURST_MIN_RATIO:g} × the median and at least {MIN_BURST_LINKS} links.</p>
  {time_html}
</section>
<section class="panel">
  <h2>Toxic share by TLD</h2><p class="lead">The {len(tlds)} top-level domains sending the most scored links (link counts in brackets).</p>
  {tld_html}
</section>
<section class="panel">
  <h2>Top toxic referring domains</h2>
  <p class="lead">Domains recommended for disavow or review, most urgent first, with the strongest reasons behind their scores.</p>
  {_domains_table(top, len(flagged))}
</section>
<section class="panel" id="disavow">
  <h2>Disavow file changes</h2>
  {_diff_section(diff, numbers)}
</section>
<section class="panel method">
  <h2>How to read this report</h2>
  <ul>
    <li><b>Risk</b> is the model's calibrated probability that a link is spam or part of a link scheme. <b>Toxic</b> links are above the disavow threshold, <b>review</b> links need a human look, <b>OK</b> links are left alone; links whose source URL cannot be used are <b>not scored</b>.</li>
    <li>Duplicate rows (the same source URL, target URL and anchor in several exports) are counted once.</li>
    <li>Anchor categories, first rule that matches: empty; naked URL (a URL or host name); branded (contains the target's name, e.g. <i>acmetools</i>); generic ("click here", "website", …); commercial (buying or money words such as "buy", "cheap", "casino"); other.</li>
    <li>Disavowing tells Google to ignore links; it does not remove them. Keep every earlier entry in the file you upload: each upload replaces the previous file.</li>
  </ul>
</section>
<footer>Generated offline by toxlink {_e(__version__)}. This file is self-contained: it loads nothing from the network.</footer>
"""
    # "</" inside the inlined library would end the <script> element early.
    plotlyjs = get_plotlyjs().replace("</script", "<\\/script")
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="toxlink {_e(__version__)}">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline' 'unsafe-eval'; style-src 'unsafe-inline'; img-src data: blob:; font-src data:">
<title>{_e(title)}</title>
<style>{_CSS}</style>
<script>{plotlyjs}</script>
</head>
<body>
<main>{body}</main>
</body>
</html>
"""


def write_report(path: str | os.PathLike, scored: pd.DataFrame, domains: pd.DataFrame, diff=None,
                 title: str | None = None, **kwargs) -> Path:
    """Build the report and write it to *path* atomically (temp file beside it + ``os.replace``).

    Either the complete report is at *path* or the previous file is untouched.
    Keyword arguments go to :func:`build_report`. Returns the path written.
    """
    return write_report_from(ReportAccumulator().update(scored), path, domains, diff=diff, title=title, **kwargs)


def write_report_from(acc: ReportAccumulator, path: str | os.PathLike, domains: pd.DataFrame, diff=None,
                      title: str | None = None, **kwargs) -> Path:
    """Write the report of an accumulator to *path* atomically, as :func:`write_report` does.

    Keyword arguments go to :meth:`ReportAccumulator.build`. Returns the path written.
    """
    from toxlink.outputs import atomic_write

    text = acc.build(domains, diff=diff, title=title, **kwargs)
    path = Path(path)
    with atomic_write(path, newline="\n") as fh:
        fh.write(text)
    return path


_CSS = """
:root { --ink:#1f2933; --muted:#6b7785; --line:#e3e7ec; --bg:#f5f7fa; --panel:#fff;
  --toxic:#c8423b; --review:#e9a23b; --ok:#4a9b6e; --rejected:#a3aab3; --accent:#2f5d8a; }
* { box-sizing:border-box; }
html { -webkit-print-color-adjust:exact; print-color-adjust:exact; }
body { margin:0; background:var(--bg); color:var(--ink); font:14px/1.5 -apple-system, BlinkMacSystemFont, "Segoe UI", Roboto, "Helvetica Neue", Arial, "DejaVu Sans", sans-serif; }
main { max-width:1180px; margin:0 auto; padding:28px 28px 40px; }
header.top { border-bottom:3px solid var(--accent); padding-bottom:14px; margin-bottom:20px; }
.eyebrow { text-transform:uppercase; letter-spacing:.12em; font-size:11px; font-weight:600; color:var(--accent); }
h1 { font-size:26px; margin:4px 0 4px; font-weight:650; letter-spacing:-.01em; }
h2 { font-size:17px; margin:0 0 4px; font-weight:650; }
.meta, .muted { color:var(--muted); }
.small { font-size:12px; }
.headline { font-size:15px; margin:0 0 14px; max-width:900px; }
.lead { color:var(--muted); margin:0 0 12px; font-size:13px; }
.cards { display:grid; grid-template-columns:repeat(auto-fit, minmax(150px, 1fr)); gap:12px; margin-bottom:12px; }
.card { background:var(--panel); border:1px solid var(--line); border-radius:8px; padding:12px 14px 10px; border-top:4px solid var(--accent); }
.card.toxic { border-top-color:var(--toxic); } .card.review { border-top-color:var(--review); }
.card.ok { border-top-color:var(--ok); } .card.muted-card { border-top-color:var(--rejected); }
.card .label { font-size:12px; color:var(--muted); font-weight:600; text-transform:uppercase; letter-spacing:.04em; }
.card .value { display:block; font-size:26px; font-weight:700; font-variant-numeric:tabular-nums; margin-top:2px; }
.card.toxic .value { color:var(--toxic); }
.card .note { font-size:12px; color:var(--muted); }
.small-cards .card .value { font-size:22px; }
.panel { background:var(--panel); border:1px solid var(--line); border-radius:8px; padding:18px 20px; margin-bottom:18px; }
.grid2 { display:grid; grid-template-columns:1fr 1fr; gap:18px; }
.grid2 .panel { margin-bottom:18px; min-width:0; }
@media (max-width: 900px) { .grid2 { grid-template-columns:1fr; } }
table.data { width:100%; border-collapse:collapse; font-size:13px; }
table.data th { text-align:left; font-size:11px; text-transform:uppercase; letter-spacing:.04em; color:var(--muted); border-bottom:2px solid var(--line); padding:6px 8px; }
table.data td { border-bottom:1px solid var(--line); padding:7px 8px; vertical-align:top; }
table.data tbody tr:nth-child(even) { background:#fafbfc; }
table.data .num { text-align:right; font-variant-numeric:tabular-nums; white-space:nowrap; }
table.compact { width:auto; min-width:50%; margin-top:8px; }
td.dom { font-weight:600; overflow-wrap:anywhere; min-width:190px; max-width:280px; }
td.reasons ul { margin:0; padding-left:16px; } td.reasons li { margin:0 0 2px; }
.risk { display:inline-block; min-width:44px; padding:1px 6px; border-radius:4px; font-weight:600;
  background:color-mix(in srgb, var(--toxic) calc(var(--r) * 100%), var(--ok)); color:#fff; text-align:center; }
.badge { display:inline-block; font-size:11px; font-weight:600; padding:2px 7px; border-radius:10px; background:#eef1f5; color:var(--ink); white-space:nowrap; margin-right:4px; }
.badge.disavow-domain, .badge.disavow-url { background:#fbe3e1; color:#9b2d27; }
.badge.review { background:#fcf0dc; color:#8a5a10; }
.badge.keep { background:#e2f2e8; color:#2d6b47; }
.badge.white { background:#e4ecf6; color:var(--accent); }
details { margin:6px 0; } summary { cursor:pointer; font-weight:600; }
ul.entries { columns:2; font-family:ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size:12px; word-break:break-all; }
.empty { color:var(--muted); font-style:italic; padding:24px 0; text-align:center; }
.method ul { margin:0; padding-left:18px; color:#3b4652; } .method li { margin-bottom:4px; }
footer { color:var(--muted); font-size:12px; text-align:center; margin-top:24px; }
@media print {
  body { background:#fff; font-size:12px; }
  main { max-width:none; padding:0; }
  .panel, .card { break-inside:avoid; page-break-inside:avoid; box-shadow:none; }
  .grid2 { grid-template-columns:1fr 1fr; }
  .modebar, .modebar-container { display:none !important; }
  details { display:block; } details > :not(summary) { display:block; }
  table.data tr { break-inside:avoid; }
  @page { margin:14mm 12mm; }
}
"""


def report_from_dir(scored_dir: str | os.PathLike, output: str | os.PathLike | None = None, title: str | None = None,
                    *, chunksize: int = 200_000) -> Path:
    """Rebuild the report of a ``toxlink score`` run from its output folder.

    Reads ``links.csv`` (*chunksize* rows at a time, into a :class:`ReportAccumulator`) and
    ``domains.csv`` (and ``disavow-diff.csv`` and ``disavow.txt`` when present) and writes
    ``report.html`` there, or to *output*.
    """
    from toxlink import schema as S
    from toxlink.disavow import ADDED, ALREADY_PRESENT, WHITELISTED

    d = Path(scored_dir)
    for name in ("links.csv", "domains.csv"):
        if not (d / name).is_file():
            raise FileNotFoundError(2, f"no {name} here: is this the output folder of `toxlink score`?", str(d / name))
    cols = [S.SOURCE_URL, S.TARGET_URL, S.ANCHOR, S.FIRST_SEEN, S.HOST, S.DOMAIN, S.RISK, S.BAND, S.REASONS,
            S.DUPLICATE_OF, S.ROW_ISSUE]
    # Streamed: the report only needs aggregates, so links.csv is never held whole.
    acc = ReportAccumulator()
    with pd.read_csv(d / "links.csv", usecols=lambda c: c in cols, dtype="string", keep_default_na=False,
                     na_values=[""], chunksize=chunksize) as reader:
        for scored in reader:
            scored[S.RISK] = pd.to_numeric(scored[S.RISK], errors="coerce")
            scored[S.FIRST_SEEN] = pd.to_datetime(scored[S.FIRST_SEEN], errors="coerce")
            scored[S.ANCHOR] = scored[S.ANCHOR].str.removeprefix("'")  # undo the spreadsheet neutralisation
            acc.update(scored)
    domains = pd.read_csv(d / "domains.csv", keep_default_na=False, na_values=[""])
    diff = None
    if (d / "disavow-diff.csv").is_file():
        rows = pd.read_csv(d / "disavow-diff.csv", dtype="string", keep_default_na=False)
        added = rows.loc[rows["status"] == ADDED, "entry"].tolist()
        existing = 0
        if (d / "disavow.txt").is_file():
            merged = (d / "disavow.txt").read_text(encoding="utf-8-sig").splitlines()
            # A merge that added nothing appended no block; an older toxlink block is the user's.
            existing = len(merged) - (len(_added_block(merged)) if added else 0)
        diff = DisavowDiff(
            added=added,
            already_present=rows.loc[rows["status"] == ALREADY_PRESENT, "entry"].tolist(),
            whitelisted=rows.loc[rows["status"] == WHITELISTED, "entry"].tolist(),
            existing_entries=existing,
            unit="lines",
        )
    return write_report_from(acc, Path(output) if output else d / "report.html", domains, diff=diff, title=title)


def _added_block(lines: list[str]) -> list[str]:
    """The trailing block a toxlink merge appended (from its dated comment to the end)."""
    for i in range(len(lines) - 1, -1, -1):
        if lines[i].startswith("# toxlink "):
            return lines[i:]
    return []
