"""Predictor: every row scored or rejected, reasons are the model's true top contributions."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import toxlink
from toxlink import features as F
from toxlink import schema as S
from toxlink.policy import Policy
from toxlink.predictor import NAME_ONLY, NO_SINGLE_SIGNAL

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "data" / "sample" / "ahrefs-backlinks-sample.csv"


@pytest.fixture(scope="module")
def predictor():
    return toxlink.Predictor.load()


@pytest.fixture(scope="module")
def links():
    return toxlink.read_export([SAMPLE])


@pytest.fixture(scope="module")
def scored(predictor, links):
    return predictor.score(links)


def test_every_row_comes_out_once_scored_or_rejected(links, scored):
    assert len(scored) == len(links)
    assert scored[S.SOURCE_ROW].tolist() == links[S.SOURCE_ROW].tolist()
    bad = links[S.ROW_ISSUE].notna().to_numpy()
    assert bad.sum() == 2  # the sample carries two broken source URLs
    assert (scored.loc[bad, S.BAND] == "rejected").all()
    assert scored.loc[bad, S.RISK].isna().all()
    assert scored.loc[bad, S.REASONS].str.startswith("not scored: ").all()
    good = scored[~bad]
    assert good[S.RISK].between(0, 1).all()
    assert set(good[S.BAND]) <= {"toxic", "review", "ok"}


def test_bands_follow_thresholds(predictor, scored):
    p = predictor.policy
    good = scored[scored[S.BAND] != "rejected"]
    assert (good.loc[good[S.BAND] == "toxic", S.RISK] >= p.toxic_threshold).all()
    assert (good.loc[good[S.BAND] == "ok", S.RISK] < p.review_threshold).all()
    strict = toxlink.Predictor(predictor.bundle, policy=Policy(toxic_threshold=0.999999, review_threshold=0.99999))
    assert (strict.score(good.head(200))[S.BAND] != "toxic").sum() >= (good.head(200)[S.BAND] != "toxic").sum()


def test_reasons_are_the_top_positive_contributions(predictor, links, scored):
    from toxlink.attributions import PathAttributions

    good = links[links[S.ROW_ISSUE].isna()]
    X = F.compute(predictor_hosts(good))
    leaves = predictor.bundle.booster.predict(X.to_numpy(np.float64), pred_leaf=True)
    contrib = PathAttributions(predictor.bundle.booster).contributions(leaves)[:, :-1]
    by_name = {f.name: f for f in F.FEATURES}
    checked = 0
    for i in np.flatnonzero(scored.loc[good.index, S.BAND].isin(["toxic", "review"]).to_numpy())[:50]:
        c = contrib[i]
        reasons = scored.loc[good.index[i], S.REASONS].split("; ")
        if predictor.knows_names_only:  # the caveat of a model that learnt from host names only
            assert reasons.pop() == NAME_ONLY
        # of the 6 (2k) strongest contributions, the positive ones with a sentence of their own
        expected = []
        for k in np.argsort(-c, kind="stable")[:6]:
            if c[k] <= 0 or len(expected) == 3:
                break
            text, telling = _described(by_name[X.columns[k]], X.iat[i, k])
            if telling:
                expected.append(text)
        assert reasons == (expected or [NO_SINGLE_SIGNAL])  # a flagged link always says why
        assert reasons[0] == _sentence(by_name[X.columns[int(np.argmax(c))]], X.iat[i, int(np.argmax(c))]) or not \
            _described(by_name[X.columns[int(np.argmax(c))]], X.iat[i, int(np.argmax(c))])[1]
        checked += 1
    assert checked > 0


def _sentence(feature, value):
    from toxlink.predictor import _sentence as sentence

    return sentence(feature, value)


def _described(feature, value):
    from toxlink.predictor import _described as described

    return described(feature, value)


def test_path_contributions_add_up_to_the_raw_score(predictor, links):
    from toxlink.attributions import PathAttributions

    X = F.compute(predictor_hosts(links[links[S.ROW_ISSUE].isna()]))
    M = X.to_numpy(np.float64)
    leaves = predictor.bundle.booster.predict(M, pred_leaf=True)
    contrib = PathAttributions(predictor.bundle.booster).contributions(leaves)
    raw = predictor.bundle.raw_score(X)
    np.testing.assert_allclose(contrib.sum(axis=1), raw, rtol=0, atol=1e-9)
    # and they agree with LightGBM's TreeSHAP on the bias and on the sign of strong signals
    shap = predictor.bundle.contributions(X.iloc[:50])
    strong = np.abs(shap[:, :-1]) > 1.0
    assert (np.sign(shap[:, :-1][strong]) == np.sign(contrib[:50, :-1][strong])).mean() > 0.9


def test_distinct_leaf_rows_give_the_same_contributions_and_raw_scores(predictor, links):
    from toxlink.attributions import PathAttributions

    X = F.compute(predictor_hosts(links[links[S.ROW_ISSUE].isna()]))
    leaves = predictor.bundle.booster.predict(X.to_numpy(np.float64), pred_leaf=True)
    leaves = np.concatenate([leaves, leaves[::-1]])  # every leaf row at least twice
    paths = PathAttributions(predictor.bundle.booster)
    full = paths.contributions(leaves)
    d = paths.distinct(leaves)
    assert len(d.raw) == len(np.unique(leaves, axis=0)) < len(leaves)
    assert np.array_equal(d.raw[d.codes], full.sum(axis=1))  # bit for bit, not approximately
    for i in (0, 1, len(leaves) // 2, len(leaves) - 1):
        assert np.array_equal(d.row(i), full[i, :-1])
    assert not full[:, np.setdiff1d(np.arange(paths.n_features), d.features)].any()
    one = paths.distinct(leaves[:1])
    assert np.array_equal(one.raw, paths.contributions(leaves[:1]).sum(axis=1))
    assert np.array_equal(one.row(0), full[0, :-1])


def predictor_hosts(frame):
    from toxlink.predictor import with_hosts

    return with_hosts(frame)


def test_explain_lists_every_signal_and_adds_up(predictor, links):
    url = links.loc[links[S.ROW_ISSUE].isna(), S.SOURCE_URL].iloc[0]
    [entry] = predictor.explain(links, url)[:1]
    [shap] = predictor.explain(links, url, method="shap")[:1]
    assert shap["risk"] == entry["risk"]
    total = lambda e: e["bias"] + sum(s["contribution"] for s in e["signals"])  # noqa: E731
    assert total(shap) == pytest.approx(total(entry), abs=1e-6)
    assert entry["source_url"] == url
    contributions = [s["contribution"] for s in entry["signals"]]
    assert contributions == sorted(contributions, key=abs, reverse=True)
    assert all(s["reason"] for s in entry["signals"])
    # SHAP values plus the bias add up to the raw score the calibrated risk comes from
    X = F.compute(predictor_hosts(links))
    i = int(np.flatnonzero((links[S.SOURCE_URL] == url).to_numpy())[0])
    raw = predictor.bundle.raw_score(X.iloc[[i]])[0]
    assert sum(contributions) + entry["bias"] == pytest.approx(raw, abs=1e-6)
    with pytest.raises(KeyError):
        predictor.explain(links, "https://not-in-the-export.example/")


def test_chunked_scoring_with_a_shared_profile_equals_whole(predictor, links, scored):
    from toxlink.predictor import with_hosts

    acc = F.ProfileAccumulator()
    parts = [with_hosts(links.iloc[i : i + 400]) for i in range(0, len(links), 400)]
    for part in parts:
        acc.update(part)
    profile = acc.finish()
    chunked = pd.concat([predictor.score(p, profile=profile) for p in parts])
    np.testing.assert_allclose(chunked[S.RISK].to_numpy(), scored[S.RISK].to_numpy(), rtol=0, atol=1e-12)
    assert chunked[S.REASONS].tolist() == scored[S.REASONS].tolist()


def test_recommend_rolls_up_to_domains(predictor, scored):
    from toxlink import policy as P

    domains = predictor.recommend(scored)
    assert domains[P.ACTION].isin(P.ACTIONS).all()
    counted = scored[scored[S.BAND].ne("rejected") & scored[S.DUPLICATE_OF].isna()]
    assert domains[P.N_LINKS].sum() == len(counted)
    # a site with a toxic link is never simply kept unless whitelisted or protected
    toxic_sites = set(counted.loc[counted[S.BAND].eq("toxic") & counted[S.RISK].ge(predictor.policy.min_risk), S.DOMAIN])
    kept = domains[domains[P.ACTION].eq(P.KEEP) & domains[P.ROLLUP_DOMAIN].isin(toxic_sites)]
    assert kept.empty


def test_the_audited_site_never_disavows_itself(predictor, scored):
    from toxlink import policy as P

    target = scored[S.TARGET_URL].dropna().iloc[0]
    own_host = target.split("/")[2]
    own = scored[scored[S.BAND].eq("toxic")].head(2).copy()
    own[S.SOURCE_URL] = [f"https://blog.{own_host.removeprefix('www.')}/spam-page-1", f"https://{own_host}/partners"]
    own[S.HOST] = own[S.SOURCE_URL].str.split("/").str[2]
    own[S.DOMAIN] = own[S.HOST].str.removeprefix("blog.").str.removeprefix("www.")
    domains = predictor.recommend(pd.concat([scored, own], ignore_index=True))
    mine = domains[domains[P.ROLLUP_DOMAIN].isin(set(own[S.DOMAIN]))]
    assert len(mine) >= 1
    assert (mine[P.ACTION] == P.KEEP).all() and mine[P.WHITELISTED].all()
    # a free-host site is its own domain, never the platform
    assert P.own_sites(pd.Series(["https://www.acmetools.co.uk/shop", None, "https://x.blogspot.com/a"])) == {
        "acmetools.co.uk", "x.blogspot.com"}


def test_reasons_follow_the_definition_with_ties_and_skipped_sentences():
    """_reasons against its definition, row by row: of the 2k strongest contributions (the
    first feature first among equal ones), the positive ones that say something, k at most."""
    from toxlink.predictor import _reasons

    rng = np.random.default_rng(7)
    feats = list(F.FEATURES)[:14]
    n, k = 600, 3
    # few distinct values and contributions: ties, absence-of-signal sentences (0 of a yes/no
    # feature, a missing value) and rows that need candidates beyond the first k
    X = pd.DataFrame({f.name: rng.choice(np.array([0, 1, 3, np.nan], dtype=np.float32), n) for f in feats})
    contrib = rng.choice([-1.0, 0.0, 0.25, 0.5, 1.0, 2.0], size=(n + 5, len(feats)))[5:]
    contrib[:, 3] = 0.0  # a feature that never raises a risk
    rows = rng.permutation(n + 40)[:n] % n  # rows of X in any order, some twice
    got = _reasons(X, contrib, k, rows=rows).to_pylist()
    want = []
    for i in range(n):
        c, x = contrib[i], X.iloc[rows[i]]
        kept = []
        for j in np.argsort(-c, kind="stable")[: 2 * k]:
            text, telling = _described(feats[j], x.iloc[j])
            if c[j] > 0 and telling and len(kept) < k:
                kept.append(text)
        want.append("; ".join(kept))
    assert got == want
    assert sum(r == "" for r in got) > 0 and sum(r.count("; ") == k - 1 for r in got) > 30
    assert _reasons(X, contrib[:0], k, rows=rows[:0]).to_pylist() == []


def test_distinct_rows_match_the_exact_factorisation_and_survive_key_collisions(monkeypatch):
    from toxlink import attributions as A

    rng = np.random.default_rng(0)
    seen = []
    for top, shape in ((31, (500, 41)), (300, (400, 7)), (70_000, (300, 3))):
        base = rng.integers(0, top + 1, size=(60, shape[1]))
        leaves = base[rng.integers(0, len(base), size=shape[0])].astype(np.int32)  # repeated rows
        leaves[0, 0] = top
        codes, first = A._distinct_rows(leaves)
        ecodes, efirst = A._distinct_rows_exact(leaves)
        assert np.array_equal(codes, ecodes) and np.array_equal(first, efirst)
        assert np.array_equal(leaves[first][codes], leaves)  # each row equals its code's first row
        assert len(first) == len(np.unique(leaves, axis=0))
        seen.append((leaves, ecodes, efirst))
    # every key the same: the check against the rows catches it and the exact path answers
    monkeypatch.setattr(A, "_MIX", np.uint64(0))
    for leaves, ecodes, efirst in seen:
        codes, first = A._distinct_rows(leaves)
        assert np.array_equal(codes, ecodes) and np.array_equal(first, efirst)


def test_reasons_read_as_plain_sentences(scored):
    """Numbers as people write them, no jargon, no missing-value notes among a link's reasons."""
    sentences = {x for cell in scored[S.REASONS] for x in cell.split("; ") if x}
    assert sentences
    for text in sentences:
        assert "entropy" not in text.lower() and "not in the export" not in text and "not given" not in text
        assert not any(len(n.replace(",", "")) > 3 and "," not in n
                       for n in __import__("re").findall(r"\b\d[\d,]*\b", text.split("(")[0])), text
        assert "e+" not in text, text


def test_a_flagged_link_scored_on_its_name_alone_says_so(predictor, scored):
    """An export with nothing but URLs, or a model that learnt from host names only (the
    shipped one): a toxic or review link's reasons end with NAME_ONLY, an ok link's do not."""
    links = pd.DataFrame({S.SOURCE_URL: ["https://cheap-seo-links-4u.xyz/p/1", "https://casino-bonus-24.top/x"]})
    url_only = predictor.score(links)
    flagged = url_only[S.BAND].isin(["toxic", "review"])
    assert flagged.any() and url_only[S.REASONS][flagged].str.endswith(NAME_ONLY).all()
    assert predictor.knows_names_only  # the shipped model
    band = scored[S.BAND]
    assert scored[S.REASONS][band.isin(["toxic", "review"])].str.endswith(NAME_ONLY).all()
    assert not scored[S.REASONS][band == "ok"].str.contains(NAME_ONLY).any()
