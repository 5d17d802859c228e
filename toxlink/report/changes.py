"""The report's "Changes since the previous audit" section, from a changes table.

:func:`changes_section` turns the table of :func:`toxlink.compare.compare_tables` into one
self-contained HTML fragment (its own ``<section>``), which the page inserts at its
``${changes_html}`` placeholder. Kept apart from :mod:`toxlink.report.render` so that the
page's layout and this section change independently.
"""

from __future__ import annotations

import html
import os
from collections.abc import Sequence

import pandas as pd

from toxlink import schema as S
from toxlink.compare import (CHANGE, CHANGES, DOMAIN_LEVEL, LEVEL, LINK_LEVEL, LOST, NEW, RISK_AFTER, RISK_BEFORE,
                             VERDICT_AFTER, VERDICT_BEFORE, VERDICT_CHANGED, change_counts, compare_runs)

#: Domain actions that ask for the user's attention: a new domain with one is listed.
FLAGGED_ACTIONS = (S.DISAVOW_DOMAIN, S.DISAVOW_URL, S.REVIEW)
_LABELS = {NEW: "new", VERDICT_CHANGED: "verdict changed", LOST: "lost"}


def changes_section(changes: pd.DataFrame, previous: str = "", *, max_rows: int = 100) -> str:
    """The report section on what moved since the previous audit.

    Parameters
    ----------
    changes : DataFrame
        Columns :data:`toxlink.compare.CHANGE_COLUMNS`; not changed.
    previous : str
        How to name the previous audit (its folder), shown in the section's lead.
    max_rows : int
        Rows shown per table; the rest are counted and left to ``changes.csv``.

    Returns
    -------
    str
        A ``<section id="changes">`` element: counts per level and change (``<span
        id="changes-<level>-<change>" data-value="n">``), then the new flagged domains
        (``disavow-*`` or ``review``), the domains whose action changed and the lost domains.
    """
    counts = change_counts(changes)
    cards = "".join(
        f'<div class="card"><div class="label">{_e(level)}s {_e(_LABELS[change])}</div>'
        f'<span class="value" id="changes-{level}-{change}" data-value="{n}">{n:,}</span></div>'
        for level in (DOMAIN_LEVEL, LINK_LEVEL) for change in CHANGES for n in [counts[(level, change)]])
    domains = changes[changes[LEVEL] == DOMAIN_LEVEL]
    new_flagged = domains[(domains[CHANGE] == NEW) & domains[VERDICT_AFTER].isin(FLAGGED_ACTIONS)]
    tables = [
        ("New domains to disavow or review", "changes-new-flagged", new_flagged),
        ("Domains whose action changed", "changes-verdict-changed", domains[domains[CHANGE] == VERDICT_CHANGED]),
        ("Lost domains (in the previous audit, not in this one)", "changes-lost", domains[domains[CHANGE] == LOST]),
    ]
    body = "".join(f"<h3>{_e(title)}</h3>{_table(rows, table_id, max_rows)}" for title, table_id, rows in tables)
    since = f" ({_e(previous)})" if previous else ""
    return (f'<section class="panel" id="changes"><h2>Changes since the previous audit</h2>'
            f'<p class="lead">Referring domains and links that are new, lost, or judged differently than in the '
            f'previous audit{since}. A domain&#39;s verdict is its action, a link&#39;s its band; '
            f'<code>toxlink compare</code> writes every change to a CSV file.</p>'
            f'<div class="cards small-cards">{cards}</div>{body}</section>')


def _table(rows: pd.DataFrame, table_id: str, max_rows: int) -> str:
    """The domains of *rows* (changes rows) with their actions and risks before and after."""
    if not len(rows):
        return f'<p class="muted small" id="{table_id}">None.</p>'
    head = "".join(f'<th class="{css}">{_e(h)}</th>' if css else f"<th>{_e(h)}</th>" for h, css in _HEADINGS)
    body = "".join(
        "<tr>" + f'<td class="dom">{_e(r[S.DOMAIN])}</td>'
        + _action(r[VERDICT_BEFORE]) + _action(r[VERDICT_AFTER])
        + f'<td class="num">{_risk(r[RISK_BEFORE])}</td><td class="num">{_risk(r[RISK_AFTER])}</td></tr>'
        for r in rows.head(max_rows).to_dict("records"))
    more = len(rows) - max_rows
    foot = f'<p class="muted small">{more:,} more in the changes file of <code>toxlink compare</code>.</p>' \
        if more > 0 else ""
    return f'<table class="data" id="{table_id}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{foot}'


_HEADINGS: Sequence[tuple[str, str]] = (("domain", ""), ("action before", ""), ("action after", ""),
                                         ("risk before", "num"), ("risk after", "num"))


def _action(value) -> str:
    if _missing(value):
        return '<td><span class="muted">–</span></td>'
    return f'<td><span class="badge {_e(value)}">{_e(value)}</span></td>'


def _risk(value) -> str:
    return "–" if _missing(value) else f"{float(value):.3f}"


def _missing(value) -> bool:
    return value is None or (not isinstance(value, str) and pd.isna(value))


def _e(value) -> str:
    return "" if _missing(value) else html.escape(str(value), quote=True)


def previous_audit_section(previous: str | os.PathLike, current: str | os.PathLike) -> str:
    """:func:`changes_section` of the audit in the folder *current* against the one in
    *previous* (both ``toxlink score`` output folders, read by
    :func:`toxlink.compare.compare_runs`)."""
    return changes_section(compare_runs(previous, current), str(previous))
