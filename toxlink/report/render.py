"""The report's HTML: one self-contained page from the aggregates and the roll-up.

The page has no external references: plotly.js is inlined once in ``<head>``, styles are
inlined, fonts are the reader's system fonts, and plotly's "send to cloud" links are off,
so the report opens offline and leaks nothing when a client opens it. Every value from the
data (titles, domains, reasons, disavow entries) is HTML-escaped.
"""

from __future__ import annotations

import datetime as _dt
import html as _html
import string
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources

import numpy as np
import pandas as pd

from toxlink import __version__
from toxlink import schema as S
from toxlink.report.charts import anchor_chart, figure_html, risk_histogram, timeline_chart, tld_chart
from toxlink.report.aggregates import (BURST_MIN_RATIO, MIN_BURST_LINKS, ReportAccumulator, rollup_frame,
                                       top_toxic_domains)
from toxlink.report.anchors import UNKNOWN
from toxlink.report.diff import DisavowDiff

TOXIC, REVIEW, OK, REJECTED = S.BANDS


# (Defined first: the domains table's columns below are built from it when the module loads.)
@dataclass(frozen=True)
class _Column:
    """A column of a table in the page: its heading, and its cell's markup for a row.

    *cell* escapes whatever of the row it shows. *css* is the cells' class; a ``num``
    column's heading is right-aligned with its cells.
    """

    heading: str
    cell: Callable[[Mapping], str]
    css: str = ""


def build_report(scored: pd.DataFrame, domains: pd.DataFrame, diff=None, title: str | None = None, *,
                 top_domains: int = 30, top_tlds: int = 12, generated: _dt.datetime | None = None) -> str:
    """Render the audit report of a scored table as one self-contained HTML document.

    Same as ``build_report_from(ReportAccumulator().update(scored), domains, ...)``; for an
    export too big to hold, feed a :class:`ReportAccumulator` chunk by chunk instead.

    Parameters
    ----------
    scored : DataFrame, shape (n, ...)
        Scored links: canonical columns plus ``host``, ``domain``, ``risk``, ``band`` and
        ``reasons`` (:meth:`toxlink.predictor.Predictor.score`). Rows with ``duplicate_of``
        set are not counted.
    domains, diff, title, top_domains, top_tlds, generated
        As in :func:`build_report_from`.

    Returns
    -------
    str
        The HTML document (UTF-8 text; plotly.js inlined, ~5 MB).
    """
    return build_report_from(ReportAccumulator().update(scored), domains, diff=diff, title=title,
                             top_domains=top_domains, top_tlds=top_tlds, generated=generated)


def build_report_from(acc: ReportAccumulator, domains: pd.DataFrame, diff=None, title: str | None = None, *,
                      top_domains: int = 30, top_tlds: int = 12, generated: _dt.datetime | None = None,
                      changes_html: str = "") -> str:
    """Render the audit report of the links an accumulator has seen: the one place the
    report is rendered.

    Parameters
    ----------
    acc : ReportAccumulator
        The links' aggregates.
    domains : DataFrame, shape (d, ...)
        Per-site roll-up (:func:`toxlink.policy.recommend_domains`; columns
        ``schema.ROLLUP_COLUMNS``, optionally ``host``, or read back from ``domains.csv``;
        the older names of :data:`ROLLUP_ALIASES` are read too).
    diff : DisavowDiff, toxlink.disavow.Diff or mapping, optional
        What the new disavow file adds to the existing one (:meth:`DisavowDiff.coerce`).
    title : str, optional
        Report title; defaults to "Backlink audit — <most linked target host>".
    top_domains, top_tlds : int
        Rows of the toxic-domains table and bars of the TLD chart.
    generated : datetime, optional
        Timestamp printed in the header (default: now, UTC).
    changes_html : str
        The "Changes since the previous audit" section
        (:func:`toxlink.report.changes.changes_section`), trusted markup; none by default.

    Returns
    -------
    str
        The HTML document.
    """
    from plotly.offline import get_plotlyjs

    diff = DisavowDiff.coerce(diff)
    domains = rollup_frame(domains)
    numbers = acc.headline(domains, diff)
    generated = generated or _dt.datetime.now(_dt.timezone.utc)
    return _fill_page(
        **_header(acc, title, generated),
        **_summary(numbers, diff),
        **_distributions(acc, numbers),
        **_timeline(acc),
        **_tlds(acc, top_tlds),
        domains_html=_domains_section(domains, top_domains),
        diff_html=_diff_section(diff, numbers),
        changes_html=changes_html,
        style_css=_package_file("style.css"),
        # "</" inside the inlined library would end the <script> element early.
        plotly_js=get_plotlyjs().replace("</script", "<\\/script"),
    )


# --- the page's sections, each the values of its placeholders in template.html ------------
def _header(acc: ReportAccumulator, title: str | None, generated: _dt.datetime) -> dict:
    dates = acc.first_seen_range()
    period = (f"Links first seen {dates[0]:%d %b %Y} – {dates[1]:%d %b %Y}" if dates
              else "No first-seen dates in the export")
    return {"title": acc.title() if title is None else title, "version": __version__, "period": period,
            "generated": generated.strftime("%d %b %Y %H:%M UTC")}


def _summary(numbers: dict, diff: DisavowDiff | None) -> dict:
    scored_n = _scored_links(numbers)

    def pct_of(n):
        return f"{n / scored_n:.1%} of scored links" if scored_n else ""

    duplicates = (f'<span id="n-duplicates" data-value="{numbers["duplicates"]}">{numbers["duplicates"]:,}</span> '
                  "duplicate rows not counted")
    cards = [
        _num("links", numbers["links"], "Backlinks", note_html=duplicates),
        _num("domains", numbers["domains"], "Referring domains"),
        _num(TOXIC, numbers[TOXIC], "Toxic links", "toxic", pct_of(numbers[TOXIC])),
        _num(REVIEW, numbers[REVIEW], "Links to review", "review", pct_of(numbers[REVIEW])),
        _num(OK, numbers[OK], "OK links", "ok", pct_of(numbers[OK])),
        _num(REJECTED, numbers[REJECTED], "Not scored", "muted-card", "unusable source URL" if numbers[REJECTED] else ""),
    ]
    action_cards = [
        _num("disavow-domains", numbers["disavow-domains"], "Domains to disavow", "toxic"),
        _num("disavow-urls", numbers["disavow-urls"], "Domains: disavow URLs only", "toxic"),
        _num("review-domains", numbers["review-domains"], "Domains to review", "review"),
        _num("whitelisted", numbers["whitelisted"], "Whitelisted domains", "ok"),
    ]
    return {"summary": _summary_sentence(numbers, diff), "cards_html": "".join(cards),
            "action_cards_html": "".join(action_cards)}


def _scored_links(numbers: dict) -> int:
    return numbers[TOXIC] + numbers[REVIEW] + numbers[OK]


def _summary_sentence(numbers: dict, diff: DisavowDiff | None) -> str:
    """One plain-language sentence a client reads first."""
    if not numbers["links"]:
        return "The export contains no backlinks."
    scored_n = _scored_links(numbers)
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


def _distributions(acc: ReportAccumulator, numbers: dict) -> dict:
    """The risk histogram and the anchor-text mix."""
    if _scored_links(numbers):
        risk = figure_html(risk_histogram(acc.risk_bins), "chart-risk")
    else:
        risk = _empty("No link could be scored.")
    mix = acc.anchor_mix()
    if len(mix) and not (mix.index == UNKNOWN).all():
        anchors = figure_html(anchor_chart(mix), "chart-anchors")
    else:
        anchors = _empty("The export has no anchor texts.")
    return {"risk_html": risk, "anchor_html": anchors}


def _timeline(acc: ReportAccumulator) -> dict:
    """Links first seen per week or month, and the bursts."""
    tl = acc.timeline()
    rule = {"burst_min_ratio": f"{BURST_MIN_RATIO:g}", "min_burst_links": MIN_BURST_LINKS}
    if not len(tl):
        return {**rule, "timeline_html": _empty("The export has no first-seen dates."), "unit": "week",
                "bursts_note": "no burst week"}
    unit = "week" if tl.attrs.get("freq") == "W" else "month"
    n_bursts = int(tl["burst"].sum())
    note = f"{n_bursts} burst {unit}{'s' if n_bursts != 1 else ''} (marked ▼)" if n_bursts else f"no burst {unit}"
    return {**rule, "timeline_html": figure_html(timeline_chart(tl), "chart-timeline") + _bursts_table(tl),
            "unit": unit, "bursts_note": note}


def _bursts_table(tl: pd.DataFrame) -> str:
    bursts = tl[tl["burst"]]
    if bursts.empty:
        return '<p class="muted small" id="bursts">No burst: no period exceeds the threshold.</p>'
    columns = [
        _Column("Week of" if tl.attrs.get("freq") == "W" else "Month of", lambda r: _e(r["period"].strftime("%Y-%m-%d"))),
        _Column("Links", lambda r: f"{int(r['count']):,}", "num"),
        _Column("× median", lambda r: "–" if not np.isfinite(r["ratio"]) else f"{r['ratio']:.1f}×", "num"),
        _Column("Toxic share", lambda r: _pct(r[TOXIC] / r["count"]) if TOXIC in r and r["count"] else "–", "num"),
    ]
    return _table(columns, bursts.reset_index().to_dict("records"), table_id="bursts", css="data compact")


def _tlds(acc: ReportAccumulator, top_tlds: int) -> dict:
    tlds = acc.tld_table(top_tlds)
    chart = figure_html(tld_chart(tlds), "chart-tld") if len(tlds) else _empty("No scored links.")
    return {"n_tlds": len(tlds), "tld_html": chart}


def _domains_section(domains: pd.DataFrame, top_domains: int) -> str:
    """The most urgent referring domains, with a note of how many more are flagged."""
    flagged = top_toxic_domains(domains, top=len(domains))
    if flagged.empty:
        return _empty("No referring domain has toxic links or a disavow / review recommendation.")
    top = flagged.head(top_domains)
    table = _table(_DOMAIN_COLUMNS, top.to_dict("records"), table_id="top-domains",
                   row_attrs=lambda d: f' data-domain="{_e(d.get(S.DOMAIN))}"')
    more = len(flagged) - len(top)
    foot = (f'<p class="muted small">{more:,} more flagged domains are not shown here; the per-domain '
            "table exported with this report lists them all.</p>") if more > 0 else ""
    return table + foot


def _domain_cell(d: Mapping) -> str:
    host, dom = d.get(S.HOST), d.get(S.DOMAIN)
    # The disavow unit only needs showing when it is not the domain itself (or its www.).
    shown_host = isinstance(host, str) and host not in (dom, f"www.{dom}")
    return _e(dom) + (f'<div class="muted small">host {_e(host)}</div>' if shown_host else "")


def _action_cell(d: Mapping) -> str:
    action = str(d.get(S.ACTION, "") or "")
    badges = "".join(f'<span class="badge {cls}">{label}</span>' for col, cls, label in
                     ((S.WHITELISTED, "white", "whitelisted"), (S.PROTECTED, "white", "protected gov/edu"))
                     if d.get(col))
    entries = d.get(S.DISAVOW_ENTRIES)
    if action == S.DISAVOW_URL and isinstance(entries, (list, tuple, np.ndarray)) and len(entries):
        badges += f'<div class="muted small">{len(entries):,} URL{"s" if len(entries) != 1 else ""}</div>'
    return f'<span class="badge {_e(action)}">{_e(action)}</span>{badges}'


def _reasons_cell(d: Mapping) -> str:
    reasons = [x.strip() for x in str(d.get(S.TOP_REASONS) or "").split(";") if x.strip()]
    if not reasons:
        return '<span class="muted">–</span>'
    return "<ul>" + "".join(f"<li>{_e(x)}</li>" for x in reasons[:4]) + "</ul>"


def _risk_cell(d: Mapping) -> str:
    shade = _e(round(float(d.get(S.MAX_RISK) or 0), 3))
    return f'<span class="risk" style="--r:{shade}">{_pct(float(d.get(S.MAX_RISK, np.nan)))}</span>'


_DOMAIN_COLUMNS = [
    _Column("Referring domain", _domain_cell, "dom"),
    _Column("Links", lambda d: f"{int(d.get(S.N_LINKS) or 0):,}", "num"),
    _Column("Toxic", lambda d: f"{int(d.get(S.N_TOXIC) or 0):,}", "num"),
    _Column("Toxic share", lambda d: _pct(float(d.get(S.TOXIC_SHARE, np.nan))), "num"),
    _Column("Max risk", _risk_cell, "num"),
    _Column("Action", _action_cell),
    _Column("Why", _reasons_cell, "reasons"),
]


def _fill_page(**values) -> str:
    """``template.html`` with its placeholders filled: values whose name ends in ``_html``,
    ``_css`` or ``_js`` as they are, every other one HTML-escaped."""
    page = _package_file("template.html")
    page = page[page.index("-->\n") + 4:] if page.startswith("<!--") else page  # the editors' comment
    raw = ("_html", "_css", "_js")
    return string.Template(page).substitute({k: v if k.endswith(raw) else _e(v) for k, v in values.items()})


def _package_file(name: str) -> str:
    """A text file shipped in this package (``template.html``, ``style.css``)."""
    return resources.files(__package__).joinpath(name).read_text(encoding="utf-8")


def _e(value) -> str:
    """Escape any value for HTML text or a quoted attribute."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    return _html.escape(str(value), quote=True)



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


def _table(columns: Sequence[_Column], rows: Sequence[Mapping], *, table_id: str, css: str = "data",
           row_attrs: Callable[[Mapping], str] = lambda row: "") -> str:
    """A ``<table>`` of *rows* (dicts) in *columns*; *row_attrs* gives each ``<tr>``'s attributes."""
    head = "".join(f'<th class="num">{_e(c.heading)}</th>' if c.css == "num" else f"<th>{_e(c.heading)}</th>"
                   for c in columns)
    body = "".join(
        f"<tr{row_attrs(r)}>"
        + "".join(f'<td class="{c.css}">{c.cell(r)}</td>' if c.css else f"<td>{c.cell(r)}</td>" for c in columns)
        + "</tr>"
        for r in rows
    )
    return f'<table class="{css}" id="{table_id}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


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


