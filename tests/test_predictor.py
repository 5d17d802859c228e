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
    good = links[links[S.ROW_ISSUE].isna()]
    X = F.compute(predictor_hosts(good))
    contrib = predictor.bundle.contributions(X)[:, :-1]
    by_name = {f.name: f for f in F.FEATURES}
    checked = 0
    for i in np.flatnonzero(scored.loc[good.index, S.BAND].isin(["toxic", "review"]).to_numpy())[:50]:
        c = contrib[i]
        j = int(np.argmax(c))
        sentence = by_name[X.columns[j]].reason(None if np.isnan(X.iat[i, j]) else float(X.iat[i, j]))
        reasons = scored.loc[good.index[i], S.REASONS]
        if sentence:
            assert reasons.split("; ")[0] == sentence
            checked += 1
        # no reason may come from a feature that lowered the risk
        lowered = {by_name[X.columns[k]].reason(None if np.isnan(X.iat[i, k]) else float(X.iat[i, k]))
                   for k in np.flatnonzero(c <= 0)} - {None}
        positive = {by_name[X.columns[k]].reason(None if np.isnan(X.iat[i, k]) else float(X.iat[i, k]))
                    for k in np.flatnonzero(c > 0)} - {None}
        for r in filter(None, reasons.split("; ")):
            assert r in positive or r not in lowered
    assert checked > 0


def predictor_hosts(frame):
    from toxlink.predictor import with_hosts

    return with_hosts(frame)


def test_explain_lists_every_signal_and_adds_up(predictor, links):
    url = links.loc[links[S.ROW_ISSUE].isna(), S.SOURCE_URL].iloc[0]
    [entry] = predictor.explain(links, url)[:1]
    assert entry["source_url"] == url
    contributions = [s["contribution"] for s in entry["signals"]]
    assert contributions == sorted(contributions, key=abs, reverse=True)
    assert all(s["reason"] for s in entry["signals"])
    # SHAP values plus the bias add up to the raw score the calibrated risk comes from
    X = F.compute(predictor_hosts(links))
    i = int(np.flatnonzero((links[S.SOURCE_URL] == url).to_numpy())[0])
    raw = predictor.bundle.raw_score(X.iloc[[i]])[0]
    bias = predictor.bundle.contributions(X.iloc[[i]])[0, -1]
    assert sum(contributions) + bias == pytest.approx(raw, abs=1e-6)
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
