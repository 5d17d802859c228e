"""The per-site facts of domains.csv a reviewer decides with: authority by vendor, traffic,
follow split, dates, lost links, top anchors, an example URL, target pages and languages."""

from __future__ import annotations

import numpy as np
import pandas as pd

from toxlink import schema as S
from toxlink.outputs import csv_table
from toxlink.policy import RollupAccumulator, recommend_domains
from toxlink.urls import domains_of, hosts_of

NA = None


def _scored(rows: list[dict]) -> pd.DataFrame:
    """A scored links table: each row a dict of columns (``source_url`` and ``risk`` at
    least); a missing band is ``ok`` below 0.4, else ``toxic``."""
    frame = S.conform(pd.DataFrame(rows))
    frame[S.RISK] = pd.Series([r[S.RISK] for r in rows], dtype="float64")
    frame[S.BAND] = pd.Series([r.get(S.BAND) or ("toxic" if r[S.RISK] >= 0.4 else "ok") for r in rows], dtype="string")
    frame[S.REASONS] = pd.Series([""] * len(rows), dtype="string")
    frame[S.HOST] = hosts_of(frame[S.SOURCE_URL])
    frame[S.DOMAIN] = domains_of(frame[S.HOST])
    return frame


def _link(url: str, risk: float = 0.1, **facts) -> dict:
    return {S.SOURCE_URL: url, S.RISK: risk, S.VENDOR: "ahrefs", **facts}


def _facts(rows) -> dict:
    table = recommend_domains(_scored(rows))
    return {row[S.DOMAIN]: row for row in table.to_dict("records")}


def test_authority_is_the_best_value_named_by_vendor_and_blank_when_absent():
    sites = _facts([
        _link("https://a.com/1", **{S.DOMAIN_RATING: 20.0, S.DOMAIN_TRAFFIC: 100.0}),
        _link("https://a.com/2", **{S.DOMAIN_RATING: 50.0, S.DOMAIN_TRAFFIC: 300.0}),
        _link("https://a.com/3", **{S.VENDOR: "moz", S.DOMAIN_RATING: 70.0}),  # Moz DA, not Ahrefs DR
        _link("https://b.com/1", **{S.VENDOR: "majestic", S.TRUST_FLOW: 12.0}),
        _link("https://b.com/2", **{S.VENDOR: "majestic", S.TRUST_FLOW: 31.0}),
        _link("https://c.com/1"),
    ])
    a, b, c = sites["a.com"], sites["b.com"], sites["c.com"]
    assert (a[S.DOMAIN_RATING], a[S.DOMAIN_AUTHORITY], a[S.DOMAIN_TRAFFIC]) == (50.0, 70.0, 300.0)
    assert b[S.TRUST_FLOW] == 31.0 and np.isnan(a[S.TRUST_FLOW])
    assert all(np.isnan(c[k]) for k in (S.DOMAIN_RATING, S.DOMAIN_AUTHORITY, S.TRUST_FLOW, S.DOMAIN_TRAFFIC))


def test_follow_split_counts_ugc_and_sponsored_as_nofollow_and_unknown_as_neither():
    site = _facts([
        _link("https://a.com/1", **{S.NOFOLLOW: False}),
        _link("https://a.com/2", **{S.NOFOLLOW: False}),
        _link("https://a.com/3", **{S.NOFOLLOW: True}),
        _link("https://a.com/4", **{S.NOFOLLOW: False, S.UGC: True}),
        _link("https://a.com/5", **{S.NOFOLLOW: False, S.SPONSORED: True}),
        _link("https://a.com/6"),
    ])["a.com"]
    assert (site[S.N_LINKS], site[S.N_DOFOLLOW], site[S.N_NOFOLLOW]) == (6, 2, 3)


def test_first_and_last_seen_are_the_earliest_and_latest_and_lost_links_are_counted():
    site = _facts([
        _link("https://a.com/1", **{S.FIRST_SEEN: pd.Timestamp("2024-03-01"), S.LAST_SEEN: pd.Timestamp("2024-05-01"),
                                    S.LOST: True}),
        _link("https://a.com/2", **{S.FIRST_SEEN: pd.Timestamp("2023-11-20"), S.LAST_SEEN: pd.Timestamp("2025-01-02"),
                                    S.LOST: False}),
        _link("https://a.com/3", **{S.LOST: True}),
    ])["a.com"]
    assert site[S.FIRST_SEEN] == pd.Timestamp("2023-11-20") and site[S.LAST_SEEN] == pd.Timestamp("2025-01-02")
    assert site[S.N_LOST] == 2
    assert pd.isna(_facts([_link("https://b.com/")])["b.com"][S.FIRST_SEEN])


def test_top_anchors_are_the_five_most_frequent_with_counts_as_plain_text():
    anchors = ["buy pills"] * 4 + ["click here"] * 2 + ["  cheap\n pills "] * 2 + ["b", "a", "c", "", None]
    site = _facts([_link(f"https://a.com/{i}", **{S.ANCHOR: t}) for i, t in enumerate(anchors)])["a.com"]
    # Counts descending, ties in code point order, white space tidied, empty anchors left out.
    assert site[S.TOP_ANCHORS] == "buy pills (4); cheap pills (2); click here (2); a (1); b (1)"
    assert _facts([_link("https://b.com/")])["b.com"][S.TOP_ANCHORS] == ""


def test_example_url_is_the_riskiest_link_and_ties_go_to_the_first_url():
    site = _facts([_link("https://a.com/z", 0.9), _link("https://a.com/y", 0.9), _link("https://a.com/x", 0.2),
                   _link("https://a.com/w", 0.5)])["a.com"]
    assert site[S.EXAMPLE_URL] == "https://a.com/y"


def test_target_pages_are_counted_distinct_and_the_most_linked_listed():
    targets = [f"https://mysite.com/p{i}" for i in (1, 1, 1, 2, 2, 3, 4, 5, 6, 7)]
    site = _facts([_link(f"https://a.com/{i}", **{S.TARGET_URL: t}) for i, t in enumerate(targets)])["a.com"]
    assert site[S.N_TARGET_PAGES] == 7
    assert site[S.TARGET_PAGES] == ("https://mysite.com/p1 (3); https://mysite.com/p2 (2); https://mysite.com/p3 (1); "
                                    "https://mysite.com/p4 (1); https://mysite.com/p5 (1)")


def test_languages_where_the_export_gives_them():
    langs = ["en", "en", "de", "fr", "it", None]
    sites = _facts([_link(f"https://a.com/{i}", **{S.LANGUAGE: t}) for i, t in enumerate(langs)] + [_link("https://b.com/")])
    assert sites["a.com"][S.LANGUAGES] == "en (2); de (1); fr (1)" and sites["b.com"][S.LANGUAGES] == ""


def test_duplicates_and_rejected_rows_give_no_facts():
    rows = [_link("https://a.com/1", **{S.ANCHOR: "kept", S.DOMAIN_RATING: 10.0}),
            _link("https://a.com/1", **{S.ANCHOR: "dup", S.DOMAIN_RATING: 90.0, S.DUPLICATE_OF: "x.csv:2"}),
            _link("https://a.com/2", **{S.ANCHOR: "bad", S.DOMAIN_RATING: 80.0, S.BAND: "rejected"})]
    site = _facts(rows)["a.com"]
    assert (site[S.N_LINKS], site[S.DOMAIN_RATING], site[S.TOP_ANCHORS]) == (1, 10.0, "kept (1)")


def test_facts_do_not_depend_on_chunks_or_merges():
    rng = np.random.default_rng(7)
    rows = [_link(f"https://s{rng.integers(12)}.com/{i}", float(rng.integers(0, 1000)) / 1000,
                  **{S.ANCHOR: f"anchor {rng.integers(4)}", S.TARGET_URL: f"https://me.com/{rng.integers(9)}",
                     S.DOMAIN_RATING: float(rng.integers(100)), S.NOFOLLOW: bool(rng.integers(2)),
                     S.FIRST_SEEN: pd.Timestamp("2024-01-01") + pd.Timedelta(days=int(rng.integers(400))),
                     S.LANGUAGE: ["en", "de", None][rng.integers(3)]})
            for i in range(400)]
    frame = _scored(rows)
    whole = recommend_domains(frame)
    for cuts in ([0, 1, 57, 200, 399, 400], [0, 133, 266, 400]):
        parts = [RollupAccumulator().update(frame.iloc[a:z]) for a, z in zip(cuts[:-1], cuts[1:])]
        merged = parts[-1]
        for p in reversed(parts[:-1]):
            merged = p.merge(merged)
        pd.testing.assert_frame_equal(merged.finish(), whole, check_exact=True)


def test_the_roll_up_as_csv_has_plain_text_lists_and_rounded_risks():
    frame = _scored([_link("https://a.com/1", 0.123456, **{S.ANCHOR: "x", S.DOMAIN_RATING: 5.0}),
                     _link("https://a.com/2", 0.987654, **{S.ANCHOR: "y"})])
    table = csv_table(recommend_domains(frame)).to_pydict()
    assert table[S.MAX_RISK] == [0.988] and table[S.MEAN_RISK] == [0.556]
    assert table[S.TOP_ANCHORS] == ["x (1); y (1)"] and table[S.DISAVOW_ENTRIES] == ["https://a.com/2"]
    assert list(table) == list(S.ROLLUP_COLUMNS)
