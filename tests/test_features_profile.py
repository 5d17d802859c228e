"""Profile features: whole-export aggregates, exclusions, streaming == whole table."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from toxlink import schema as S
from toxlink.features import ProfileAccumulator, compute, feature_names


def table(rows: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame([{S.TARGET_URL: "https://acmetools.com/", **r} for r in rows])
    return S.conform(frame)


def test_per_domain_counts_anchors_and_shares():
    rows = [{S.SOURCE_URL: f"https://spamnet.xyz/p{i}", S.ANCHOR: "best cheap tools", S.SITEWIDE: True} for i in range(6)]
    rows += [{S.SOURCE_URL: "https://blog.other.org/a", S.ANCHOR: "Acme Tools", S.SITEWIDE: False},
             {S.SOURCE_URL: "https://www.other.org/b", S.ANCHOR: "click here", S.SITEWIDE: None}]
    X = compute(table(rows))
    spam, other = X.iloc[0], X.iloc[6]
    assert spam["prf_domain_links"] == 6 and spam["prf_domain_anchors"] == 1
    assert spam["prf_links_per_anchor"] == 6
    assert spam["prf_commercial_share"] == 1 and spam["prf_sitewide_share"] == 1
    assert other["prf_domain_links"] == 2 and other["prf_domain_anchors"] == 2
    assert other["prf_domain_hosts"] == 2  # blog.other.org + www.other.org
    assert other["prf_commercial_share"] == 0
    assert other["prf_sitewide_share"] == 0  # one known False, one unknown


def test_subnet_and_title_networks():
    rows = [
        {S.SOURCE_URL: "https://a1.com/", S.SOURCE_IP: "10.0.7.1", S.PAGE_TITLE: "Best Casino Bonus"},
        {S.SOURCE_URL: "https://a2.com/", S.SOURCE_IP: "10.0.7.200", S.PAGE_TITLE: "best  casino bonus "},
        {S.SOURCE_URL: "https://a3.com/", S.SOURCE_IP: "10.0.7.9", S.PAGE_TITLE: "Other"},
        {S.SOURCE_URL: "https://www.a3.com/x", S.SOURCE_IP: "10.0.7.9", S.PAGE_TITLE: "Other"},
        {S.SOURCE_URL: "https://b.com/", S.SOURCE_IP: "10.0.8.1", S.PAGE_TITLE: ""},
        {S.SOURCE_URL: "https://c.com/", S.SOURCE_IP: "2001:db8::1", S.PAGE_TITLE: None},
    ]
    X = compute(table(rows))
    assert X["prf_subnet_domains"].tolist()[:5] == [3, 3, 3, 3, 1]
    assert math.isnan(X["prf_subnet_domains"].iloc[5])  # IPv6: no /24
    assert X["prf_title_domains"].tolist()[:4] == [2, 2, 1, 1]  # case/space-insensitive title match
    assert math.isnan(X["prf_title_domains"].iloc[4]) and math.isnan(X["prf_title_domains"].iloc[5])


def test_no_ip_column_gives_nan():
    X = compute(pd.DataFrame({S.SOURCE_URL: ["https://a.com/"]}))
    assert math.isnan(X["prf_subnet_domains"].iloc[0])


def test_burst_new_share_and_span():
    base = pd.Timestamp("2024-01-01")
    rows = [{S.SOURCE_URL: f"https://old{i}.com/", S.FIRST_SEEN: base + pd.Timedelta(days=10 * i)} for i in range(10)]
    rows += [{S.SOURCE_URL: "https://burst.com/p", S.FIRST_SEEN: base + pd.Timedelta(days=100)} for _ in range(10)]
    rows += [{S.SOURCE_URL: "https://burst.com/q", S.FIRST_SEEN: base + pd.Timedelta(days=40)}]
    X = compute(table(rows))
    # 21 dated links over days 0..100 (101 days): baseline 21/101 per day; day 100 has 10 + 0.
    assert X["prf_day_burst"].iloc[10] == pytest.approx(10 / (21 / 101), rel=1e-5)
    # reference date = day 100; new = first seen within 30 days: 10 of burst.com's 11 links
    assert X["prf_domain_new_share"].iloc[10] == pytest.approx(10 / 11, rel=1e-6)
    assert X["prf_domain_span_days"].iloc[10] == 60
    assert X["prf_domain_new_share"].iloc[0] == 0


def test_issue_and_duplicate_rows_are_excluded_from_aggregates_but_scored():
    rows = [{S.SOURCE_URL: "https://d.com/1", S.ANCHOR: "a"},
            {S.SOURCE_URL: "https://d.com/1", S.ANCHOR: "a", S.DUPLICATE_OF: "x.csv:2"},
            {S.SOURCE_URL: "https://d.com/2", S.ANCHOR: "b", S.ROW_ISSUE: "something"}]
    X = compute(table(rows))
    assert X["prf_domain_links"].tolist() == [1, 1, 1]
    assert X["prf_domain_anchors"].tolist() == [1, 1, 1]
    assert not X["dom_label_length"].isna().any()


def _synth(n=3000):
    from synth import synth_links

    links = synth_links(n, seed=3)
    # sprinkle the harder cases: duplicates, issues, missing anchors
    links.loc[links.index[::97], S.DUPLICATE_OF] = "synthetic:2"
    links.loc[links.index[::131], S.ROW_ISSUE] = "invalid host"
    links.loc[links.index[::53], S.ANCHOR] = pd.NA
    return links


def test_chunking_invariance_with_shared_stats():
    links = _synth()
    whole = compute(links)
    acc = ProfileAccumulator()
    chunks = [links.iloc[:700], links.iloc[700:1900], links.iloc[1900:]]
    for chunk in reversed(chunks):  # order must not matter either
        acc.update(chunk)
    stats = acc.finish()
    parts = pd.concat([compute(c, profile=stats) for c in chunks])
    pd.testing.assert_frame_equal(parts, whole)


def test_many_small_chunks_equal_the_whole_table():
    links = _synth(1200)
    acc = ProfileAccumulator()
    for start in range(0, len(links), 50):
        acc.update(links.iloc[start : start + 50])
    stats = acc.finish()
    pd.testing.assert_frame_equal(compute(links, profile=stats), compute(links))


def test_deterministic_and_row_order_free():
    links = _synth(800)
    a = compute(links)
    shuffled = links.sample(frac=1.0, random_state=1)
    b = compute(shuffled).loc[links.index]
    pd.testing.assert_frame_equal(a, b)
    assert list(a.columns) == feature_names()


def test_domain_row_lookup():
    links = table([{S.SOURCE_URL: "https://x.org/a"}, {S.SOURCE_URL: "https://x.org/b"}])
    stats = ProfileAccumulator().update(links).finish()
    assert stats.domain_row("x.org")["prf_domain_links"] == 2
    assert np.isnan(stats.domain_row("nope.org")["prf_domain_links"])


def test_merged_partial_accumulators_equal_one_accumulator():
    # The dask engine aggregates each partition on a worker and merges on the client.
    from synth import synth_links

    from toxlink.features import ProfileAccumulator, compute

    links = synth_links(3000, seed=3)
    whole = ProfileAccumulator()
    parts = [links.iloc[:1000], links.iloc[1000:2200], links.iloc[2200:]]
    for p in parts:
        whole.update(p)
    merged = ProfileAccumulator()
    for p in reversed(parts):
        merged.merge(ProfileAccumulator().update(p))
    a = compute(links, profile=whole.finish())
    b = compute(links, profile=merged.finish())
    pd.testing.assert_frame_equal(a, b)


def test_titles_match_across_case_and_any_kind_of_whitespace_run():
    titles = ["Best\tCasino\r\nBonus", "best casino bonus", " BEST  casino bonus\u00a0", "other", None, " "]
    rows = [{S.SOURCE_URL: f"https://site{i}.com/", S.PAGE_TITLE: t} for i, t in enumerate(titles)]
    X = compute(table(rows))
    assert X["prf_title_domains"].tolist()[:4] == [3, 3, 3, 1]
    assert X["prf_title_domains"].iloc[4:].isna().all()  # no title, or only spaces


def test_chunks_in_any_order_equal_the_whole_table_when_the_latest_dates_come_last():
    # The reference date (and so which links are "new") is only known once the chunk with
    # the latest dates is in; earlier chunks must not have decided it.
    links = _synth().sort_values(S.FIRST_SEEN, kind="stable")
    links[S.LAST_SEEN] = pd.NaT  # the reference date is the latest first-seen day: the last chunk's
    chunks = [links.iloc[:900], links.iloc[900:2100], links.iloc[2100:]]
    for order in ([0, 1, 2], [2, 0, 1]):
        acc = ProfileAccumulator()
        for i in order:
            acc.update(chunks[i])
        stats = acc.finish()
        pd.testing.assert_frame_equal(compute(links, profile=stats), compute(links))
    assert (stats.domains["prf_domain_new_share"].dropna() > 0).any()  # the recent days were counted
