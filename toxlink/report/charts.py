"""The report's charts: plotly figures drawn from the aggregates, and their HTML.

Each figure carries only aggregates (counts per bin, TLD, category, period), so a chart's
size does not grow with the number of links. plotly is imported when a chart is drawn, not
when the package is: the accumulator (in every chunk's process, on Dask workers too) never
needs it.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from toxlink import schema as S
from toxlink.report.aggregates import HIST_BANDS, RISK_EDGES

TOXIC, REVIEW, OK, REJECTED = S.BANDS
BAND_COLOURS = {TOXIC: "#c8423b", REVIEW: "#e9a23b", OK: "#4a9b6e", REJECTED: "#a3aab3"}
BAND_LABELS = {TOXIC: "Toxic", REVIEW: "Review", OK: "OK", REJECTED: "Not scored"}
_LEGEND_RANK = {TOXIC: 1, REVIEW: 2, OK: 3, REJECTED: 4}  # legend order, whatever the stacking order

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


def figure_html(fig, div_id: str) -> str:
    """The ``<div>`` and ``<script>`` drawing *fig* into the element *div_id*."""
    import plotly.io as pio

    # plotly.js is inlined once in <head>; each figure only carries its data and a newPlot call.
    return pio.to_html(fig, include_plotlyjs=False, full_html=False, config=_PLOT_CONFIG, div_id=div_id, default_height=f"{fig.layout.height}px")


def risk_histogram(bins: Mapping[str, np.ndarray]):
    """Links per risk bin, stacked by band (:attr:`ReportAccumulator.risk_bins`)."""
    import plotly.graph_objects as go

    edges = RISK_EDGES
    fig = go.Figure()
    for b in HIST_BANDS:
        fig.add_bar(
            x=(edges[:-1] + edges[1:]) / 2, y=bins[b], width=0.05, name=BAND_LABELS[b], legendrank=_LEGEND_RANK[b],
            marker_color=BAND_COLOURS[b], customdata=np.c_[edges[:-1], edges[1:]],
            hovertemplate="risk %{customdata[0]:.0%}–%{customdata[1]:.0%}<br>%{y:,} links<extra>" + BAND_LABELS[b] + "</extra>",
        )
    _layout(fig, barmode="stack")
    fig.update_xaxes(range=[0, 1], tickformat=".0%", dtick=0.1, title_text="Risk (calibrated probability of spam / manipulation)")
    fig.update_yaxes(title_text="Links", rangemode="tozero")
    return fig


def tld_chart(tlds: pd.DataFrame):
    """Share of each band in each TLD's scored links, biggest TLD on top (:func:`tld_table`)."""
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


def anchor_chart(mix: pd.DataFrame):
    """Links per anchor category, stacked by band (:func:`anchor_mix`)."""
    return band_bars(mix)


def band_bars(table: pd.DataFrame):
    """Horizontal bars of links per row of *table* (index: the categories, first on top;
    columns ``links`` and one per band), stacked by band, each label with its share."""
    import plotly.graph_objects as go

    m = table.iloc[::-1]
    total = int(table["links"].sum()) or 1
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


def authority_chart(table: pd.DataFrame):
    """Links per authority bin ("0-9" ... "90-100"), stacked by band
    (:meth:`ReportAccumulator.authority_tables`)."""
    import plotly.graph_objects as go

    fig = go.Figure()
    for b in (OK, REVIEW, TOXIC, REJECTED):
        if b == REJECTED and table[b].sum() == 0:
            continue
        fig.add_bar(x=list(table.index), y=table[b], name=BAND_LABELS[b], legendrank=_LEGEND_RANK[b],
                    marker_color=BAND_COLOURS[b], hovertemplate="%{x}<br>%{y:,} links<extra>" + BAND_LABELS[b] + "</extra>")
    _layout(fig, height=280, barmode="stack")
    fig.update_xaxes(title_text="Score", type="category")
    fig.update_yaxes(title_text="Links", rangemode="tozero")
    return fig


def timeline_chart(tl: pd.DataFrame):
    """Links first seen per period, stacked by band, with the burst threshold and the
    bursts marked (:func:`first_seen_timeline` with bands)."""
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

