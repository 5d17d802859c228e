"""The report's table of flagged referring domains: every one of them, as data the page's
script (``report.js``) shows in searchable, sortable, filterable views.

The rows go into the page as one JSON array (``<script type="application/json">``), not as
``<tr>`` elements: 10k domains are ~2 MB of JSON the browser parses in milliseconds,
and the script renders only the rows shown. Every value is text to the script, which
HTML-escapes it before it reaches the page; in the JSON, ``<``, ``>`` and ``&`` are
``\\u`` escapes, so no value can end the ``<script>`` element either.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import numpy as np
import pandas as pd

from toxlink import schema as S
from toxlink.report.aggregates import COUNTRY, tld_labels, top_toxic_domains

#: The columns every flagged-domains table has: (key, heading, kind). The kind tells the
#: script how to show and sort a cell (see report.js).
BASE_COLUMNS = (
    ("domain", "Referring domain", "domain"),
    ("tld", "TLD", "text"),
    ("action", "Action", "action"),
    (S.N_LINKS, "Links", "int"),
    (S.N_TOXIC, "Toxic", "int"),
    (S.TOXIC_SHARE, "Toxic share", "pct"),
    (S.MAX_RISK, "Max risk", "risk"),
    (S.TOXICITY, "Toxicity", "int"),
    ("why", "Why", "reasons"),
)
#: Per-domain facts shown when domains.csv has them (and any row has a value); a column a
#: roll-up does not carry is simply left out.
OPTIONAL_COLUMNS = (
    (S.DOMAIN_RATING, "DR", "num"),
    (S.DOMAIN_AUTHORITY, "DA", "num"),
    (S.TRUST_FLOW, "Trust Flow", "num"),
    (S.DOMAIN_TRAFFIC, "Traffic", "num"),
    (S.N_DOFOLLOW, "Dofollow", "int"),
    (S.N_NOFOLLOW, "Nofollow", "int"),
    (S.N_LOST, "Lost", "int"),
    (S.FIRST_SEEN, "First seen", "text"),
    (S.LAST_SEEN, "Last seen", "text"),
    (COUNTRY, "Country", "text"),
    (S.LANGUAGES, "Languages", "text"),
    (S.TOP_ANCHORS, "Top anchors", "text"),
    (S.N_TARGET_PAGES, "Target pages", "int"),
    (S.EXAMPLE_URL, "Example URL", "text"),
)
#: Reasons shown per domain (the strongest first).
MAX_REASONS = 4


def table_data(domains: pd.DataFrame) -> dict:
    """The flagged domains of a roll-up as the page's script reads them.

    Parameters
    ----------
    domains : DataFrame, shape (d, ...)
        The roll-up as :func:`~toxlink.report.aggregates.rollup_frame` gives it.

    Returns
    -------
    dict with ``columns`` (list of ``{"key", "label", "kind"}``: :data:`BASE_COLUMNS`, then
    the :data:`OPTIONAL_COLUMNS` the roll-up has) and ``rows`` (one list of cell values per
    flagged domain, in the columns' order, most urgent first as
    :func:`~toxlink.report.aggregates.top_toxic_domains` orders them). Cells are JSON
    values: ``domain`` is ``[domain, host or null]``, ``action`` is ``[action,
    whitelisted, protected, URL entries]``, ``why`` a list of reasons, numbers are numbers
    or ``null``.
    """
    flagged = top_toxic_domains(domains, top=len(domains))
    optional = [c for c in OPTIONAL_COLUMNS if c[0] in flagged.columns and flagged[c[0]].notna().any()]
    columns = [*BASE_COLUMNS, *optional]
    cells = [_cells(flagged, key, kind) for key, _, kind in columns]
    rows = [list(r) for r in zip(*cells)] if len(flagged) else []
    return {"columns": [{"key": k, "label": label, "kind": kind} for k, label, kind in columns], "rows": rows}


def _cells(d: pd.DataFrame, key: str, kind: str) -> list:
    """The cells of column *key* for every row of *d* (JSON values)."""
    n = len(d)
    if key == "domain":
        dom = _text(d[S.DOMAIN])
        host = _text(d[S.HOST]) if S.HOST in d.columns else [None] * n
        # The disavow unit only needs showing when it is not the domain itself (or its www.).
        return [[a, h if h and h not in (a, f"www.{a}") else None] for a, h in zip(dom, host)]
    if key == "tld":
        return [str(t) for t in tld_labels(d[S.DOMAIN].astype("string").fillna(""))] if n else []
    if key == "action":
        flags = [d[c].astype(bool).tolist() if c in d.columns else [False] * n for c in (S.WHITELISTED, S.PROTECTED)]
        urls = [_n_entries(v) if a == S.DISAVOW_URL else 0
                for a, v in zip(_text(d[S.ACTION]), d.get(S.DISAVOW_ENTRIES, pd.Series([None] * n)).tolist())]
        return [[a, w, p, u] for a, w, p, u in zip(_text(d[S.ACTION]), *flags, urls)]
    if key == "why":
        reasons = d[S.TOP_REASONS] if S.TOP_REASONS in d.columns else pd.Series([""] * n)
        return [[x.strip() for x in str(r or "").split(";") if x.strip()][:MAX_REASONS]
                for r in reasons.astype("string").fillna("").tolist()]
    if key == S.TOXICITY and key not in d.columns:  # a roll-up from before the 0-100 column
        return _numbers(pd.to_numeric(d[S.MAX_RISK], errors="coerce") * 100, digits=0)
    if key not in d.columns:
        return [None] * n
    if kind in ("int", "num", "pct", "risk"):
        return _numbers(pd.to_numeric(d[key], errors="coerce"), digits=0 if kind == "int" else 3)
    if pd.api.types.is_datetime64_any_dtype(d[key]):
        return [None if pd.isna(v) else v.strftime("%Y-%m-%d") for v in d[key]]
    return _text(d[key])


def _text(values: pd.Series) -> list:
    return [None if v is None or (not isinstance(v, str) and pd.isna(v)) else str(v) for v in values.tolist()]


def _numbers(values: pd.Series, digits: int) -> list:
    arr = values.to_numpy(float, na_value=np.nan)
    if digits == 0:
        return [None if not np.isfinite(v) else int(round(v)) for v in arr]
    return [None if not np.isfinite(v) else round(float(v), digits) for v in arr]


def _n_entries(value) -> int:
    if isinstance(value, str):
        return len([x for x in value.split(S.LIST_SEPARATOR) if x.strip()])
    return len(value) if isinstance(value, (list, tuple, np.ndarray)) else 0


def json_for_script(value) -> str:
    """*value* as JSON safe inside a ``<script>`` element of an HTML page: ``<``, ``>``,
    ``&`` and the two JavaScript line separators are written as ``\\u`` escapes."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    for ch in ("<", ">", "&", "\u2028", "\u2029"):
        text = text.replace(ch, f"\\u{ord(ch):04x}")
    return text


def views_html(data: dict, review_count: int) -> str:
    """The markup of the table's two views (all flagged domains; the review queue), with
    their controls: the script fills the tables from ``#domains-data``."""
    rows = data["rows"]
    if not rows:
        return '<p class="empty">No referring domain has toxic links or a disavow / review recommendation.</p>'
    controls = ('<div class="controls"><input type="search" class="q" placeholder="Search domains and reasons" '
                'aria-label="Search domains and reasons">{action}<select class="tld" aria-label="TLD">'
                '<option value="">All TLDs</option></select><span class="count muted small"></span></div>')
    action = ('<select class="act" aria-label="Action"><option value="">All actions</option>'
              + "".join(f'<option value="{a}">{a}</option>' for a in S.ACTIONS) + "</select>")
    view = ('<div class="domain-view{active}" id="{vid}" data-action="{only}">' + "{controls}"
            '<div class="table-wrap"><table class="data domains" id="{tid}"><thead></thead><tbody></tbody></table></div>'
            '<button type="button" class="more" hidden></button></div>')
    tabs = ('<div class="tabs" role="tablist">'
            f'<button type="button" class="tab active" data-view="view-all">All flagged domains ({len(rows):,})</button>'
            f'<button type="button" class="tab" data-view="view-review">Review queue ({review_count:,})</button></div>')
    noscript = ("<noscript><p class=\"muted\">The domain tables need JavaScript; domains.csv of the run lists every "
                "domain with its action.</p></noscript>")
    return (tabs + noscript
            + view.format(active=" active", vid="view-all", only="", controls=controls.format(action=action),
                          tid="domains-table")
            + view.format(active="", vid="view-review", only=S.REVIEW, controls=controls.format(action=""),
                          tid="review-table")
            + f'<script type="application/json" id="domains-data">{json_for_script(data)}</script>')


def review_count(data: dict) -> int:
    """Rows of *data* whose action is review (the review queue's size)."""
    i = [c["key"] for c in data["columns"]].index("action")
    return sum(1 for r in data["rows"] if r[i][0] == S.REVIEW)


def columns_of(data: dict) -> Sequence[str]:
    """The keys of *data*'s columns, in order."""
    return [c["key"] for c in data["columns"]]
