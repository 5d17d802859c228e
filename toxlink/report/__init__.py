"""The HTML audit report: one self-contained file an SEO can send to a client.

>>> html = build_report(scored, domains, diff=DisavowDiff(added=[...], existing_entries=120))  # doctest: +SKIP
>>> write_report("audit.html", scored, domains, diff=diff)                                   # doctest: +SKIP

Streamed, for an export too big to hold (memory bounded by the aggregates, not the links):

>>> acc = ReportAccumulator()                                                                # doctest: +SKIP
>>> for chunk in scored_chunks:                                                              # doctest: +SKIP
...     acc.update(chunk)
>>> write_report_from(acc, "audit.html", domains, diff=diff)                                 # doctest: +SKIP

Every number is aggregated from the links first and only the aggregates go into the page,
so the file size depends on the number of periods / TLDs / bins, not on the number of
links (a 1M-link export gives the same ~5 MB file as a 1k-link one, almost all of it
plotly.js). :func:`build_report` is the accumulator over one chunk, so there is a single
rendering path.

Modules
-------
- :mod:`~toxlink.report.aggregates`: :class:`ReportAccumulator` (counts per band, risk bin,
  TLD, anchor category, first-seen day and target host; ``update`` / ``merge``) and the
  tables drawn from it: headline numbers, TLDs, anchor mix, first-seen timeline and bursts,
  top toxic domains.
- :mod:`~toxlink.report.anchors`: the anchor-text categories (:func:`anchor_categories`).
- :mod:`~toxlink.report.diff`: what the new disavow file changes (:class:`DisavowDiff`).
- :mod:`~toxlink.report.charts`: the plotly figures.
- :mod:`~toxlink.report.table`: the flagged domains as the page's data (every one of them);
  ``report.js`` shows them in searchable, sortable, filterable views.
- :mod:`~toxlink.report.method`: the model's facts (:class:`ModelFacts`) and the
  methodology section.
- :mod:`~toxlink.report.branding`: the client's name and logo (:class:`Branding`).
- :mod:`~toxlink.report.render`: the page (:func:`build_report_from`).
- :mod:`~toxlink.report.files`: writing ``report.html``; rebuilding it from a run folder.

Sections of the page
--------------------
- Headline numbers (``<span id="n-..." data-value="...">``, stable ids for tests/scrapers):
  links (duplicates excluded), duplicates, referring domains, toxic / review / ok /
  rejected links, domains and URLs to disavow, domains to review, whitelisted domains.
- Risk histogram (20 bins of width 0.05, stacked by band).
- Toxic share by TLD: the *top_tlds* ICANN suffixes with the most scored links.
- Anchor-text mix: :func:`anchor_categories`.
- Links first seen over time, with bursts: :func:`first_seen_timeline`.
- Link profile, where the export has the columns: dofollow / nofollow, authority
  (DR / DA, UR / PA, Trust Flow), languages and countries.
- Every flagged referring domain with its reasons, in one searchable, sortable table
  (filters: action, TLD), and the review queue as its own view.
- What the new disavow file adds to the existing one (:class:`DisavowDiff`).
- Methodology: what the score means, the bands, the model's measured accuracy, its limits.
"""

from toxlink.report.aggregates import (BURST_K, BURST_MIN_RATIO, MIN_BURST_LINKS, ROLLUP_ALIASES, WEEKLY_MAX_PERIODS,
                                       ReportAccumulator, anchor_mix, band_counts, counted_links, first_seen_timeline,
                                       headline_numbers, rollup_frame, tld_table, top_toxic_domains)
from toxlink.report.anchors import ANCHOR_CATEGORIES, anchor_categories, brand_tokens
from toxlink.report.branding import Branding, LogoError
from toxlink.report.diff import DisavowDiff
from toxlink.report.files import report_from_dir, write_report, write_report_from
from toxlink.report.method import ModelFacts, read_run_branding, read_run_info, write_run_info
from toxlink.report.render import build_report, build_report_from

__all__ = [
    "ANCHOR_CATEGORIES", "BURST_K", "BURST_MIN_RATIO", "MIN_BURST_LINKS", "ROLLUP_ALIASES", "WEEKLY_MAX_PERIODS",
    "Branding", "DisavowDiff", "LogoError", "ModelFacts", "ReportAccumulator", "anchor_categories", "anchor_mix", "band_counts", "brand_tokens",
    "build_report", "build_report_from", "counted_links", "first_seen_timeline", "headline_numbers",
    "read_run_branding", "read_run_info", "report_from_dir", "rollup_frame", "tld_table", "top_toxic_domains", "write_report",
    "write_report_from", "write_run_info",
]
