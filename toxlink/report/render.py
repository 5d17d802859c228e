"""The report's HTML: one self-contained page from the aggregates and the roll-up.

The page has no external references: plotly.js is inlined once in ``<head>``, styles are
inlined, fonts are the reader's system fonts, and plotly's "send to cloud" links are off,
so the report opens offline and leaks nothing when a client opens it. Every value from the
data (titles, domains, reasons, disavow entries) is HTML-escaped.
"""

from __future__ import annotations

import datetime as _dt
import html as _html
from collections.abc import Sequence

import numpy as np
import pandas as pd

from toxlink import __version__
from toxlink import schema as S
from toxlink.report import charts
from toxlink.report.aggregates import (BURST_MIN_RATIO, MIN_BURST_LINKS, ReportAccumulator, rollup_frame,
                                       top_toxic_domains)
from toxlink.report.anchors import UNKNOWN
from toxlink.report.diff import DisavowDiff

TOXIC, REVIEW, OK, REJECTED = S.BANDS


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
                      top_domains: int = 30, top_tlds: int = 12, generated: _dt.datetime | None = None) -> str:
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

    if title is None:
        title = acc.title()
    if acc.days:
        first, last = acc.first_seen_range()
        period = f"Links first seen {first:%d %b %Y} – {last:%d %b %Y}"
    else:
        period = "No first-seen dates in the export"
    scored_n = numbers[TOXIC] + numbers[REVIEW] + numbers[OK]

    # --- charts -------------------------------------------------------------------------
    if scored_n:
        risk_html = charts.figure_html(charts.risk_histogram(acc.risk_bins), "chart-risk")
    else:
        risk_html = _empty("No link could be scored.")
    tlds = acc.tld_table(top_tlds)
    tld_html = charts.figure_html(charts.tld_chart(tlds), "chart-tld") if len(tlds) else _empty("No scored links.")
    mix = acc.anchor_mix()
    if len(mix) and not (mix.index == UNKNOWN).all():
        anchor_html = charts.figure_html(charts.anchor_chart(mix), "chart-anchors")
    else:
        anchor_html = _empty("The export has no anchor texts.")
    tl = acc.timeline() if acc.days else None
    if tl is not None and len(tl):
        time_html = charts.figure_html(charts.timeline_chart(tl), "chart-timeline") + _bursts_table(tl)
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


def _domains_table(top: pd.DataFrame, total_flagged: int) -> str:
    if top.empty:
        return _empty("No referring domain has toxic links or a disavow / review recommendation.")
    rows = []
    for d in top.to_dict("records"):
        action = str(d.get(S.ACTION, "") or "")
        reasons = [x.strip() for x in str(d.get(S.TOP_REASONS) or "").split(";") if x.strip()]
        reasons_html = "<ul>" + "".join(f"<li>{_e(x)}</li>" for x in reasons[:4]) + "</ul>" if reasons else '<span class="muted">–</span>'
        host, dom = d.get(S.HOST), d.get(S.DOMAIN)
        # The disavow unit only needs showing when it is not the domain itself (or its www.).
        shown_host = isinstance(host, str) and host not in (dom, f"www.{dom}")
        host_html = f'<div class="muted small">host {_e(host)}</div>' if shown_host else ""
        badge = "".join(f'<span class="badge {cls}">{label}</span>' for col, cls, label in
                        ((S.WHITELISTED, "white", "whitelisted"), (S.PROTECTED, "white", "protected gov/edu"))
                        if d.get(col))
        entries = d.get(S.DISAVOW_ENTRIES)
        if action == S.DISAVOW_URL and isinstance(entries, (list, tuple, np.ndarray)) and len(entries):
            badge += f'<div class="muted small">{len(entries):,} URL{"s" if len(entries) != 1 else ""}</div>'
        rows.append(
            f'<tr data-domain="{_e(d.get(S.DOMAIN))}"><td class="dom">{_e(d.get(S.DOMAIN))}{host_html}</td>'
            f'<td class="num">{int(d.get(S.N_LINKS) or 0):,}</td><td class="num">{int(d.get(S.N_TOXIC) or 0):,}</td>'
            f'<td class="num">{_pct(float(d.get(S.TOXIC_SHARE, np.nan)))}</td>'
            f'<td class="num"><span class="risk" style="--r:{_e(round(float(d.get(S.MAX_RISK) or 0), 3))}">{_pct(float(d.get(S.MAX_RISK, np.nan)))}</span></td>'
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
