"""What the report shows about the links, aggregated chunk by chunk: :class:`ReportAccumulator`.

The report only shows aggregates of the links table (counts per band, risk bin, TLD,
anchor category, first-seen day and target host), so a 1M-link export never has to be held
in memory. The public functions (:func:`tld_table`, :func:`anchor_mix`, ...) give the same
tables for one scored table at once.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping

import numpy as np
import pandas as pd

from toxlink import schema as S
from toxlink import urls
from toxlink.report.anchors import report_categories
from toxlink.report.diff import DisavowDiff

TOXIC, REVIEW, OK, REJECTED = S.BANDS
#: Other names a roll-up may use for the same columns (read as the canonical ones).
ROLLUP_ALIASES = {"links": S.N_LINKS, "toxic_links": S.N_TOXIC, "review_links": S.N_REVIEW, "reasons": S.TOP_REASONS}

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


def counted_links(scored: pd.DataFrame) -> pd.DataFrame:
    """The rows counted in the report: every row that is not a duplicate of an earlier one."""
    if S.DUPLICATE_OF in scored.columns:
        first = scored[S.DUPLICATE_OF].isna().to_numpy()
        if not first.all():  # filtering copies every column: skip it when nothing is dropped
            return scored[first]
    return scored


def rollup_frame(domains: pd.DataFrame) -> pd.DataFrame:
    """The roll-up as the report reads it: :data:`ROLLUP_ALIASES` renamed to the roll-up's
    own column names (only where the canonical column is absent), the ``whitelisted`` and
    ``protected`` flags as bool and the counts and risks as numbers (NaN where missing;
    risks rounded as the CSV outputs write them), whether it is the roll-up itself or text
    read back from ``domains.csv``."""
    rename = {a: c for a, c in ROLLUP_ALIASES.items() if a in domains.columns and c not in domains.columns}
    out = domains.rename(columns=rename) if rename else domains
    typed = {c: out[c].map(_truthy).astype(bool) for c in (S.WHITELISTED, S.PROTECTED)
             if c in out.columns and out[c].dtype != bool}
    typed.update({c: pd.to_numeric(out[c], errors="coerce").astype("float64") for c in _ROLLUP_NUMBERS
                  if c in out.columns and not pd.api.types.is_numeric_dtype(out[c])})
    # Risks as domains.csv gives them: the report ranks sites alike from the run or the file.
    typed.update({c: pd.to_numeric(typed.get(c, out[c]), errors="coerce").round(S.RISK_DECIMALS)
                  for c in S.ROUNDED if c in out.columns})
    return out.assign(**typed) if typed else out


_ROLLUP_NUMBERS = (S.N_LINKS, S.N_TOXIC, S.N_REVIEW, S.TOXIC_SHARE, S.MAX_RISK, S.MEAN_RISK)


def _truthy(value) -> bool:
    """A roll-up flag read from a frame or a CSV (``True``, ``"True"``, 1), NA as False."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return False
    return str(value).strip().lower() in ("true", "1", "yes") if isinstance(value, str) else bool(value)


def _band_of(rows: pd.DataFrame) -> pd.Series:
    """The band column as strings, a missing band read as ``rejected`` (nothing to show)."""
    return rows[S.BAND].astype("string").fillna(REJECTED)


# --- counts of one chunk ------------------------------------------------------------------
# Each takes counted rows and their bands and returns {key: rows}, keys as plain Python
# values so the accumulator pickles small (Dask). What depends on a value alone (a TLD, an
# anchor's category, a URL's host) is worked out once per distinct value.

#: Risk histogram bins: 20 bins of width 0.05 (the last one closed: risk 1.0 is counted).
RISK_EDGES = np.linspace(0.0, 1.0, 21)
HIST_BANDS = (OK, REVIEW, TOXIC)  # stacking order, bottom up


def _risk_bins(rows: pd.DataFrame, band: pd.Series) -> dict[str, np.ndarray]:
    """Rows per risk bin (:data:`RISK_EDGES`) for each scored band, shape (20,) int64 each."""
    risk = (pd.to_numeric(rows[S.RISK], errors="coerce").to_numpy(float, na_value=np.nan) if S.RISK in rows.columns
            else np.full(len(rows), np.nan))
    # As links.csv gives them, so that a report rebuilt from it (toxlink report) bins alike.
    risk = np.round(risk, S.RISK_DECIMALS)
    scored = np.isfinite(risk)
    return {b: np.histogram(np.clip(risk[band.eq(b).to_numpy(bool) & scored], 0, 1), bins=RISK_EDGES)[0].astype(np.int64)
            for b in HIST_BANDS}


def _tld_counts(rows: pd.DataFrame, band: pd.Series) -> dict[tuple[str, str], int]:
    """Scored (not rejected) rows per (TLD of the referring domain, band)."""
    keep = band.ne(REJECTED)
    domain = rows[S.DOMAIN] if S.DOMAIN in rows.columns else urls.domains_of(rows[S.HOST])
    per_domain = pd.DataFrame({"domain": domain.astype("string")[keep], "band": band[keep]}).value_counts(
        sort=False, dropna=False)
    if per_domain.empty:
        return {}
    tld = tld_labels(per_domain.index.get_level_values("domain"))
    return per_domain.groupby([tld, per_domain.index.get_level_values("band")], sort=False).sum().to_dict()


def tld_labels(domains) -> np.ndarray:
    """``.com``, ``.co.uk`` (ICANN suffixes), ``(IP address)`` or ``(none)`` for each of
    *domains* (any sequence of str, shape (n,)); an object array of shape (n,)."""
    table = urls.host_table(domains)
    suffix = table["suffix"].where(~table["is_ip"], "(IP address)").replace("", "(none)")
    label = suffix.where(suffix.str.startswith("("), "." + suffix)
    return pd.Series(domains, dtype="string").map(label).fillna("(none)").to_numpy(dtype=object)


def _anchor_counts(category: pd.Series, band: pd.Series) -> dict[tuple[str, str], int]:
    """Rows per (anchor category, band), from the rows' :func:`report_categories` (a table
    without an anchor column counts as all ``unknown``)."""
    pairs = pd.DataFrame({"category": category, "band": band}).value_counts(sort=False, dropna=False)
    return {(str(c), b): int(n) for (c, b), n in pairs.items()}


#: Characters of an anchor text kept for the top-anchors table (longer ones are cut).
ANCHOR_TEXT_CHARS = 80


def _anchor_text_counts(rows: pd.DataFrame, category: pd.Series, band: pd.Series) -> dict[tuple[str, str, str], int]:
    """Rows per (anchor text, anchor category, band) of the rows with a non-empty anchor:
    the text trimmed, its white space collapsed, lower-cased (SEO tools group anchors
    without case) and cut to :data:`ANCHOR_TEXT_CHARS`."""
    if S.ANCHOR not in rows.columns:
        return {}
    text = (rows[S.ANCHOR].astype("string").str.strip().str.replace(r"\s+", " ", regex=True).str.lower()
            .str.slice(0, ANCHOR_TEXT_CHARS))
    known = (text.notna() & text.ne("")).to_numpy(bool)
    if not known.any():
        return {}
    counts = pd.DataFrame({"t": text[known], "c": category[known], "band": band[known]}).value_counts(sort=False)
    return {(str(t), str(c), str(b)): int(n) for (t, c, b), n in counts.items()}


# --- the link profile: follow state, authority, language / country --------------------------
#: Columns some exports or runs carry with the referring page's country.
COUNTRY = "country"
DOFOLLOW, NOFOLLOW = "dofollow", "nofollow"
#: The authority metrics the report charts (links.csv column -> label), when the export has them.
AUTHORITY_METRICS = {S.DOMAIN_RATING: "Domain rating / authority (Ahrefs DR, Moz DA)",
                     S.PAGE_RATING: "Page rating (Ahrefs UR, Moz PA)",
                     S.TRUST_FLOW: "Majestic Trust Flow"}
#: Authority bins: 0-9, 10-19, ..., 90-100 (100 falls in the last one).
AUTHORITY_BINS = 10
PLACE_COLUMNS = (S.LANGUAGE, COUNTRY)


def _flags(values: pd.Series) -> np.ndarray:
    """A flag column as True / False / None, whether a boolean column of the run or its
    text read back from links.csv ("True", "false", "1", "")."""
    if pd.api.types.is_bool_dtype(values.dtype):
        return values.astype("boolean").to_numpy(dtype=object, na_value=None)
    text = values.astype("string").str.strip().str.lower()
    return text.map({"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}).to_numpy(
        dtype=object, na_value=None)


def _follow_counts(rows: pd.DataFrame, band: pd.Series) -> dict[tuple[str, str], int]:
    """Rows per (dofollow / nofollow, band). A link is nofollow when any of its rel hints
    (nofollow, ugc, sponsored) says so: Google then treats it as a hint not to pass weight.
    Rows whose nofollow flag is missing are not counted (the export does not say)."""
    if S.NOFOLLOW not in rows.columns:
        return {}
    nofollow = _flags(rows[S.NOFOLLOW])
    known = np.array([v is not None for v in nofollow], dtype=bool)
    hint = np.array([v is True for v in nofollow], dtype=bool)
    for col in (S.UGC, S.SPONSORED):
        if col in rows.columns:
            hint |= np.array([v is True for v in _flags(rows[col])], dtype=bool)
    state = np.where(hint, NOFOLLOW, DOFOLLOW)[known]
    return pd.DataFrame({"state": state, "band": band.to_numpy(dtype=object)[known]}).value_counts(sort=False).to_dict()


def _authority_counts(rows: pd.DataFrame, band: pd.Series) -> dict[tuple[str, int, str], int]:
    """Rows per (metric, bin, band) for each metric of :data:`AUTHORITY_METRICS` the rows
    have; bin ``k`` holds values in [10k, 10k + 10), 100 in the last bin."""
    out: dict[tuple[str, int, str], int] = {}
    for metric in AUTHORITY_METRICS:
        if metric not in rows.columns:
            continue
        value = pd.to_numeric(rows[metric], errors="coerce").to_numpy(float, na_value=np.nan)
        known = np.isfinite(value)
        if not known.any():
            continue
        k = np.clip(value[known] // (100 / AUTHORITY_BINS), 0, AUTHORITY_BINS - 1).astype(np.int64)
        counts = pd.DataFrame({"k": k, "band": band.to_numpy(dtype=object)[known]}).value_counts(sort=False)
        out.update({(metric, int(b), str(bd)): int(n) for (b, bd), n in counts.items()})
    return out


def _place_counts(rows: pd.DataFrame, band: pd.Series) -> dict[tuple[str, str, str], int]:
    """Rows per (column, value, band) for the language and country columns the rows have;
    values trimmed and lower-cased, empty ones not counted."""
    out: dict[tuple[str, str, str], int] = {}
    for col in PLACE_COLUMNS:
        if col not in rows.columns:
            continue
        value = rows[col].astype("string").str.strip().str.lower()
        known = (value.notna() & value.ne("")).to_numpy(bool)
        if known.any():
            counts = pd.DataFrame({"v": value[known], "band": band[known]}).value_counts(sort=False)
            out.update({(col, str(v), str(bd)): int(n) for (v, bd), n in counts.items()})
    return out


# Band key of a dated row without a band: counted in ``count``, in no band column.
_NO_BAND = ""


def _day_counts(first_seen: pd.Series, bands: pd.Series | None = None) -> dict[tuple[int, str], int]:
    """Dated rows per (day, band), the day as days since 1970-01-01 (wall-clock date of a
    tz-aware timestamp). Days are the finest grain the timeline needs: weeks or months, and
    which of the two, are only decided once every day is known."""
    dates = pd.to_datetime(first_seen, errors="coerce")
    if dates.dt.tz is not None:
        dates = dates.dt.tz_localize(None)
    dated = dates.notna()
    day = dates[dated].dt.normalize().to_numpy().astype("datetime64[D]").astype(np.int64)
    band = _NO_BAND if bands is None else bands[dated].astype("string").fillna(_NO_BAND).to_numpy(dtype=object)
    return pd.DataFrame({"day": day, "band": band}).value_counts(sort=False).to_dict()


def _target_counts(rows: pd.DataFrame) -> dict[str, int]:
    """Rows per target host, in order of first appearance."""
    per_url = rows[S.TARGET_URL].astype("string").value_counts(sort=False)
    hosts = urls.hosts_of(pd.Series(per_url.index, dtype="string"))
    return per_url.groupby(hosts.to_numpy(dtype=object, na_value=None), sort=False).sum().to_dict()


# --- tables drawn from the counts ---------------------------------------------------------
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


def _anchor_frame(counts: Mapping[tuple[str, str], int]) -> pd.DataFrame:
    if not counts:
        return pd.DataFrame(columns=["links", *S.BANDS], index=pd.Index([], name="category"), dtype=np.int64)
    ct = _crosstab(counts).reindex(columns=list(S.BANDS), fill_value=0)
    ct.columns.name = None
    ct.insert(0, "links", ct.sum(axis=1))
    ct.index.name = "category"
    return ct[ct["links"] > 0].sort_values("links", ascending=False)


def _band_table(counts: Mapping[tuple[str, str], int], name: str, order=None, keep_empty: bool = False) -> pd.DataFrame:
    """Counts keyed (key, band) as a table: index *name* (in *order*, else by links
    descending then key), ``links`` then one column per band of :data:`schema.BANDS`.
    Keys of *order* without links are dropped unless *keep_empty*."""
    cols = ["links", *S.BANDS]
    if not counts:
        return pd.DataFrame(columns=cols, index=pd.Index([], name=name), dtype=np.int64)
    ct = _crosstab(counts).reindex(columns=list(S.BANDS), fill_value=0)
    ct.columns.name = None
    ct.insert(0, "links", ct.sum(axis=1))
    if order is not None:
        ct = ct.reindex([k for k in order if keep_empty or k in ct.index], fill_value=0)
    else:  # ties broken by key, so that the order never depends on the chunking
        ct = ct.assign(_k=ct.index).sort_values(["links", "_k"], ascending=[False, True]).drop(columns="_k")
    ct.index.name = name
    return ct.astype(np.int64)


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


def _headline(n_rows: int, n_counted: int, bands: Mapping[str, int], domains: pd.DataFrame,
              diff: DisavowDiff | None) -> dict[str, int]:
    """:func:`headline_numbers` from the row counts and the links per band."""
    domains = rollup_frame(domains)
    action = domains[S.ACTION].astype("string").value_counts() if S.ACTION in domains.columns else pd.Series(dtype=int)
    white = domains[S.WHITELISTED].sum() if S.WHITELISTED in domains.columns else 0
    out = {
        "links": int(n_counted),
        "duplicates": int(n_rows - n_counted),
        "domains": int(len(domains)),
        **{b: int(bands.get(b, 0)) for b in S.BANDS},
        "disavow-domains": int(action.get(S.DISAVOW_DOMAIN, 0)),
        "disavow-urls": int(action.get(S.DISAVOW_URL, 0)),
        "review-domains": int(action.get(S.REVIEW, 0)),
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


#: The columns the report reads from a scored chunk (and from links.csv).
REPORT_COLUMNS = (S.DUPLICATE_OF, S.ROW_ISSUE, S.SOURCE_URL, S.TARGET_URL, S.ANCHOR, S.FIRST_SEEN,
                   S.HOST, S.DOMAIN, S.RISK, S.BAND, S.REASONS, S.ANCHOR_CATEGORY, S.NOFOLLOW, S.UGC, S.SPONSORED,
                   *AUTHORITY_METRICS, *PLACE_COLUMNS)


class ReportAccumulator:
    """Everything the report shows about the links, aggregated chunk by chunk.

    The report only shows aggregates of the links table, so a 1M-link export never has to
    be held in memory: feed the scored links in chunks (any chunking, in row order), or
    accumulate partitions separately (e.g. one per Dask worker) and :meth:`merge` them,
    then render the report (:func:`toxlink.report.build_report_from`). ``build_report`` is
    exactly ``build_report_from(ReportAccumulator().update(scored), domains, ...)``, so the
    HTML is the same byte for byte whichever way the rows arrived.

    >>> acc = ReportAccumulator()                                   # doctest: +SKIP
    >>> for chunk in scored_chunks:                                 # doctest: +SKIP
    ...     acc.update(chunk)
    >>> html = build_report_from(acc, domains, diff=diff)           # doctest: +SKIP

    The state grows with the number of distinct days, TLDs, bands and target hosts, never
    with the number of links (:meth:`sizes`):

    Attributes
    ----------
    n_rows : int
        Rows seen, duplicates included.
    n_counted : int
        Rows counted (not a duplicate of an earlier row).
    bands : Counter of str
        Counted links per band (a missing band is ``rejected``).
    risk_bins : dict of str to ndarray, shape (20,)
        Counted links per risk bin of width 0.05, for each scored band (ok, review, toxic).
    tlds : Counter of (str, str)
        Counted, scored links per (TLD of the referring domain, band).
    anchors : Counter of (str, str)
        Counted links per (anchor category, band) (:func:`anchor_categories`).
    days : Counter of (int, str)
        Counted links with a first-seen date per (day as days since 1970-01-01, band):
        weekly or monthly periods and bursts depend on the whole date range, so they are
        derived from days when the report is rendered (:meth:`timeline`).
    targets : Counter of str
        Counted links per target host, in order of first appearance (the title names the
        most linked one; ties go to the first seen, as ``most_common`` orders them).
    follow : Counter of (str, str)
        Counted links whose nofollow flag is known per (dofollow / nofollow, band).
    authority : Counter of (str, int, str)
        Counted links per (metric of :data:`AUTHORITY_METRICS`, bin 0-9, band).
    places : Counter of (str, str, str)
        Counted links per (``language`` or ``country``, value, band).
    """

    def __init__(self):
        self.n_rows = 0
        self.n_counted = 0
        self.bands: Counter[str] = Counter()
        self.risk_bins: dict[str, np.ndarray] = {b: np.zeros(len(RISK_EDGES) - 1, np.int64) for b in HIST_BANDS}
        self.tlds: Counter[tuple[str, str]] = Counter()
        self.anchors: Counter[tuple[str, str]] = Counter()
        self.anchor_texts: Counter[tuple[str, str, str]] = Counter()
        self.days: Counter[tuple[int, str]] = Counter()
        self.targets: Counter[str] = Counter()
        self.follow: Counter[tuple[str, str]] = Counter()
        self.authority: Counter[tuple[str, int, str]] = Counter()
        self.places: Counter[tuple[str, str, str]] = Counter()

    def __repr__(self) -> str:
        return f"ReportAccumulator(n_rows={self.n_rows}, n_counted={self.n_counted}, sizes={self.sizes()})"

    def update(self, scored: pd.DataFrame) -> "ReportAccumulator":
        """Add a chunk of scored links (same columns as ``build_report``'s *scored*).

        Chunks must arrive in row order only for the title's tie-break between equally
        linked target hosts; every count is order-free. Returns *self*.
        """
        # Only these columns are read; filtering a 45-column frame costs more than the counting.
        rows = counted_links(scored[[c for c in REPORT_COLUMNS if c in scored.columns]])
        self.n_rows += len(scored)
        if rows.empty:
            return self
        self.n_counted += len(rows)
        band = _band_of(rows)
        self.bands.update(band.value_counts(sort=False).to_dict())
        for b, counts in _risk_bins(rows, band).items():
            self.risk_bins[b] += counts
        self.tlds.update(_tld_counts(rows, band))
        category = report_categories(rows)  # once per chunk: categorising anchors is the costly part
        self.anchors.update(_anchor_counts(category, band))
        self.anchor_texts.update(_anchor_text_counts(rows, category, band))
        if S.FIRST_SEEN in rows.columns:
            self.days.update(_day_counts(rows[S.FIRST_SEEN], band))
        if S.TARGET_URL in rows.columns:
            self.targets.update(_target_counts(rows))
        self.follow.update(_follow_counts(rows, band))
        self.authority.update(_authority_counts(rows, band))
        self.places.update(_place_counts(rows, band))
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
        for name in ("bands", "tlds", "anchors", "anchor_texts", "days", "targets", "follow", "authority", "places"):
            getattr(self, name).update(getattr(other, name))
        return self

    def sizes(self) -> dict[str, int]:
        """Number of stored entries per aggregate (what the memory used depends on)."""
        return {
            "bands": len(self.bands),
            "risk_bins": sum(len(v) for v in self.risk_bins.values()),
            "tlds": len(self.tlds),
            "anchors": len(self.anchors),
            "anchor_texts": len(self.anchor_texts),
            "days": len(self.days),
            "targets": len(self.targets),
            "follow": len(self.follow),
            "authority": len(self.authority),
            "places": len(self.places),
        }

    def title(self) -> str:
        """The default title: "Backlink audit — <most linked target host>"."""
        if not self.targets:
            return "Backlink audit"
        return f"Backlink audit — {self.targets.most_common(1)[0][0]}"

    def tld_table(self, top: int = 12) -> pd.DataFrame:
        """:func:`tld_table` of the rows seen."""
        return _tld_frame(self.tlds, top)

    def anchor_mix(self) -> pd.DataFrame:
        """:func:`anchor_mix` of the rows seen."""
        return _anchor_frame(self.anchors)

    def top_anchors(self, top: int = 20) -> pd.DataFrame:
        """The *top* most frequent anchor texts (ties alphabetical): index ``anchor``,
        columns ``category`` (the category most of its links have; ``""`` when unknown),
        ``links`` and one per band of :data:`schema.BANDS`."""
        cols = ["category", "links", *S.BANDS]
        if not self.anchor_texts:
            return pd.DataFrame(columns=cols, index=pd.Index([], name="anchor"))
        frame = pd.DataFrame([(t, c, b, n) for (t, c, b), n in self.anchor_texts.items()],
                             columns=["anchor", "category", "band", "n"])
        per_band = frame.pivot_table(index="anchor", columns="band", values="n", aggfunc="sum", fill_value=0)
        per_band = per_band.reindex(columns=list(S.BANDS), fill_value=0)
        per_band.columns.name = None
        per_band.insert(0, "links", per_band.sum(axis=1))
        by_category = frame.groupby(["anchor", "category"])["n"].sum().reset_index()
        by_category = by_category.sort_values(["anchor", "n", "category"], ascending=[True, False, True])
        per_band.insert(0, "category", by_category.drop_duplicates("anchor").set_index("anchor")["category"])
        per_band = per_band.reset_index().sort_values(["links", "anchor"], ascending=[False, True])
        return per_band.head(top).set_index("anchor")

    def timeline(self, freq: str | None = None) -> pd.DataFrame:
        """:func:`first_seen_timeline` of the rows seen, with one column per band."""
        return _timeline_from_days(self.days, True, freq)

    def follow_table(self) -> pd.DataFrame:
        """Links per follow state: index ``dofollow`` / ``nofollow`` (those seen), columns
        ``links`` and one per band of :data:`schema.BANDS`; empty when no link's nofollow
        flag is known."""
        return _band_table(self.follow, "state", order=(DOFOLLOW, NOFOLLOW))

    def authority_tables(self) -> dict[str, pd.DataFrame]:
        """For each metric of :data:`AUTHORITY_METRICS` the links have: links per bin,
        indexed by the bin's label ("0-9", ..., "90-100", every bin present), columns
        ``links`` and one per band."""
        labels = [f"{10 * k}-{10 * k + 9}" if k < AUTHORITY_BINS - 1 else f"{10 * k}-100" for k in range(AUTHORITY_BINS)]
        out = {}
        for metric in AUTHORITY_METRICS:
            counts = {(labels[k], band): n for (m, k, band), n in self.authority.items() if m == metric}
            if counts:
                out[metric] = _band_table(counts, "bin", order=labels, keep_empty=True)
        return out

    def place_table(self, column: str, top: int = 12) -> pd.DataFrame:
        """Links per value of *column* (``language`` or ``country``), the *top* most
        frequent (the rest summed as "other"), columns ``links`` and one per band; empty
        when no link has one."""
        counts = {(v, band): n for (c, v, band), n in self.places.items() if c == column}
        table = _band_table(counts, column)
        if len(table) > top:
            rest = table.iloc[top - 1:].sum().rename("(other)")
            table = pd.concat([table.iloc[:top - 1], rest.to_frame().T])
            table.index.name = column
        return table

    def first_seen_range(self) -> tuple[pd.Timestamp, pd.Timestamp] | None:
        """The first and the last first-seen day of the rows seen, ``None`` without dates."""
        if not self.days:
            return None
        first, last = (f(d for d, _ in self.days) for f in (min, max))
        return pd.Timestamp(np.datetime64(first, "D")), pd.Timestamp(np.datetime64(last, "D"))

    def headline(self, domains: pd.DataFrame, diff: DisavowDiff | None = None) -> dict[str, int]:
        """:func:`headline_numbers` of the rows seen."""
        return _headline(self.n_rows, self.n_counted, self.bands, domains, diff)


# --- the same tables for one scored table -------------------------------------------------
def band_counts(scored: pd.DataFrame) -> dict[str, int]:
    """Links per band (duplicates excluded), every band in :data:`schema.BANDS` present."""
    bands = _band_of(counted_links(scored)).value_counts()
    return {b: int(bands.get(b, 0)) for b in S.BANDS}


def tld_table(scored: pd.DataFrame, top: int = 12) -> pd.DataFrame:
    """Scored links per ICANN suffix (TLD) of the referring domain, the *top* largest.

    Duplicates and rejected rows are excluded. IP-address hosts are grouped as
    ``(IP address)``. Suffixes are looked up once per unique domain.

    Returns
    -------
    DataFrame indexed by ``tld`` with ``links``, one count column per scored band
    (toxic, review, ok) and ``toxic_share`` (toxic / links), sorted by ``links`` descending.
    """
    rows = counted_links(scored)
    return _tld_frame(_tld_counts(rows, _band_of(rows)), top)


def anchor_mix(scored: pd.DataFrame) -> pd.DataFrame:
    """Links per anchor category (duplicates excluded) and band, largest category first.

    Categories (:func:`anchor_categories`) with no links are dropped.
    """
    rows = counted_links(scored)
    return _anchor_frame(_anchor_counts(report_categories(rows), _band_of(rows)))


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


def headline_numbers(scored: pd.DataFrame, domains: pd.DataFrame, diff: DisavowDiff | None = None) -> dict[str, int]:
    """The numbers of the report's header cards, keyed by their element id without ``n-``.

    ``links`` counts every non-duplicate row (rejected ones included); ``domains`` is the
    number of rows of the roll-up; the ``disavow-*``/``review-domains`` counts come from its
    ``action`` column; ``diff-*`` only with a *diff*.
    """
    counted = counted_links(scored)
    return _headline(len(scored), len(counted), band_counts(counted), domains, diff)


def top_toxic_domains(domains: pd.DataFrame, top: int = 30) -> pd.DataFrame:
    """Referring domains to act on, most urgent first.

    Domains whose action is a disavow or a review, or that have toxic links (including
    whitelisted ones, shown so the reader sees what the whitelist protects), ordered by
    action (disavow-domain, disavow-url, review, keep), then ``max_risk``, then
    ``n_toxic``, both descending.
    """
    domains = rollup_frame(domains)
    if domains.empty:
        return domains
    action = domains[S.ACTION].astype("string")
    toxic = pd.to_numeric(domains.get(S.N_TOXIC, 0), errors="coerce").fillna(0)
    keep = action.isin(S.ACTIONS[:3]).fillna(False) | (toxic > 0)
    sel = domains[keep.to_numpy()].copy()
    sel["_rank"] = sel[S.ACTION].astype("string").map({a: i for i, a in enumerate(S.ACTIONS)}).fillna(len(S.ACTIONS)).astype(int)
    sel = sel.sort_values(["_rank", S.MAX_RISK, S.N_TOXIC], ascending=[True, False, False], kind="stable")
    return sel.drop(columns="_rank").head(top)
