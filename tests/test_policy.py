"""Disavow policy: whitelist, thresholds, free hosts, gov/edu protection, per-site roll-up."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from toxlink import policy as P
from toxlink import schema as S
from toxlink.disavow import DisavowError, DisavowFile
from toxlink.policy import Policy, Whitelist, gov_edu_hosts, recommend_domains
from toxlink.resources import word_list
from toxlink.urls import domains_of, hosts_of


def scored(rows) -> pd.DataFrame:
    """A scored links table from ``(url, risk, band[, reasons[, duplicate_of[, row_issue]]])`` tuples."""
    rows = [tuple(r) + (None,) * (6 - len(r)) for r in rows]
    url, risk, band, reasons, dup, issue = map(list, zip(*rows))
    frame = pd.DataFrame(
        {
            S.SOURCE_URL: pd.Series(url, dtype="string"),
            S.RISK: pd.Series(risk, dtype="float64"),
            S.BAND: band,
            S.REASONS: pd.Series(reasons, dtype="string"),
            S.DUPLICATE_OF: pd.Series(dup, dtype="string"),
            S.ROW_ISSUE: pd.Series(issue, dtype="string"),
        }
    )
    frame[S.HOST] = hosts_of(frame[S.SOURCE_URL])
    frame[S.DOMAIN] = domains_of(frame[S.HOST])
    return frame


def by_site(table: pd.DataFrame) -> dict:
    return {row[P.ROLLUP_DOMAIN]: row for row in table.to_dict("records")}


# --- whitelist -------------------------------------------------------------------------------
WHITELIST = """# our own sites and partners
acmetools.com
domain:partner.org          # disavow-style line
*.friends.net
https://www.press.example.com/2024/acme-review
https://www.ourshop.de/
"""


def test_whitelist_parses_plain_disavow_style_and_url_lines():
    wl = Whitelist.parse(WHITELIST)
    assert wl.domains == {"acmetools.com", "partner.org", "friends.net", "ourshop.de"}
    assert wl.urls == {"www.press.example.com/2024/acme-review"}


def test_whitelist_covers_domains_subdomains_and_exact_urls():
    wl = Whitelist.parse(WHITELIST)
    hosts = ["acmetools.com", "blog.acmetools.com", "notacmetools.com", "partner.org.evil.com", "friends.net"]
    assert wl.covers_host(hosts).tolist() == [True, True, False, False, True]
    urls = [
        "http://www.press.example.com/2024/acme-review",  # scheme does not matter
        "https://www.press.example.com/2024/other",
        "https://press.example.com/2024/acme-review",  # a different host
        "https://shop.acmetools.com/x",
        None,
    ]
    assert wl.covers_url(urls).tolist() == [True, False, False, True, False]


def test_whitelist_read_names_the_bad_line(tmp_path):
    p = tmp_path / "whitelist.txt"
    p.write_text("good.com\n# c\nftp://files.example.com/x\n", encoding="utf-8")
    with pytest.raises(DisavowError, match=r"whitelist.txt, line 3: .*scheme ftp"):
        Whitelist.read(p)
    (tmp_path / "ok.txt").write_text("\ufeffgood.com\n", encoding="utf-8")
    assert Whitelist.read(tmp_path / "ok.txt").domains == {"good.com"}


def test_empty_whitelist_covers_nothing():
    wl = Whitelist()
    assert not wl and wl.covers_host(["a.com"]).tolist() == [False]
    assert Whitelist.parse("# only comments\n\n") == Whitelist()


# --- policy ----------------------------------------------------------------------------------
def test_policy_thresholds_resolution_and_validation():
    assert Policy().thresholds() == (P.FALLBACK_TOXIC, P.FALLBACK_REVIEW) == (0.7, 0.4)
    assert Policy().thresholds({"toxic": 0.8, "review": 0.5}) == (0.8, 0.5)
    assert Policy(toxic_threshold=0.9).thresholds({"toxic": 0.8, "review": 0.5}) == (0.9, 0.5)
    with pytest.raises(ValueError, match="review_threshold"):
        Policy(toxic_threshold=0.3, review_threshold=0.5)
    with pytest.raises(ValueError, match="between 0 and 1"):
        Policy(domain_share=1.5)
    with pytest.raises(ValueError, match="min_links_for_domain"):
        Policy(min_links_for_domain=0)


def test_free_hosts_list_is_bundled():
    hosts = word_list("free_hosts.txt")
    for h in ("blogspot.com", "wordpress.com", "wixsite.com", "weebly.com", "tumblr.com", "github.io", "pages.dev",
              "web.app", "netlify.app", "vercel.app", "herokuapp.com", "sites.google.com", "medium.com"):
        assert h in hosts
    assert all(" " not in h and "#" not in h and h == h.lower() for h in hosts)


# --- roll-up ----------------------------------------------------------------------------------
def test_whole_domain_mixed_domain_review_and_keep():
    table = recommend_domains(
        scored(
            [
                ("http://spam.com/a", 0.95, "toxic", "casino anchor; link-selling title"),
                ("http://www.spam.com/b", 0.90, "toxic", "casino anchor"),
                ("http://news.mixed.org/ok", 0.05, "ok"),
                ("http://mixed.org/fine", 0.10, "ok"),
                ("http://mixed.org/casino", 0.97, "toxic", "casino anchor"),
                ("http://iffy.net/x", 0.50, "review", "thin page"),
                ("http://good.de/", 0.02, "ok"),
            ]
        )
    )
    sites = by_site(table)
    assert table[P.ROLLUP_DOMAIN].tolist() == ["spam.com", "mixed.org", "iffy.net", "good.de"]
    assert sites["spam.com"][P.ACTION] == P.DISAVOW_DOMAIN
    assert sites["spam.com"][P.DISAVOW_ENTRIES] == ["domain:spam.com"]
    assert sites["spam.com"][P.TOP_REASONS] == "casino anchor; link-selling title"
    assert sites["mixed.org"][P.ACTION] == P.DISAVOW_URL
    assert sites["mixed.org"][P.DISAVOW_ENTRIES] == ["http://mixed.org/casino"]
    assert (sites["mixed.org"][P.N_LINKS], sites["mixed.org"][P.N_TOXIC]) == (3, 1)
    assert sites["mixed.org"][P.MAX_RISK] == pytest.approx(0.97)
    assert sites["mixed.org"][P.MEAN_RISK] == pytest.approx((0.05 + 0.10 + 0.97) / 3)
    assert sites["iffy.net"][P.ACTION] == P.REVIEW and sites["iffy.net"][P.DISAVOW_ENTRIES] == []
    assert sites["good.de"][P.ACTION] == P.KEEP
    assert list(table.columns) == list(P.ROLLUP_COLUMNS)


def test_free_host_sites_are_disavowed_by_host_and_the_platform_never():
    table = recommend_domains(
        scored(
            [
                ("https://spammy.wordpress.com/buy-links", 0.95, "toxic"),
                ("https://www.spammy.wordpress.com/more", 0.92, "toxic"),
                ("https://wordpress.com/tag/casino", 0.99, "toxic"),
                ("https://wordpress.com/read/x", 0.98, "toxic"),
                ("https://sites.google.com/view/slot-gacor/home", 0.97, "toxic"),
                ("https://casino.blogspot.de/p", 0.96, "toxic"),
                ("https://nice.github.io/", 0.05, "ok"),
            ]
        )
    )
    sites = by_site(table)
    assert sites["spammy.wordpress.com"][P.DISAVOW_ENTRIES] == ["domain:spammy.wordpress.com"]
    assert sites["casino.blogspot.de"][P.DISAVOW_ENTRIES] == ["domain:casino.blogspot.de"]
    # the platforms themselves: only their toxic URLs, never the domain
    assert sites["wordpress.com"][P.ACTION] == P.DISAVOW_URL
    assert sites["wordpress.com"][P.DISAVOW_ENTRIES] == ["https://wordpress.com/read/x", "https://wordpress.com/tag/casino"]
    assert sites["sites.google.com"][P.DISAVOW_ENTRIES] == ["https://sites.google.com/view/slot-gacor/home"]
    entries = [e for es in table[P.DISAVOW_ENTRIES] for e in es]
    assert not any(e in ("domain:wordpress.com", "domain:google.com", "domain:sites.google.com", "domain:blogspot.de")
                   for e in entries)
    assert table[P.FREE_HOST].all()


def test_whitelisted_domain_subdomain_and_url_are_never_disavowed():
    links = scored(
        [
            ("http://partner.org/a", 0.99, "toxic"),  # whitelisted domain
            ("http://blog.friend.com/a", 0.99, "toxic"),  # whitelisted via parent domain
            ("http://forum.site.net/spam", 0.99, "toxic"),  # whitelisted subdomain...
            ("http://site.net/spam", 0.99, "toxic"),  # ...so site.net only by URL
            ("http://press.io/review", 0.99, "toxic"),  # whitelisted URL
            ("http://press.io/spam", 0.99, "toxic"),
        ]
    )
    wl = Whitelist.from_entries(["partner.org", "friend.com", "forum.site.net", "http://press.io/review"])
    sites = by_site(recommend_domains(links, Policy(whitelist=wl)))
    for site in ("partner.org", "friend.com"):
        assert sites[site][P.ACTION] == P.KEEP and sites[site][P.WHITELISTED]
        assert sites[site][P.DISAVOW_ENTRIES] == []
    assert sites["site.net"][P.ACTION] == P.DISAVOW_URL and not sites["site.net"][P.WHITELISTED]
    assert sites["site.net"][P.DISAVOW_ENTRIES] == ["http://site.net/spam"]
    assert sites["press.io"][P.DISAVOW_ENTRIES] == ["http://press.io/spam"]
    # a site whose only toxic link is whitelisted is left for review
    only = by_site(recommend_domains(links.iloc[[4]], Policy(whitelist=wl)))
    assert only["press.io"][P.ACTION] == P.REVIEW


@pytest.mark.parametrize(
    "host, protected",
    [("www.ox.ac.uk", True), ("data.gov.uk", True), ("nasa.gov", True), ("mit.edu", True), ("x.edu.au", True),
     ("impots.gouv.fr", True), ("sat.gob.mx", True), ("city.k12.ca.us", True), ("www.mext.go.jp", True),
     ("army.mil", True), ("spam.ac", False), ("governor.com", False), ("edu-spam.xyz", False)],
)
def test_gov_edu_hosts(host, protected):
    assert gov_edu_hosts([host]).tolist() == [protected]


def test_gov_edu_protection_only_when_asked():
    links = scored([("http://hacked.ac.uk/casino", 0.99, "toxic"), ("http://www.spam.ac/x", 0.99, "toxic")])
    off = by_site(recommend_domains(links, Policy()))
    on = by_site(recommend_domains(links, Policy(protect_gov_edu=True)))
    assert off["hacked.ac.uk"][P.ACTION] == P.DISAVOW_DOMAIN
    assert on["hacked.ac.uk"][P.ACTION] == P.REVIEW and on["hacked.ac.uk"][P.PROTECTED]
    assert on["hacked.ac.uk"][P.DISAVOW_ENTRIES] == []
    assert on["spam.ac"][P.ACTION] == P.DISAVOW_DOMAIN  # .ac is Ascension Island, not academia


def test_thresholds_from_policy_reband_the_links():
    links = scored([("http://a.com/1", 0.62, "ok"), ("http://b.com/1", 0.45, "ok"), ("http://c.com/1", 0.20, "ok")])
    as_banded = by_site(recommend_domains(links, Policy()))
    assert {s: r[P.ACTION] for s, r in as_banded.items()} == {"a.com": "keep", "b.com": "keep", "c.com": "keep"}
    strict = by_site(recommend_domains(links, Policy(toxic_threshold=0.6, review_threshold=0.3)))
    assert {s: r[P.ACTION] for s, r in strict.items()} == {"a.com": P.DISAVOW_DOMAIN, "b.com": P.REVIEW, "c.com": P.KEEP}
    # a threshold the policy leaves open comes from the model metadata
    meta = by_site(recommend_domains(links, Policy(toxic_threshold=0.6), model_thresholds={"toxic": 0.9, "review": 0.1}))
    assert meta["c.com"][P.ACTION] == P.REVIEW


def test_min_risk_floor_min_links_and_domain_share():
    low = scored([("http://a.com/1", 0.45, "toxic")])
    assert by_site(recommend_domains(low, Policy()))["a.com"][P.ACTION] == P.REVIEW  # under min_risk 0.5
    assert by_site(recommend_domains(low, Policy(min_risk=0.4)))["a.com"][P.ACTION] == P.DISAVOW_DOMAIN

    two = scored([("http://b.com/1", 0.9, "toxic"), ("http://b.com/2", 0.9, "toxic")])
    assert by_site(recommend_domains(two, Policy(min_links_for_domain=3)))["b.com"][P.ACTION] == P.DISAVOW_URL
    assert by_site(recommend_domains(two, Policy(min_links_for_domain=2)))["b.com"][P.ACTION] == P.DISAVOW_DOMAIN

    half = scored([("http://c.com/1", 0.9, "toxic"), ("http://c.com/2", 0.1, "ok")])
    assert by_site(recommend_domains(half, Policy()))["c.com"][P.ACTION] == P.DISAVOW_URL  # 0.5 is not above 0.5
    assert by_site(recommend_domains(half, Policy(domain_share=0.4)))["c.com"][P.ACTION] == P.DISAVOW_DOMAIN
    assert by_site(recommend_domains(two, Policy(domain_share=1.0)))["b.com"][P.ACTION] == P.DISAVOW_URL


def test_duplicates_and_rejected_rows_are_not_counted():
    links = scored(
        [
            ("http://d.com/1", 0.10, "ok"),
            ("http://d.com/1", 0.10, "ok", None, "export.csv:2"),
            ("http://d.com/2", 0.95, "toxic", "spam", "export.csv:9"),  # a duplicate
            ("http://d.com/3", np.nan, "rejected", "not scored: no host", None, "no host"),
            ("http://e.com/1", np.nan, "rejected"),
            ("http://f.com/1", 0.95, "toxic", None, None, "URL longer than 2048 characters"),
        ]
    )
    table = recommend_domains(links)
    assert table[P.ROLLUP_DOMAIN].tolist() == ["d.com"]
    row = table.iloc[0]
    assert (row[P.N_LINKS], row[P.N_TOXIC], row[P.ACTION]) == (1, 0, P.KEEP)


def test_sort_is_by_severity_then_risk_then_site_and_deterministic():
    links = scored(
        [
            ("http://z.com/1", 0.8, "toxic"),
            ("http://a.com/1", 0.8, "toxic"),
            ("http://m.com/1", 0.99, "toxic"),
            ("http://r.com/1", 0.6, "review"),
            ("http://k.com/1", 0.1, "ok"),
            ("http://u.com/1", 0.9, "toxic"),
            ("http://u.com/2", 0.1, "ok"),
        ]
    )
    first = recommend_domains(links)
    assert first[P.ROLLUP_DOMAIN].tolist() == ["m.com", "a.com", "z.com", "u.com", "r.com", "k.com"]
    shuffled = recommend_domains(links.sample(frac=1.0, random_state=3))
    pd.testing.assert_frame_equal(first, shuffled)


def test_top_reasons_are_the_three_most_frequent_among_toxic_and_review_links():
    links = scored(
        [
            ("http://s.com/1", 0.9, "toxic", "a; b; c"),
            ("http://s.com/2", 0.9, "toxic", "b; c"),
            ("http://s.com/3", 0.5, "review", "c; d"),
            ("http://s.com/4", 0.1, "ok", "e; e2; e3"),
            ("http://s.com/5", 0.1, "ok", "e; e2; e3"),
        ]
    )
    assert recommend_domains(links).iloc[0][P.TOP_REASONS] == "c; b; a"


def test_empty_and_all_rejected_inputs_give_an_empty_table():
    table = recommend_domains(scored([("http://x.com/", np.nan, "rejected")]))
    assert table.empty and list(table.columns) == list(P.ROLLUP_COLUMNS)


def test_roll_up_to_disavow_file_end_to_end():
    links = scored(
        [
            ("http://spam.com/a", 0.95, "toxic", "casino anchor"),
            ("http://mixed.org/casino", 0.97, "toxic", "casino anchor"),
            ("http://mixed.org/fine", 0.10, "ok"),
            ("https://bücher-spam.de/x", 0.91, "toxic", "paid link"),
            ("https://partner.org/x", 0.99, "toxic"),
        ]
    )
    wl = Whitelist.from_entries(["partner.org"])
    table = recommend_domains(links, Policy(whitelist=wl))
    new = DisavowFile.from_recommendations(table, date="2026-03-04")
    existing = DisavowFile.parse("# mine\ndomain:spam.com\n")
    merged, diff = existing.merge(new, whitelist=wl, date="2026-03-04")
    assert merged.lines[:2] == ("# mine", "domain:spam.com")
    assert merged.entries == {
        ("domain", "spam.com"),
        ("domain", "xn--bcher-spam-9db.de"),
        ("url", "http://mixed.org/casino"),
    }
    assert "# toxlink 2026-03-04: 1 domain, 1 URL" in merged.lines
    assert [r.entry for r in diff.already_present] == ["domain:spam.com"]


# --- streaming roll-up ------------------------------------------------------------------------
SENTENCES = np.array(["casino anchor", "link-selling title", "thin page", "sitewide footer link",
                      "page in a link network", "new domain", "spammy TLD"], dtype=object)
WL_STREAM = Whitelist.from_entries(["partner.org", "http://press.io/review"])
EDGE_ROWS = [
    ("https://x.wordpress.com/buy-links", 0.95, "toxic", "casino anchor"),  # a free-host site...
    ("https://www.x.wordpress.com/more", 0.92, "toxic", "casino anchor; thin page"),
    ("https://x.wordpress.com/fine", 0.10, "ok"),
    ("https://y.blogspot.com/a", 0.97, "toxic", "spammy TLD"),
    ("https://wordpress.com/tag/casino", 0.99, "toxic", "casino anchor"),  # ...and the platform itself
    ("http://hacked.ac.uk/casino", 0.99, "toxic", "casino anchor"),  # protected gov/edu
    ("https://www.city.gov/spam", 0.80, "toxic", "thin page"),
    ("http://mit.edu/x", 0.05, "ok"),
    ("http://partner.org/a", 0.99, "toxic", "casino anchor"),  # whitelisted domain
    ("http://press.io/review", 0.99, "toxic", "thin page"),  # whitelisted URL...
    ("http://press.io/spam", 0.98, "toxic", "thin page"),  # ...so press.io only by URL
    ("http://press.io/spam", 0.98, "toxic", "thin page", "synthetic:9"),  # a duplicate
    ("http://gone.com/x", np.nan, "rejected", None, None, "no host"),  # rejected
]


@pytest.fixture(scope="module")
def synth_scored() -> pd.DataFrame:
    """synth_links plus deterministic fake scores, duplicates, rejected rows and edge sites, shuffled."""
    from synth import synth_links

    links = synth_links(3000, seed=5)
    n = len(links)
    rng = np.random.default_rng(5)
    links[S.HOST] = hosts_of(links[S.SOURCE_URL])
    links[S.DOMAIN] = domains_of(links[S.HOST])
    links[S.RISK] = rng.beta(0.6, 1.5, n)
    links[S.BAND] = np.where(links[S.RISK] >= 0.7, "toxic", np.where(links[S.RISK] >= 0.4, "review", "ok")).astype(object)
    cells = ["; ".join(SENTENCES[(i * 3 + np.arange(i % 4)) % len(SENTENCES)]) for i in range(40)]
    links[S.REASONS] = np.asarray(cells, dtype=object)[rng.integers(0, 40, n)]
    links.loc[links.index[::37], S.DUPLICATE_OF] = "synthetic:2"
    rejected = links.index[5::53]
    links.loc[rejected, S.ROW_ISSUE] = "unparseable URL"
    links.loc[rejected, S.RISK] = np.nan
    links.loc[rejected, S.BAND] = "rejected"
    edges = scored(EDGE_ROWS * 3)
    frame = pd.concat([links, edges], ignore_index=True).sample(frac=1.0, random_state=11).reset_index(drop=True)
    frame[S.REASONS] = frame[S.REASONS].astype("category")  # as a scored parquet may hold it
    return frame


@pytest.fixture(scope="module")
def sample_scored() -> pd.DataFrame:
    """The shipped Ahrefs sample scored with the shipped model."""
    import toxlink
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "data" / "sample" / "ahrefs-backlinks-sample.csv"
    return toxlink.Predictor.load().score(toxlink.read_export([path]))


def _bounds(n: int, kind: str, frame: pd.DataFrame) -> list[int]:
    if kind == "one":
        return [0, n]
    if kind == "uneven7":
        return [0, 1, n // 9, n // 9 + 2, n // 3, n // 2 + 7, n - 5, n]
    # cut through the middle of the 6 largest sites of a table sorted by domain
    runs = frame[S.DOMAIN].fillna("").to_numpy(dtype=object)
    starts = np.flatnonzero(np.concatenate(([True], runs[1:] != runs[:-1])))
    lens = np.diff(np.append(starts, n))
    big = np.argsort(-lens, kind="stable")[:6]
    return sorted({0, n, *(starts[big] + lens[big] // 2).tolist()})


def _chunks(frame: pd.DataFrame, kind: str) -> list[pd.DataFrame]:
    b = _bounds(len(frame), kind, frame)
    return [frame.iloc[a:z] for a, z in zip(b[:-1], b[1:])]


STREAM_POLICIES = {
    "default": (Policy(), None),
    "protect+whitelist": (Policy(protect_gov_edu=True, whitelist=WL_STREAM), None),
    "reband": (Policy(toxic_threshold=0.6, whitelist=WL_STREAM, min_links_for_domain=2), {"toxic": 0.9, "review": 0.3}),
}


def _table(request, which: str, split: str) -> pd.DataFrame:
    frame = request.getfixturevalue(which)
    if split == "sites-split":
        frame = frame.sort_values(S.DOMAIN, kind="stable").reset_index(drop=True)
    return frame


@pytest.mark.parametrize("which", ["synth_scored", "sample_scored"])
@pytest.mark.parametrize("split", ["one", "uneven7", "sites-split"])
@pytest.mark.parametrize("pol", list(STREAM_POLICIES))
def test_accumulator_over_any_chunking_equals_the_whole_table_roll_up(request, which, split, pol):
    frame = _table(request, which, split)
    policy, thresholds = STREAM_POLICIES[pol]
    chunks = _chunks(frame, split)
    assert len(chunks) == {"one": 1, "uneven7": 7, "sites-split": 7}[split]
    if split == "sites-split":  # some site really has links on both sides of a cut
        per_chunk = [set(c[S.DOMAIN].dropna()) for c in chunks]
        assert any(a & b for a, b in zip(per_chunk[:-1], per_chunk[1:]))
    acc = P.RollupAccumulator(policy, model_thresholds=thresholds)
    for c in chunks:
        assert acc.update(c) is acc
    got = acc.finish()
    want = recommend_domains(frame, policy, model_thresholds=thresholds)
    pd.testing.assert_frame_equal(got, want, check_exact=True)
    # The shipped model scores host names: all links of one host share a risk, so the sample
    # has no site with only some of its URLs toxic; synth_scored's edge rows cover that action.
    expected = set(P.ACTIONS) - ({P.DISAVOW_URL} if which == "sample_scored" else set())
    assert len(want) > 50 and set(want[P.ACTION]) >= expected
    if which == "synth_scored":  # the edge sites are in the table and decided as intended
        sites = by_site(want)
        assert sites["x.wordpress.com"][P.FREE_HOST] and sites["wordpress.com"][P.ACTION] == P.DISAVOW_URL
        assert sites["press.io"][P.DISAVOW_ENTRIES] == ["http://press.io/spam"] or pol == "default"
        assert sites["hacked.ac.uk"][P.PROTECTED] == (pol == "protect+whitelist")
        assert sites["partner.org"][P.WHITELISTED] == (pol != "default")
        assert "gone.com" not in sites


def test_merged_partition_accumulators_equal_one_accumulator(synth_scored):
    policy, thresholds = STREAM_POLICIES["protect+whitelist"]
    chunks = _chunks(synth_scored, "uneven7")

    def acc_of(parts):
        acc = P.RollupAccumulator(policy, model_thresholds=thresholds)
        for c in parts:
            acc.update(c)
        return acc

    one = acc_of(chunks).finish()
    pd.testing.assert_frame_equal(one, recommend_domains(synth_scored, policy), check_exact=True)
    # partitions of 1, 3, 1 and 2 chunks, merged left to right and as a tree (Dask's reduction)
    parts = [chunks[:1], chunks[1:4], chunks[4:5], chunks[5:]]
    linear = acc_of(parts[0])
    for p in parts[1:]:
        linear.merge(acc_of(p))
    pd.testing.assert_frame_equal(linear.finish(), one, check_exact=True)
    tree = acc_of(parts[0]).merge(acc_of(parts[1])).merge(acc_of(parts[2]).merge(acc_of(parts[3])))
    pd.testing.assert_frame_equal(tree.finish(), one, check_exact=True)
    # an empty partition (or one with only rejected rows) changes nothing
    rejected = synth_scored[synth_scored[S.BAND].eq("rejected")]
    padded = acc_of([]).merge(acc_of(chunks)).merge(acc_of([rejected]))
    pd.testing.assert_frame_equal(padded.finish(), one, check_exact=True)
    with pytest.raises(ValueError, match="different policies"):
        acc_of([]).merge(P.RollupAccumulator(Policy()))


def test_accumulator_size_does_not_grow_with_chunks_of_the_same_sites(synth_scored):
    import pickle

    chunk = synth_scored.iloc[:1500]
    acc = P.RollupAccumulator(Policy(whitelist=WL_STREAM))
    sizes = [len(pickle.dumps(acc.update(chunk))) for _ in range(48)]  # what a Dask worker ships back
    assert max(sizes) < 3 * max(sizes[:16])  # per-site aggregates: they stop growing with the chunks
    assert sizes[0] < len(pickle.dumps(chunk))
    # ... while the counts do add up, and the pickled accumulator goes on where it stopped
    one = by_site(P.RollupAccumulator(Policy(whitelist=WL_STREAM)).update(chunk).finish())
    many = by_site(pickle.loads(pickle.dumps(acc)).finish())
    assert many.keys() == one.keys()
    assert all(many[s][P.N_LINKS] == 48 * one[s][P.N_LINKS] for s in one)
    assert all(many[s][P.DISAVOW_ENTRIES] == one[s][P.DISAVOW_ENTRIES] for s in one if one[s][P.ACTION] == many[s][P.ACTION])


def test_mean_risk_is_exact_whatever_the_order_and_chunking():
    import math

    rng = np.random.default_rng(0)
    risk = np.concatenate([rng.random(297), [1.0, 1e-9, 0.3]])
    links = scored([(f"http://a.com/{i}", r, "ok") for i, r in enumerate(risk)])
    want = math.fsum(risk) / len(risk)  # the exact sum, rounded once
    assert recommend_domains(links)[P.MEAN_RISK].iloc[0] == want
    order = rng.permutation(len(links))
    acc = P.RollupAccumulator()
    for part in np.array_split(order, 13):
        acc.update(links.iloc[part])
    assert acc.finish()[P.MEAN_RISK].iloc[0] == want
    # a non-finite risk poisons the mean as a float sum would
    assert np.isnan(recommend_domains(scored([("http://b.com/1", np.inf, "toxic"), ("http://b.com/2", -np.inf, "ok")]))[P.MEAN_RISK].iloc[0])


@pytest.mark.parametrize("n_domains", [1, 40])  # a few whole-array passes / the per-label lookup
def test_covers_host_agrees_with_covering_domain_for_short_and_long_whitelists(n_domains):
    def covering_domain(host, domains):  # the host or the nearest parent domain listed
        labels = host.split(".")
        return next((".".join(labels[i:]) for i in range(len(labels)) if ".".join(labels[i:]) in domains), None)

    domains = ["a.com", "x.co.uk"] + [f"filler{i}.org" for i in range(n_domains - 2)]
    wl = Whitelist.from_entries(domains[:n_domains])
    hosts = ["a.com", "b.a.com", "xa.com", "a.com.", "com", "a..a.com", "deep.b.a.com", "x.co.uk",
             "y.x.co.uk", "co.uk", "filler3.org", "www.filler3.org", "filler3.org.evil.net", "", None]
    want = [h is not None and covering_domain(h, wl.domains) is not None for h in hosts]
    assert wl.covers_host(pd.Series(hosts, dtype="string")).tolist() == want
    assert wl.covers_host(pd.Series(hosts, dtype=object)).tolist() == want
    assert sum(want) == (4 if n_domains == 1 else 8)


def test_roll_up_reads_reasons_from_any_string_column_alike():
    rows = [("http://spam.com/1", 0.9, "toxic", "b; a"), ("http://spam.com/2", 0.9, "toxic", " a ;  b; ; c"),
            ("http://spam.com/3", 0.5, "review", "a; c; "), ("http://spam.com/4", 0.9, "toxic", ""),
            ("http://spam.com/5", 0.9, "toxic", None), ("http://ok.com/1", 0.1, "ok", "z; z; z")]
    frame = scored(rows)
    got = {}
    for kind in ("string", object, "categorical"):
        f = frame.copy()
        f[S.REASONS] = f[S.REASONS].astype("category" if kind == "categorical" else kind)
        got[str(kind)] = recommend_domains(f)
    pd.testing.assert_frame_equal(got["string"], got["<class 'object'>"], check_exact=True)
    pd.testing.assert_frame_equal(got["string"], got["categorical"], check_exact=True)
    sites = by_site(got["string"])
    # parts are split on "; ", stripped, empty ones dropped: a 3 times, b and c twice
    assert sites["spam.com"][P.TOP_REASONS] == "a; b; c"
    assert sites["ok.com"][P.TOP_REASONS] == ""  # ok links' reasons are not counted


def test_disavow_url_entries_are_distinct_and_sorted_across_chunks_and_spellings():
    # The same toxic URL in several chunks and spellings is one entry; a site's entries
    # are in code-point order (what Python's sorted gives), whatever order they came in.
    rows = [
        ("http://mixed.org/ok-%d" % i, 0.05, "ok") for i in range(6)
    ] + [
        ("http://mixed.org/Zebra", 0.96, "toxic"),
        ("HTTP://MIXED.ORG/casino", 0.97, "toxic"),
        ("http://mixed.org/\u00e9t\u00e9", 0.95, "toxic"),
        ("http://mixed.org/casino", 0.97, "toxic"),
        ("http://mixed.org/Zebra", 0.96, "toxic"),
        ("http://mixed.org/apple", 0.95, "toxic"),
    ]
    table = scored(rows)
    acc = P.RollupAccumulator()
    for part in (table.iloc[:7], table.iloc[7:9], table.iloc[9:]):
        acc.update(part)
    site = by_site(acc.finish())["mixed.org"]
    assert site[P.ACTION] == P.DISAVOW_URL
    want = sorted({"http://mixed.org/Zebra", "http://mixed.org/casino", "http://mixed.org/apple",
                   "http://mixed.org/\u00e9t\u00e9"})
    assert site[P.DISAVOW_ENTRIES] == want
    assert by_site(recommend_domains(table))["mixed.org"][P.DISAVOW_ENTRIES] == want


# --- the rules on per-site facts ---------------------------------------------------------------
def site_stats(**sites) -> pd.DataFrame:
    """Per-site facts for decide_actions: each site's non-default facts as keyword arguments."""
    default = {S.N_LINKS: 4, S.N_TOXIC: 0, S.N_REVIEW: 0, S.N_DISAVOWABLE: 0, S.N_URL_ENTRIES: 0,
               S.WHITELISTED: False, S.WHITELISTED_BELOW: False, S.PROTECTED: False, S.PLATFORM: False}
    rows = [{S.DOMAIN: name, **default, **facts} for name, facts in sites.items()]
    frame = pd.DataFrame(rows)
    frame[S.TOXIC_SHARE] = frame[S.N_TOXIC] / frame[S.N_LINKS]
    return frame.set_index(S.DOMAIN)


def actions(frame: pd.DataFrame, policy: Policy = Policy()) -> dict:
    return P.decide_actions(frame, policy).to_dict()


def test_decide_actions_disavows_mostly_toxic_sites_whole_and_mixed_ones_by_url():
    toxic = dict(n_toxic=3, n_disavowable=3, n_url_entries=3)
    stats = site_stats(spam=toxic, mixed=dict(toxic, n_links=6), half=dict(toxic, n_links=6),
                       iffy=dict(n_review=1), fine={})
    assert actions(stats) == {"spam": P.DISAVOW_DOMAIN, "mixed": P.DISAVOW_URL, "half": P.DISAVOW_URL,
                              "iffy": P.REVIEW, "fine": P.KEEP}
    assert actions(stats, Policy(domain_share=0.4))["half"] == P.DISAVOW_DOMAIN  # 3 of 6 is above 0.4
    assert actions(stats, Policy(min_links_for_domain=5))["spam"] == P.DISAVOW_URL  # too few links to judge


def test_decide_actions_whitelist_and_protection_come_first():
    toxic = dict(n_toxic=4, n_disavowable=4, n_url_entries=4)
    stats = site_stats(ours=dict(toxic, whitelisted=True), college=dict(toxic, protected=True),
                       school=dict(protected=True), unlisted=dict(n_toxic=4, n_disavowable=0))
    assert actions(stats) == {"ours": P.KEEP, "college": P.REVIEW, "school": P.KEEP, "unlisted": P.REVIEW}


def test_decide_actions_never_disavows_a_platform_or_a_site_above_the_whitelist_whole():
    toxic = dict(n_toxic=4, n_disavowable=4, n_url_entries=4)
    stats = site_stats(platform=dict(toxic, platform=True), above=dict(toxic, whitelisted_below=True),
                       unwritable=dict(toxic, platform=True, n_url_entries=0))
    assert actions(stats) == {"platform": P.DISAVOW_URL, "above": P.DISAVOW_URL, "unwritable": P.REVIEW}


def test_accumulator_pickles_and_merges_after_the_trip(synth_scored):
    import pickle

    policy, thresholds = STREAM_POLICIES["reband"]
    chunks = _chunks(synth_scored, "uneven7")
    parts = []
    for c in chunks:  # as Dask workers return them: pickled
        parts.append(pickle.loads(pickle.dumps(P.RollupAccumulator(policy, model_thresholds=thresholds).update(c))))
    merged = parts[0]
    for p in parts[1:]:
        merged.merge(p)
    pd.testing.assert_frame_equal(merged.finish(), recommend_domains(synth_scored, policy, model_thresholds=thresholds),
                                  check_exact=True)


@pytest.mark.parametrize("dtype", ["string", object])
def test_a_host_without_a_domain_is_its_own_site(dtype):
    links = scored([("http://a.example.com/1", 0.9, "toxic"), ("http://b.example.com/1", 0.1, "ok"),
                    ("https://x.wordpress.com/p", 0.9, "toxic"), ("http://10.0.0.1/x", 0.5, "review")])
    links[S.DOMAIN] = pd.Series([None, "example.com", None, None], dtype=dtype)
    assert sorted(recommend_domains(links)[P.ROLLUP_DOMAIN]) == ["10.0.0.1", "a.example.com", "example.com",
                                                                 "x.wordpress.com"]
