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
from toxlink.report.aggregates import (AUTHORITY_METRICS, BURST_MIN_RATIO, COUNTRY, MIN_BURST_LINKS, NOFOLLOW,
                                       ReportAccumulator, rollup_frame)
from toxlink.report.anchors import UNKNOWN
from toxlink.report.branding import Branding
from toxlink.report.charts import (anchor_chart, authority_chart, band_bars, figure_html, risk_histogram,
                                   timeline_chart, tld_chart)
from toxlink.report.diff import DisavowDiff
from toxlink.report.method import ModelFacts, method_html
from toxlink.report.table import review_count, table_data, views_html

TOXIC, REVIEW, OK, REJECTED = S.BANDS


@dataclass(frozen=True)
class _Column:
    """A column of a table in the page: its heading, and its cell's markup for a row.

    *cell* escapes whatever of the row it shows. *css* is the cells' class; a ``num``
    column's heading is right-aligned with its cells.
    """

    heading: str
    cell: Callable[[Mapping], str]
    css: str = ""


def build_report(scored: pd.DataFrame, domains: pd.DataFrame, diff=None, title: str | None = None, **kwargs) -> str:
    """Render the audit report of a scored table as one self-contained HTML document.

    Same as ``build_report_from(ReportAccumulator().update(scored), domains, ...)``; for an
    export too big to hold, feed a :class:`ReportAccumulator` chunk by chunk instead.

    Parameters
    ----------
    scored : DataFrame, shape (n, ...)
        Scored links: canonical columns plus ``host``, ``domain``, ``risk``, ``band`` and
        ``reasons`` (:meth:`toxlink.predictor.Predictor.score`). Rows with ``duplicate_of``
        set are not counted.
    domains, diff, title, **kwargs
        As in :func:`build_report_from`.

    Returns
    -------
    str
        The HTML document (UTF-8 text; plotly.js inlined, ~5 MB).
    """
    return build_report_from(ReportAccumulator().update(scored), domains, diff=diff, title=title, **kwargs)


def build_report_from(acc: ReportAccumulator, domains: pd.DataFrame, diff=None, title: str | None = None, *,
                      top_tlds: int = 12, generated: _dt.datetime | None = None, model: ModelFacts | None = None,
                      branding: Branding | None = None, changes_html: str = "") -> str:
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
    top_tlds : int
        Bars of the TLD chart.
    generated : datetime, optional
        Timestamp printed in the header (default: now, UTC).
    model : ModelFacts, optional
        The model and thresholds of the run, for the methodology section (without them,
        the section leaves the model's numbers out).
    branding : Branding, optional
        The client's name and logo for the first page.
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
    table = table_data(domains)
    return _fill_page(
        **_header(acc, title, generated, branding or Branding()),
        **_summary(numbers, diff),
        **_distributions(acc, numbers),
        **_timeline(acc),
        **_tlds(acc, top_tlds),
        **_link_profile(acc),
        **_anchor_tables(acc),
        n_flagged=f"{len(table['rows']):,}",
        domains_html=views_html(table, review_count(table)),
        method_html=method_html(model),
        diff_html=_diff_section(diff, numbers),
        changes_html=changes_html,
        style_css=_package_file("style.css"),
        # "</" in the script would end its <script> element early (it has none; kept safe anyway).
        report_js=_package_file("report.js").replace("</", "<\\/"),
        # "</" inside the inlined library would end the <script> element early.
        plotly_js=get_plotlyjs().replace("</script", "<\\/script"),
    )


# --- the page's sections, each the values of its placeholders in template.html ------------
def _header(acc: ReportAccumulator, title: str | None, generated: _dt.datetime, branding: Branding) -> dict:
    dates = acc.first_seen_range()
    period = (f"Links first seen {dates[0]:%d %b %Y} – {dates[1]:%d %b %Y}" if dates
              else "No first-seen dates in the export")
    # The logo is a data: URI Branding built from an image it checked; escaped all the same.
    logo = f'<img class="logo" id="client-logo" src="{_e(branding.logo)}" alt="">' if branding.logo else ""
    client = f'<div class="client" id="client">Prepared for {_e(branding.client)}</div>' if branding.client else ""
    return {"title": acc.title() if title is None else title, "version": __version__, "period": period,
            "generated": generated.strftime("%d %b %Y %H:%M UTC"), "brand_html": client + logo}


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
        anchors = figure_html(anchor_chart(mix.rename(index=CATEGORY_NAMES)), "chart-anchors")
    else:
        anchors = _empty("The export has no anchor texts.")
    return {"risk_html": risk, "anchor_html": anchors}


#: How the report names the anchor categories (toxlink.anchors' values).
CATEGORY_NAMES = {"branded": "branded", "naked_url": "naked URL", "generic": "generic",
                  "exact_match": "exact-match commercial", "partial_match": "partial-match commercial",
                  "other": "other", "empty": "empty (image links)", UNKNOWN: "unknown"}


def _anchor_tables(acc: ReportAccumulator) -> dict:
    """The anchor mix beside the mix of the links rated OK, and the most frequent anchors."""
    mix, top = acc.anchor_mix(), acc.top_anchors()
    if not len(mix) or (mix.index == UNKNOWN).all():
        return {"anchor_tables_html": ""}
    share = lambda col: mix[col] / mix[col].sum() if mix[col].sum() else mix[col] * np.nan  # noqa: E731
    flagged = mix[TOXIC] + mix[REVIEW]
    profile = pd.DataFrame({"category": mix.index, "all": share("links").to_numpy(), "ok": share(OK).to_numpy(),
                            "flagged": (flagged / flagged.sum() if flagged.sum() else flagged * np.nan).to_numpy()})
    name = lambda c: _e(CATEGORY_NAMES.get(c, c))  # noqa: E731
    mix_table = _table([
        _Column("Category", lambda r: name(r["category"])),
        _Column("All links", lambda r: _pct(r["all"]), "num"),
        _Column("Links rated OK", lambda r: _pct(r["ok"]), "num"),
        _Column("Toxic or review", lambda r: _pct(r["flagged"]), "num"),
    ], profile.to_dict("records"), table_id="anchor-profile", css="data compact")
    top_table = _table([
        _Column("Anchor", lambda r: _e(r["anchor"])),
        _Column("Category", lambda r: name(r["category"]) if r["category"] else "–"),
        _Column("Links", lambda r: f"{int(r['links']):,}", "num"),
        _Column("Toxic", lambda r: f"{int(r[TOXIC]):,}", "num"),
        _Column("Review", lambda r: f"{int(r[REVIEW]):,}", "num"),
    ], top.reset_index().to_dict("records"), table_id="top-anchors", css="data compact")
    return {"anchor_tables_html": (
        '<section class="grid2" id="anchors">'
        '<div class="panel"><h2>Anchor profile</h2><p class="lead">Share of each anchor category among all links, '
        "among the links rated OK (the profile's own natural part) and among the flagged ones. A natural profile "
        "is led by branded, naked-URL and generic anchors; a large share of exact-match commercial anchors is what "
        "Google's spam policies call links with optimised anchor text.</p>" + mix_table + "</div>"
        '<div class="panel"><h2>Top anchors</h2><p class="lead">The most frequent anchor texts (case aside), '
        "with their links by verdict.</p>" + top_table + "</div></section>")}


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


def _link_profile(acc: ReportAccumulator) -> dict:
    """The dofollow / nofollow split, the authority distributions and the languages and
    countries of the links, each where the export has it; no section when it has none."""
    parts = []
    follow = acc.follow_table()
    if len(follow):
        share = follow.loc[NOFOLLOW, "links"] / follow["links"].sum() if NOFOLLOW in follow.index else 0.0
        parts.append(_chart_panel("Dofollow and nofollow", f"{share:.0%} of the links whose flag the export gives are "
                                  "nofollow, ugc or sponsored: Google treats those as hints not to pass weight.",
                                  band_bars(follow), "chart-follow"))
    for metric, table in acc.authority_tables().items():
        parts.append(_chart_panel(AUTHORITY_METRICS[metric], "Links by the referring site's or page's score, "
                                  "as the export gives it (0–100).", authority_chart(table), f"chart-{metric}"))
    for column, title in ((S.LANGUAGE, "Languages"), (COUNTRY, "Countries")):
        table = acc.place_table(column)
        if len(table):
            parts.append(_chart_panel(title, f"Links by the referring page's {column}, as the export gives it.",
                                      band_bars(table), f"chart-{column}"))
    if not parts:
        return {"profile_html": ""}
    return {"profile_html": '<section class="panel" id="link-profile"><h2>Link profile</h2>'
                            '<p class="lead">What the export says about the links themselves, by verdict.</p>'
                            f'<div class="grid2">{"".join(parts)}</div></section>'}


def _chart_panel(title: str, lead: str, fig, div_id: str) -> str:
    return f'<div class="sub"><h3>{_e(title)}</h3><p class="lead">{_e(lead)}</p>{figure_html(fig, div_id)}</div>'


def _tlds(acc: ReportAccumulator, top_tlds: int) -> dict:
    tlds = acc.tld_table(top_tlds)
    chart = figure_html(tld_chart(tlds), "chart-tld") if len(tlds) else _empty("No scored links.")
    return {"n_tlds": len(tlds), "tld_html": chart}


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


