"""Feature families on hand-written rows whose right answer is known."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from toxlink import schema as S
from toxlink.features import FEATURES, compute, families, feature_names

TARGET = "https://acmetools.com/shop/"


def links(rows: list[dict], conform: bool = False) -> pd.DataFrame:
    frame = pd.DataFrame(rows)
    for c in frame.columns:
        if c in S.DTYPES:
            frame[c] = frame[c].astype(S.DTYPES[c])
    return S.conform(frame) if conform else frame


def feats(rows: list[dict], **kw) -> pd.DataFrame:
    rows = [{S.TARGET_URL: TARGET, **r} for r in rows]
    return compute(links(rows, **kw))


def one(url: str, **extra) -> pd.Series:
    return feats([{S.SOURCE_URL: url, **extra}]).iloc[0]


# --- contract --------------------------------------------------------------------------


def test_shape_dtype_order_and_index():
    frame = links([{S.SOURCE_URL: "https://a.example.com/x", S.ANCHOR: "hi"}, {S.SOURCE_URL: "http://b.org/"}])
    frame.index = pd.Index([10, 7])
    X = compute(frame)
    assert list(X.columns) == feature_names()
    assert (X.dtypes == np.float32).all()
    assert list(X.index) == [10, 7]
    assert len(FEATURES) >= 60
    assert set(families()) == {"domain", "tld", "url", "anchor", "link", "content", "profile", "hostname"}


def test_every_feature_has_meaning_and_callable_reason():
    for f in FEATURES:
        assert f.meaning and "\n" not in f.meaning, f.name
        assert f.reason(float("nan")) is None, f.name  # missing never explains a score
        for v in (0.0, 1.0, 1e6):
            r = f.reason(v)
            assert r is None or isinstance(r, str), f.name


def test_missing_columns_give_nan_not_zero():
    X = compute(pd.DataFrame({S.SOURCE_URL: ["https://example.com/a"]}))
    row = X.iloc[0]
    for name in ("anc_empty", "anc_branded", "lnk_nofollow", "lnk_domain_rating", "lnk_first_seen_days",
                 "cnt_title_length", "cnt_text_spam_terms", "prf_subnet_domains", "prf_title_domains",
                 "prf_sitewide_share", "prf_day_burst", "anc_script_mismatch"):
        assert math.isnan(row[name]), name
    assert row["url_path_depth"] == 1
    assert row["dom_label_length"] == len("example")


def test_conformed_all_na_columns_are_nan_too():
    X = feats([{S.SOURCE_URL: "https://example.com/a"}], conform=True)
    assert math.isnan(X.iloc[0]["anc_length"])
    assert math.isnan(X.iloc[0]["lnk_sitewide"])


def test_host_derived_when_absent_and_used_when_present():
    frame = links([{S.SOURCE_URL: "https://ignored.example/"}])
    frame[S.HOST] = pd.Series(["casino-777.xyz"], dtype="string")
    frame[S.DOMAIN] = pd.Series(["casino-777.xyz"], dtype="string")
    row = compute(frame).iloc[0]
    assert row["dom_spam_terms"] == 1
    assert row["dom_digits"] == 3


# --- domain ------------------------------------------------------------------------------


def test_domain_normalisation_uppercase_trailing_dot_port_userinfo():
    a = one("HTTP://user:pw@WWW.Example.COM.:8080/page")
    b = one("http://www.example.com/page")
    for name in families()["domain"] + families()["tld"]:
        assert a[name] == b[name] or (math.isnan(a[name]) and math.isnan(b[name])), name
    assert a["dom_host_length"] == len("www.example.com")
    assert a["dom_subdomain_depth"] == 0  # www is not a subdomain level
    assert a["url_userinfo"] == 1 and a["url_nonstandard_port"] == 1
    assert b["url_userinfo"] == 0 and b["url_nonstandard_port"] == 0


def test_domain_lexical_counts():
    r = one("https://a.b.best-cheap-loans24.co.uk/")
    assert r["dom_label_length"] == len("best-cheap-loans24")
    assert r["dom_digits"] == 2
    assert r["dom_hyphens"] == 2
    assert r["dom_subdomain_depth"] == 2
    assert r["dom_spam_terms"] == 1  # "loans" (and "loan" inside it counts once: leftmost-longest)
    assert r["tld_country"] == 1 and r["tld_second_level"] == 1 and r["tld_generic"] == 0


def test_domain_entropy_vowels_and_random_looking():
    r = one("http://aaaa.com/")
    assert r["dom_entropy"] == 0 and r["dom_vowel_ratio"] == 1
    r = one("http://abcd.com/")
    assert r["dom_entropy"] == pytest.approx(2.0)
    assert one("http://xkcdqwrtzp.net/")["dom_random_looking"] == 1
    assert one("http://xkcdqwrtzp.net/")["dom_max_consonant_run"] == 10
    assert one("http://gardenblue.net/")["dom_random_looking"] == 0


def test_domain_spam_terms_substrings_and_short_tokens():
    assert one("http://slotgacor88.com/")["dom_spam_terms"] >= 1
    assert one("http://bet-365.com/")["dom_spam_terms"] == 1
    assert one("http://alphabet.com/")["dom_spam_terms"] == 0  # "bet" only as a token
    assert one("http://gardenblue.com/")["dom_spam_terms"] == 0


def test_ip_hosts_v4_and_v6():
    v4 = one("http://192.168.10.5:8080/x")
    v6 = one("http://[2001:db8::1]/x")
    for r in (v4, v6):
        assert r["dom_is_ip"] == 1
        assert math.isnan(r["dom_label_length"]) and math.isnan(r["dom_entropy"])
        assert math.isnan(r["tld_generic"]) and math.isnan(r["tld_phish_score"])
        assert r["url_path_depth"] == 1


def test_idn_host():
    r = one("https://bücher.example/straße")
    assert r["dom_is_idn"] == 1
    assert one("https://xn--bcher-kva.de/")["dom_is_idn"] == 1
    assert one("https://buecher.de/")["dom_is_idn"] == 0


def test_free_host_and_private_suffix():
    r = one("https://myblog.blogspot.com/2020/01/x.html")
    assert r["dom_free_host"] == 1 and r["dom_private_suffix"] == 1
    assert r["dom_label_length"] == len("myblog")
    assert one("https://acme.github.io/")["dom_free_host"] == 1
    assert one("https://example.com/")["dom_free_host"] == 0


def test_rows_without_host_are_nan():
    X = feats([{S.SOURCE_URL: None}, {S.SOURCE_URL: "mailto:a@b.c"}])
    assert X[["dom_host_length", "tld_generic", "url_length"]].iloc[0].isna().all()
    assert X[["dom_host_length", "tld_generic"]].iloc[1].isna().all()


# --- tld ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url, kind",
    [
        ("https://a.com/", "tld_generic"),
        ("https://a.de/", "tld_country"),
        ("https://a.co.uk/", "tld_country"),
        ("https://a.xyz/", "tld_new_gtld"),
        ("https://a.online/", "tld_new_gtld"),
        ("https://a.gov/", "tld_institutional"),
        ("https://x.gov.uk/", "tld_institutional"),
        ("https://x.ac.uk/", "tld_institutional"),
        ("https://x.edu.au/", "tld_institutional"),
        ("https://mit.edu/", "tld_institutional"),
    ],
)
def test_tld_kind_one_hot(url, kind):
    r = one(url)
    kinds = ["tld_generic", "tld_country", "tld_new_gtld", "tld_institutional"]
    assert [r[k] for k in kinds] == [1.0 if k == kind else 0.0 for k in kinds]


def test_tld_risk_prior_from_source_and_nan_when_absent():
    assert one("https://a.top/")["tld_phish_score"] == pytest.approx(532.6)
    assert one("https://a.com/")["tld_phish_score"] == pytest.approx(29.4)
    assert one("https://a.sub.com.cn/")["tld_phish_score"] == pytest.approx(35.1)  # TLD = last label
    assert math.isnan(one("https://a.de/")["tld_phish_score"])  # not in the source: missing, not 0
    from toxlink.features.registry import reason

    assert "TLD .top" in reason("tld_phish_score", np.float32(532.6))
    assert reason("tld_phish_score", 29.4) is None


def test_tld_unlisted():
    r = one("http://server.localdomainx/")
    assert r["tld_unlisted"] == 1


# --- url ---------------------------------------------------------------------------------


def test_url_shape():
    r = one("https://ex.com/all/938/13.html?utm_source=x&ref=abc&id=5")
    assert r["url_path_depth"] == 3
    assert r["url_numeric_segments"] == 2
    assert r["url_file_page"] == 1
    assert r["url_query_params"] == 3
    assert r["url_tracking_params"] == 2
    assert r["url_homepage"] == 0
    assert r["url_https"] == 1
    assert r["url_length"] == len("https://ex.com/all/938/13.html?utm_source=x&ref=abc&id=5")


def test_url_page_patterns():
    assert one("https://blog.ex.com/post/?replytocom=123#respond")["url_replytocom"] == 1
    assert one("https://ex.com/forum/member.php?u=5")["url_profile_page"] == 1
    assert one("https://ex.com/members/johnny/")["url_profile_page"] == 1
    assert one("https://ex.com/viewtopic.php?t=77")["url_forum_page"] == 1
    assert one("https://ex.com/guestbook.html")["url_guestbook"] == 1
    assert one("https://ex.com/post/#comment-5")["url_comment_page"] == 1
    assert one("https://ex.com/links.html")["url_links_page"] == 1
    assert one("https://ex.com/go.php?url=https://spam.example/")["url_embedded_url"] == 1
    assert one("https://bit.ly/3xYz")["url_shortener"] == 1
    plain = one("https://ex.com/blog/how-to-grow-tomatoes")
    for name in ("url_replytocom", "url_profile_page", "url_forum_page", "url_guestbook", "url_comment_page",
                 "url_links_page", "url_embedded_url", "url_shortener", "url_tracking_params", "url_spam_terms"):
        assert plain[name] == 0, name


def test_url_spam_terms_and_homepage():
    assert one("https://ex.com/slot-gacor/deneme-bonusu")["url_spam_terms"] == 2
    assert one("https://ex.com/?q=buy+viagra")["url_spam_terms"] == 1
    assert one("https://ex.com/")["url_homepage"] == 1
    assert one("https://ex.com")["url_homepage"] == 1


# --- anchor ------------------------------------------------------------------------------


def anchors(*texts, **extra) -> pd.DataFrame:
    return feats([{S.SOURCE_URL: "https://ref.example/p", S.ANCHOR: t, **extra} for t in texts])


def test_anchor_empty_missing_and_length():
    X = anchors("", None, "  Read  more ")
    assert X["anc_empty"].tolist()[0] == 1 and math.isnan(X["anc_empty"].iloc[1])
    assert X["anc_length"].iloc[2] == len("Read  more")
    assert X["anc_words"].iloc[2] == 2
    assert X["anc_generic"].iloc[2] == 1


def test_anchor_brand_generic_url_commercial():
    X = anchors("Acme Tools", "acmetools.com", "https://acmetools.com/", "click here", "Klik di sini",
                "best cheap tools", "buy tools online", "Acme Tools review", "how I fixed my fence")
    assert X["anc_branded"].tolist() == [1, 1, 1, 0, 0, 0, 0, 1, 0]
    assert X["anc_naked_url"].tolist() == [0, 1, 1, 0, 0, 0, 0, 0, 0]
    assert X["anc_generic"].tolist() == [0, 0, 0, 1, 1, 0, 0, 0, 0]
    assert X["anc_exact_match"].tolist() == [0, 0, 0, 0, 0, 1, 1, 0, 0]
    assert X["anc_partial_match"].tolist() == [0, 0, 0, 0, 0, 0, 0, 1, 0]


def test_anchor_branded_is_nan_without_target():
    X = compute(links([{S.SOURCE_URL: "https://r.example/", S.ANCHOR: "Acme"}]))
    assert math.isnan(X["anc_branded"].iloc[0])


def test_anchor_multilingual_spam():
    X = anchors("SLOT GACOR hari ini", "deneme bonusu veren siteler", "Mahjong Ways 2", "bandar togel terpercaya",
                "cheap viagra online", "best essay writing service", "garden tools")
    assert (X["anc_gambling_terms"].iloc[:4] >= 1).all()
    assert X["anc_pharma_terms"].iloc[4] == 1
    assert X["anc_other_spam_terms"].iloc[5] >= 1
    assert X["anc_spam_terms"].iloc[6] == 0
    assert X["anc_all_caps"].tolist()[:2] == [0, 0]
    assert anchors("BUY NOW CHEAP")["anc_all_caps"].iloc[0] == 1


def test_anchor_scripts_and_language_mismatch():
    rows = [
        {S.SOURCE_URL: "https://r.example/", S.ANCHOR: "p\u0430ypal", S.LANGUAGE: "en"},  # Cyrillic 'а'
        {S.SOURCE_URL: "https://r.example/", S.ANCHOR: "Купить дешево", S.LANGUAGE: "en"},
        {S.SOURCE_URL: "https://r.example/", S.ANCHOR: "Купить дешево", S.LANGUAGE: "ru"},
        {S.SOURCE_URL: "https://r.example/", S.ANCHOR: "garden tools", S.LANGUAGE: None},
        {S.SOURCE_URL: "https://r.example/", S.ANCHOR: "123", S.LANGUAGE: "en"},
    ]
    X = feats(rows)
    assert X["anc_script_mixing"].tolist() == [1, 0, 0, 0, 0]
    assert X["anc_non_latin"].tolist() == [0, 1, 1, 0, 0]
    m = X["anc_script_mismatch"].tolist()
    assert m[:3] == [0, 1, 0] and math.isnan(m[3]) and math.isnan(m[4])


def test_anchor_repeated_tokens():
    X = anchors("cheap shoes cheap shoes cheap", "one two")
    assert X["anc_repeated_tokens"].tolist() == [3, 0]


# --- link attributes ----------------------------------------------------------------------


def test_link_flags_and_metrics():
    rows = [
        {S.SOURCE_URL: "https://a.example/", S.NOFOLLOW: True, S.UGC: False, S.SPONSORED: False, S.SITEWIDE: True,
         S.DOMAIN_RATING: 60.0, S.DOMAIN_TRAFFIC: 10.0, S.EXTERNAL_LINKS: 300.0, S.INTERNAL_LINKS: 100.0,
         S.TRUST_FLOW: 5.0, S.CITATION_FLOW: 50.0, S.HTTP_CODE: 404.0},
        {S.SOURCE_URL: "https://b.example/", S.NOFOLLOW: False, S.UGC: None, S.SPONSORED: None, S.SITEWIDE: None,
         S.DOMAIN_RATING: 10.0, S.DOMAIN_TRAFFIC: None, S.EXTERNAL_LINKS: 0.0, S.INTERNAL_LINKS: 0.0},
    ]
    X = feats(rows)
    a, b = X.iloc[0], X.iloc[1]
    assert a["lnk_nofollow"] == 1 and a["lnk_followed"] == 0 and a["lnk_sitewide"] == 1
    assert b["lnk_nofollow"] == 0 and b["lnk_followed"] == 1 and math.isnan(b["lnk_sitewide"])
    assert a["lnk_authority_no_traffic"] == 1 and math.isnan(b["lnk_authority_no_traffic"])
    assert a["lnk_external_ratio"] == pytest.approx(0.75) and b["lnk_external_ratio"] == 0
    assert a["lnk_trust_ratio"] == pytest.approx(0.1) and math.isnan(b["lnk_trust_ratio"])
    assert a["lnk_http_error"] == 1 and math.isnan(b["lnk_http_error"])


def test_link_ages_relative_to_export_reference_date():
    rows = [
        {S.SOURCE_URL: "https://a.example/", S.FIRST_SEEN: pd.Timestamp("2024-01-01"), S.LAST_SEEN: pd.Timestamp("2024-03-01")},
        {S.SOURCE_URL: "https://b.example/", S.FIRST_SEEN: pd.Timestamp("2024-02-01"), S.LAST_SEEN: pd.Timestamp("2024-04-10")},
        {S.SOURCE_URL: "https://c.example/", S.FIRST_SEEN: None, S.LAST_SEEN: None},
    ]
    X = feats(rows)
    ref = pd.Timestamp("2024-04-10")  # the latest date in the export, not today
    assert X["lnk_first_seen_days"].iloc[0] == (ref - pd.Timestamp("2024-01-01")).days
    assert X["lnk_last_seen_days"].iloc[1] == 0
    assert X["lnk_lifetime_days"].iloc[0] == (pd.Timestamp("2024-03-01") - pd.Timestamp("2024-01-01")).days
    assert math.isnan(X["lnk_first_seen_days"].iloc[2])


# --- content -----------------------------------------------------------------------------


def test_content_title_and_text():
    rows = [
        {S.SOURCE_URL: "https://a.example/", S.PAGE_TITLE: "Write For Us - Guest Post | Buy Backlinks DA PA",
         S.SURROUNDING_TEXT: "sponsored post: best slot gacor", S.LANGUAGE: "en"},
        {S.SOURCE_URL: "https://b.example/", S.PAGE_TITLE: "Как вырастить томаты", S.SURROUNDING_TEXT: None, S.LANGUAGE: "en"},
        {S.SOURCE_URL: "https://c.example/", S.PAGE_TITLE: "Growing tomatoes at home", S.LANGUAGE: "en"},
    ]
    X = feats(rows)
    assert X["cnt_title_link_selling"].iloc[0] >= 4  # write for us, guest post, buy backlinks, da pa
    assert X["cnt_title_spam_terms"].iloc[0] >= 1  # "buy backlinks" (SEO)
    assert X["cnt_text_link_selling"].iloc[0] == 1 and X["cnt_text_spam_terms"].iloc[0] == 1
    assert math.isnan(X["cnt_text_spam_terms"].iloc[1])
    assert X["cnt_title_non_latin"].tolist() == [0, 1, 0]
    assert X["cnt_title_script_mismatch"].tolist() == [0, 1, 0]
    assert X["cnt_title_words"].iloc[2] == 4
    assert X["cnt_title_spam_terms"].iloc[2] == 0 and X["cnt_title_link_selling"].iloc[2] == 0


# --- registry / docs ---------------------------------------------------------------------


def test_reasons_read_like_sentences():
    from toxlink.features.registry import reason

    assert reason("anc_exact_match", 1.0) == "the anchor is an exact-match commercial keyword"
    assert reason("anc_exact_match", 0.0) is None
    assert "42" not in (reason("prf_links_per_anchor", 2.0) or "")
    assert "42" in reason("prf_links_per_anchor", 42.0)
    assert reason("prf_title_domains", 7.0).startswith("7 referring domains")


def test_docs_features_md_is_up_to_date():
    from pathlib import Path

    from toxlink.features.registry import markdown

    path = Path(__file__).resolve().parent.parent / "docs" / "features.md"
    assert path.read_text(encoding="utf-8") == markdown(), "run: python -m toxlink.features.registry > docs/features.md"


def test_hosts_of_equals_the_full_url_split():
    # hosts_of is the fast path for the host alone; it must agree with split_urls everywhere.
    from toxlink import urls

    s = pd.Series(["https://User:pw@Foo.Example.co.uk.:8080/a/b?x=1#f", "example.com/x", "ftp://x.com",
                   "http://[::1]:80/", "http://bücher.de/", "", None, "http://exa mple.com", "http://192.168.0.1/p",
                   "mailto:a@b.com", "http://a..b.com", "javascript:void(0)", "example.com:8080/x",
                   "HTTP://EXAMPLE.COM", "  http://x.com ", "http://a.com?q", "http://a.com#f", "//cdn.x.com/p"],
                  index=range(100, 118))
    full = urls.normalise_hosts(urls.split_urls(s)["host"])
    pd.testing.assert_series_equal(urls.hosts_of(s), full)


def test_ngram_score_is_tfidf_logistic_regression_over_host_ngrams():
    """The Arrow-vectorised score against its definition, one host at a time."""
    from collections import Counter

    from toxlink.features.hostname import NgramModel, host_ngrams

    rng = np.random.default_rng(5)
    vocab = sorted({g for h in ("casino-bonus.xyz", "www.news.example.org", "blog.ab") for g in host_ngrams(h)})
    model = NgramModel({g: i for i, g in enumerate(vocab)}, rng.uniform(1, 3, len(vocab)), rng.normal(size=len(vocab)), -0.3)
    hosts = ["casino-bonus.xyz", "www2.casino.example", "www.news.example.org", "zzz", "xn--n3h.com", "a" * 70 + ".ab", ""]
    for host, got in zip(hosts, model.score(hosts)):
        counts = Counter(g for g in host_ngrams(host) if g in model.index)
        tf = {g: c * model.idf[model.index[g]] for g, c in counts.items()}
        norm = sum(v * v for v in tf.values()) ** 0.5
        want = model.intercept + (sum(v * model.coef[model.index[g]] for g, v in tf.items()) / norm if norm else 0.0)
        assert got == pytest.approx(want, abs=1e-12), host
