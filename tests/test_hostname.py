"""The hostname feature family and the host model's training pieces (training/hostmodel.py)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from toxlink import features
from toxlink.features import hostname

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "training"))

SPAM = ["casino-bonus-slots.xyz", "best-slot-gacor.top", "cheap-pills-online.biz", "bonus-casino99.xyz",
        "slotgacor88.online", "pills-cheap-rx.top", "casino777-win.xyz", "gacor-slot-hoki.top"] * 3
CLEAN = ["janesmith.net", "lindholm.se", "fieldnotes.org", "ourtownlibrary.org", "mathblog.dev",
         "kitchenstories.net", "birdwatch.org", "oldmaps.net"] * 3


def test_host_ngrams_match_scikit_learn_char_wb():
    from sklearn.feature_extraction.text import CountVectorizer

    cv = CountVectorizer(analyzer="char_wb", ngram_range=(1, 5), lowercase=False)
    cv.fit(["shop.example.com"])
    ours = set(hostname.host_ngrams("www.shop.example.com"))  # www. is not part of the name
    assert ours == set(cv.vocabulary_)


def test_ngram_model_scores_like_the_fitted_pipeline_and_round_trips_as_json():
    import hostmodel as H
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    hosts = SPAM + CLEAN
    y = np.r_[np.ones(len(SPAM)), np.zeros(len(CLEAN))]
    w = np.ones(len(y))
    m = H.fit_ngram(hosts, y, w, min_df=1)
    vec = TfidfVectorizer(analyzer=hostname.host_ngrams, min_df=1)
    lr = LogisticRegression(C=H.NGRAM_C, solver="liblinear", random_state=0).fit(vec.fit_transform(hosts), y)
    probe = ["casino-slots-gacor.xyz", "annasgarden.org", "x"]
    expected = lr.decision_function(vec.transform(probe))
    assert m.score(probe) == pytest.approx(expected, rel=1e-6, abs=1e-9)
    again = hostname.NgramModel.from_json(json.loads(json.dumps(m.to_json())))
    assert again.score(probe) == pytest.approx(expected, rel=1e-4, abs=1e-4)
    assert again.score(["casino-slots-gacor.xyz"])[0] > 0 > again.score(["annasgarden.org"])[0]


def test_oof_ngram_never_scores_a_domain_with_a_model_that_saw_it():
    import hostmodel as H

    # Two hosts per "domain": if a domain's twin were in the fitting folds, the duplicated
    # name would be scored far more confidently than an unseen one.
    hosts = np.array(SPAM[:8] + CLEAN[:8], dtype=object)
    hosts = np.r_[hosts, hosts]
    y = np.r_[np.ones(8), np.zeros(8), np.ones(8), np.zeros(8)]
    groups = np.r_[np.arange(16), np.arange(16)].astype(str)
    oof = H.oof_ngram(hosts, y, np.ones(32), groups, k=4)
    assert np.array_equal(oof[:16], oof[16:])  # twins are in one fold, scored by the same model


def test_prior_shift_moves_log_odds_by_the_prior():
    import hostmodel as H

    p = np.array([0.5, 0.9, 0.1])
    q = H.prior_shift(p, prior=0.2)
    assert q[0] == pytest.approx(0.2)
    logit = lambda v: np.log(v / (1 - v))  # noqa: E731
    assert logit(q) - logit(p) == pytest.approx(np.full(3, logit(0.2)))


def test_language_label_and_score_in_the_feature_matrix():
    links = pd.DataFrame({"source_url": ["https://es.example.com/a", "https://blog.example.com/", "https://1.2.3.4/",
                                         "https://zh-cn.mirror.net/"]})
    X = features.compute(links)
    assert X["hst_language_label"].tolist()[:2] == [1.0, 0.0] and np.isnan(X["hst_language_label"].iloc[2])
    assert X["hst_language_label"].iloc[3] == 1.0
    if hostname.shipped_model() is not None:
        assert np.isfinite(X["hst_ngram_score"].iloc[[0, 1, 3]]).all() and np.isnan(X["hst_ngram_score"].iloc[2])


def test_band_thresholds_keep_every_left_out_clean_list_within_limits():
    import evaluate as E

    rng = np.random.default_rng(0)
    rows = []
    for s, scale in (("a", 1.0), ("b", 2.0)):
        p = rng.random(1000) ** (3 / scale)
        rows.append(pd.DataFrame({"fold": s, "source": s, "p": p}))
    rows = pd.concat(rows, ignore_index=True)
    t = E.choose_band_thresholds(rows, ["a", "b"], toxic_share=0.02, review_share=0.25)
    for s in ("a", "b"):
        p = rows.loc[rows["source"] == s, "p"]
        assert (p >= t["toxic"]).mean() <= 0.02 and (p >= t["review"]).mean() <= 0.25
    # the binding list sits right at the limit (not a looser threshold than needed)
    b = rows.loc[rows["source"] == "b", "p"]
    assert (b >= t["review"]).mean() > 0.24


def test_list_matches_exclude_the_hosts_own_list_and_the_left_out_one():
    import evaluate as E

    ev = {"l1": {"a.com", "b.com"}, "l2": {"a.com"}, "left": {"a.com", "c.com"}}
    n = E.matches(np.array(["a.com", "b.com", "c.com"]), np.array(["l1", "l2", "x"]), "left", ev)
    assert n.tolist() == [1.0, 1.0, 0.0]


def test_loso_calibration_weighs_classes_and_lists_equally():
    import evaluate as E

    rng = np.random.default_rng(1)
    # Class-balanced by weight even though clean rows outnumber spam 4:1: a raw score of 0
    # (no evidence either way) must calibrate to ~0.5 whatever the row counts.
    raw = np.r_[rng.normal(1, 1, 500), rng.normal(-1, 1, 2000)]
    rows = pd.DataFrame({"fold": "f", "source": ["s"] * 500 + ["c"] * 2000, "y": [1] * 500 + [0] * 2000, "raw": raw})
    cal = E.loso_platt(rows)
    assert E.platt([0.0], cal)[0] == pytest.approx(0.5, abs=0.05) and cal["a"] > 0
