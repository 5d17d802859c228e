"""Metrics on hand-computed inputs and the model bundle (save/load, feature check, no pickle)."""

from __future__ import annotations

import json
import pickle

import numpy as np
import pandas as pd
import pytest

from toxlink import metrics as M
from toxlink.model import META_FILE, MODEL_FILE, ModelBundle, ModelError, apply_calibration

# --- metrics on known inputs ------------------------------------------------------------------
# y = [0, 0, 1, 1], s = [0.1, 0.4, 0.35, 0.8]: of the 4 (pos, neg) pairs, 3 are ordered right.
Y = np.array([0, 0, 1, 1])
S4 = np.array([0.1, 0.4, 0.35, 0.8])


def test_roc_auc_counts_ordered_pairs():
    assert M.roc_auc(Y, S4) == pytest.approx(0.75)
    # ties count half: one tied pair, three right
    assert M.roc_auc([0, 0, 1, 1], [0.1, 0.5, 0.5, 0.9]) == pytest.approx(0.875)
    assert np.isnan(M.roc_auc([1, 1], [0.2, 0.3]))


def test_pr_auc_is_step_average_precision():
    # ranked: 0.8 (pos) P=1 R=.5; 0.4 (neg); 0.35 (pos) P=2/3 R=1 -> AP = .5*1 + .5*2/3
    assert M.pr_auc(Y, S4) == pytest.approx(0.5 + 0.5 * 2 / 3)


def test_precision_recall_f1_at_threshold_flags_ge():
    p, r, f = M.precision_recall_f1(Y, S4, 0.4)  # flags 0.4 (neg) and 0.8 (pos)
    assert (p, r, f) == pytest.approx((0.5, 0.5, 0.5))
    p, r, f = M.precision_recall_f1(Y, S4, 0.35)  # flags 0.35, 0.4, 0.8
    assert (p, r, f) == pytest.approx((2 / 3, 1.0, 0.8))
    p, r, f = M.precision_recall_f1(Y, S4, 0.9)
    assert np.isnan(p) and r == 0.0


def test_recall_at_fpr_reads_roc_without_interpolation():
    neg = np.arange(100) / 100  # 0.00 .. 0.99
    pos = np.array([0.995, 0.991, 0.985, 0.975, 0.5, 0.5, 0.3, 0.2, 0.1, 0.05])
    y, s = np.r_[np.zeros(100), np.ones(10)], np.r_[neg, pos]
    # FPR <= 1% allows one negative (0.99): positives above 0.98 -> 3 of 10
    assert M.recall_at_fpr(y, s, 0.01) == pytest.approx(0.3)
    # FPR <= 2% allows 0.99 and 0.98: positives above 0.97 -> 4 of 10
    assert M.recall_at_fpr(y, s, 0.02) == pytest.approx(0.4)
    assert M.recall_at_fpr(y, s, 1.0) == 1.0


def test_ece_equal_width_bins_hand_computed():
    # each score alone in its bin: |y - p| averaged = (0.1 + 0.4 + 0.65 + 0.2) / 4
    assert M.expected_calibration_error(Y, S4) == pytest.approx(1.35 / 4)
    # two bins: [0, .5) holds p=.2,.2 with half positive; [.5, 1] holds .8,.8 all positive
    y, p = [0, 1, 1, 1], [0.2, 0.2, 0.8, 0.8]
    assert M.expected_calibration_error(y, p, n_bins=2) == pytest.approx(0.5 * 0.3 + 0.5 * 0.2)
    # perfectly calibrated bins give 0; 1.0 falls in the last bin, 0.0 in the first
    assert M.expected_calibration_error([0, 1, 0, 1], [0.5, 0.5, 0.5, 0.5]) == pytest.approx(0.0)
    t = M.calibration_table([0, 1], [0.0, 1.0], n_bins=4)
    assert t["n"].tolist() == [1, 0, 0, 1]


def test_weights_equal_duplicated_rows():
    w = np.array([1, 3, 2, 1])
    yy, ss = np.repeat(Y, w), np.repeat(S4, w)
    assert M.roc_auc(Y, S4, w) == pytest.approx(M.roc_auc(yy, ss))
    assert M.expected_calibration_error(Y, S4, sample_weight=w) == pytest.approx(M.expected_calibration_error(yy, ss))
    assert M.precision_recall_f1(Y, S4, 0.4, w) == pytest.approx(M.precision_recall_f1(yy, ss, 0.4))


def test_summary_keys_and_values():
    s = M.summary(Y, S4, 0.4)
    assert s["n"] == 4 and s["positives"] == 2
    assert s["roc_auc"] == pytest.approx(0.75) and s["precision"] == pytest.approx(0.5)
    assert set(s) >= {"pr_auc", "recall", "f1", "recall_at_1pct_fpr", "recall_at_2pct_fpr", "ece"}


# --- calibration maps --------------------------------------------------------------------------
def test_apply_calibration_isotonic_is_interp_and_platt_is_logistic():
    cal = {"method": "isotonic", "x": [-1.0, 0.0, 2.0], "y": [0.1, 0.5, 0.9]}
    out = apply_calibration(np.array([-5.0, -0.5, 1.0, 9.0]), cal)
    assert out == pytest.approx([0.1, 0.3, 0.7, 0.9])
    out = apply_calibration(np.array([0.0, 1.0]), {"method": "platt", "a": 2.0, "b": -2.0})
    assert out == pytest.approx([1 / (1 + np.e**2), 0.5])
    with pytest.raises(ModelError):
        apply_calibration(np.zeros(1), {"method": "magic"})


# --- the bundle --------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def names():
    from toxlink import features

    return list(features.feature_names())


@pytest.fixture(scope="module")
def bundle(names):
    import lightgbm as lgb

    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, len(names)))
    y = (X[:, 0] + 0.5 * X[:, 1] + rng.normal(size=400) > 0).astype(float)
    params = {"objective": "binary", "num_leaves": 7, "verbosity": -1, "num_threads": 1, "deterministic": True, "seed": 1}
    booster = lgb.train(params, lgb.Dataset(X, y, feature_name=names), num_boost_round=10)
    return ModelBundle(
        booster=booster,
        feature_names=names,
        thresholds={"toxic": 0.8, "review": 0.4},
        calibration={"method": "isotonic", "x": [-2.0, 0.0, 2.0], "y": [0.05, 0.5, 0.95]},
        metrics={"test": {"roc_auc": 0.9, "ece": float("nan")}},
        data_hash="abc123",
    )


def _X(names, n=50, seed=3):
    return pd.DataFrame(np.random.default_rng(seed).normal(size=(n, len(names))).astype(np.float32), columns=names)


def test_save_load_round_trip_identical_predictions(bundle, names, tmp_path):
    bundle.save(tmp_path / "m")
    assert (tmp_path / "m" / MODEL_FILE).read_text().startswith("tree")
    meta = json.loads((tmp_path / "m" / META_FILE).read_text())
    assert meta["feature_names"] == names and meta["thresholds"] == {"toxic": 0.8, "review": 0.4}
    assert meta["calibration"]["method"] == "isotonic" and meta["data_hash"] == "abc123"
    assert meta["metrics"]["test"]["ece"] is None  # NaN written as JSON null, not invalid JSON
    X = _X(names)
    for path in (tmp_path / "m", tmp_path / "m" / MODEL_FILE, tmp_path / "m" / META_FILE, str(tmp_path / "m")):
        loaded = ModelBundle.load(path)
        assert np.array_equal(loaded.predict(X), bundle.predict(X))
        assert np.array_equal(loaded.contributions(X), bundle.contributions(X))
    assert loaded.thresholds == bundle.thresholds and loaded.version == bundle.version


def test_predict_contributions_shapes_and_consistency(bundle, names):
    X = _X(names, n=7)
    p = bundle.predict(X)
    c = bundle.contributions(X)
    assert p.shape == (7,) and c.shape == (7, len(names) + 1)
    assert ((p >= 0.05) & (p <= 0.95)).all()
    # SHAP contributions sum to the raw score; calibration is applied on the raw score
    assert c.sum(axis=1) == pytest.approx(bundle.raw_score(X), abs=1e-6)
    assert p == pytest.approx(np.interp(bundle.raw_score(X), [-2, 0, 2], [0.05, 0.5, 0.95]))
    # column order is taken from the names, not the frame
    assert np.array_equal(bundle.predict(X[names[::-1]]), p)
    assert bundle.predict(X.iloc[:0]).shape == (0,)
    with pytest.raises(ModelError, match="lacks"):
        bundle.predict(X.drop(columns=names[0]))


def test_load_refuses_mismatched_feature_list(bundle, names, tmp_path):
    import lightgbm as lgb

    other = names[:-1] + ["feature_from_the_future"]
    rng = np.random.default_rng(0)
    X = rng.normal(size=(100, len(other)))
    booster = lgb.train({"objective": "binary", "verbosity": -1, "num_threads": 1}, lgb.Dataset(X, (X[:, 0] > 0).astype(float), feature_name=other), num_boost_round=2)
    ModelBundle(booster=booster, feature_names=other, thresholds={"toxic": 0.9, "review": 0.5}).save(tmp_path)
    with pytest.raises(ModelError, match="feature_from_the_future") as e:
        ModelBundle.load(tmp_path)
    assert "different feature list" in str(e.value)
    # order matters too
    bundle.save(tmp_path / "swapped")
    meta_path = tmp_path / "swapped" / META_FILE
    meta = json.loads(meta_path.read_text())
    meta["feature_names"] = names[1:] + names[:1]
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(ModelError, match="different order|differ"):
        ModelBundle.load(tmp_path / "swapped")


def test_load_errors_are_clear(tmp_path):
    with pytest.raises(ModelError, match="not found"):
        ModelBundle.load(tmp_path)
    (tmp_path / META_FILE).write_text("{not json")
    (tmp_path / MODEL_FILE).write_text("tree\n")
    with pytest.raises(ModelError, match="not valid JSON"):
        ModelBundle.load(tmp_path)
    with pytest.raises(ModelError, match="not a model directory"):
        ModelBundle.load(tmp_path / "model.pkl")


class _Boom:
    """Unpickling this writes a marker file: proof that code ran."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_load_never_unpickles(bundle, tmp_path, monkeypatch):
    marker = tmp_path / "pwned"
    evil = tmp_path / "evil"
    evil.mkdir()
    (evil / MODEL_FILE).write_bytes(pickle.dumps(_Boom(str(marker))))
    (evil / META_FILE).write_bytes(pickle.dumps(_Boom(str(marker))))
    with pytest.raises(ModelError):
        ModelBundle.load(evil)
    assert not marker.exists()
    # and a genuine load works with every unpickler disabled
    bundle.save(tmp_path / "ok")

    def refuse(*a, **k):
        raise AssertionError("unpickling attempted")

    import joblib

    monkeypatch.setattr(pickle, "load", refuse)
    monkeypatch.setattr(pickle, "loads", refuse)
    monkeypatch.setattr(joblib, "load", refuse)
    ModelBundle.load(tmp_path / "ok")


def test_a_truncated_or_swapped_model_file_is_refused_before_lightgbm_reads_it(bundle, names, tmp_path):
    bundle.save(tmp_path / "m")
    text = (tmp_path / "m" / MODEL_FILE).read_bytes()
    (tmp_path / "m" / MODEL_FILE).write_bytes(text[: len(text) // 2])  # an interrupted copy
    with pytest.raises(ModelError, match="checksum differs"):
        ModelBundle.load(tmp_path / "m")
    (tmp_path / "m" / MODEL_FILE).write_bytes(text + b"\n")
    with pytest.raises(ModelError, match="checksum differs"):
        ModelBundle.load(tmp_path / "m")
    (tmp_path / "m" / MODEL_FILE).write_bytes(text)
    assert np.array_equal(ModelBundle.load(tmp_path / "m").predict(_X(names)), bundle.predict(_X(names)))
    assert not [p.name for p in (tmp_path / "m").iterdir() if p.name.startswith(".")]  # written atomically


@pytest.mark.parametrize("change, says", [
    ({"thresholds": {"toxic": "high", "review": 0.4}}, "thresholds must be numbers"),
    ({"thresholds": {"toxic": float("nan"), "review": 0.4}}, "0 <= review <= toxic <= 1"),
    ({"thresholds": {"toxic": 0.3, "review": 0.4}}, "0 <= review <= toxic <= 1"),
    ({"thresholds": {"toxic": 1.5, "review": 0.4}}, "0 <= review <= toxic <= 1"),
    ({"calibration": {"method": "isotonic", "x": [0.0, 1.0], "y": [0.5]}}, "same, non-zero length"),
])
def test_bad_metadata_is_a_clear_model_error(bundle, tmp_path, change, says):
    bundle.save(tmp_path / "m")
    meta = json.loads((tmp_path / "m" / META_FILE).read_text())
    (tmp_path / "m" / META_FILE).write_text(json.dumps({**meta, **change}))
    with pytest.raises(ModelError, match=says):
        ModelBundle.load(tmp_path / "m")
