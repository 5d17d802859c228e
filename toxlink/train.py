"""``toxlink train``: retrain the model on a user's exports and labels, plus the shipped base rows.

:func:`retrain` reads the exports, labels them (labels file, past disavow file, whitelist),
mixes in the base rows shipped as a derived table (:func:`toxlink.basedata.load_base_table`),
fits (:mod:`toxlink.fit`), evaluates on held-out user domains, writes the bundle and records
the run with its promotion gate (:mod:`toxlink.tracking`).

The fitting, evaluation and tracking names are re-exported here for existing callers.
"""

from __future__ import annotations

import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd

from toxlink import schema as S
from toxlink.basedata import GROUP, LABEL, LABEL_SOURCE, WEIGHT
from toxlink.evaluation import RULE_MARKERS, Marker, ablation, by_source, family_columns, rule_baseline, rule_baseline_metrics
from toxlink.fit import (FitResult, TrainConfig, choose_thresholds, compute_features, data_hash, evaluate, fit,
                         fit_calibration, grouped_folds, train_booster)
from toxlink.model import ModelBundle, ModelError, resolve_tracking_uri
from toxlink.tracking import CHAMPION, EXPERIMENT, REGISTERED_MODEL, GateDecision, compare_models, log_run, register_and_gate
from toxlink.urls import with_hosts

__all__ = [
    "TrainConfig", "FitResult", "GateDecision", "TrainReport", "fit", "evaluate", "ablation", "rule_baseline",
    "rule_baseline_metrics", "RULE_MARKERS", "Marker", "by_source", "family_columns", "grouped_folds", "train_booster",
    "fit_calibration", "choose_thresholds", "compute_features", "data_hash", "log_run", "register_and_gate",
    "retrain", "TrainRefused", "MIN_EVAL_PER_CLASS", "USER_WEIGHT", "PROPAGATED_WEIGHT", "REGISTERED_MODEL", "CHAMPION", "EXPERIMENT", "GROUP", "LABEL", "LABEL_SOURCE", "WEIGHT",
]


#: Default weight of one user-labelled link relative to the base data, whose weights
#: average 1 per row: a user's own verdicts are the most relevant evidence for their site.
USER_WEIGHT = 3.0

#: Weight of a link labelled by propagation from the user's labels, relative to a labelled one.
PROPAGATED_WEIGHT = 0.5

#: Fewest evaluation links of each class the promotion gate accepts: below it ROC-AUC and
#: PR-AUC are undefined (one class) or decided by a single link.
MIN_EVAL_PER_CLASS = 5


class TrainRefused(ValueError):
    """Training cannot be judged (too little to evaluate): nothing is written or registered."""


@dataclass
class TrainReport:
    """What :func:`retrain` did, as data; :meth:`lines` is the printed summary."""

    model_dir: str | None  # None when the model was refused and not written
    label_counts: dict[str, int]
    rows: dict[str, int]
    thresholds: dict[str, float]
    calibration: str
    metrics: dict[str, float] | None  # on the held-out user fold (None if too small)
    calib_metrics: dict[str, float]
    data_hash: str
    seconds: float
    run_id: str | None = None
    tracking_uri: str | None = None
    gate: GateDecision | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def refused(self) -> bool:
        """The gate found the new model worse than the model it was compared with."""
        return self.gate is not None and not self.gate.promoted

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form (JSON-able) of the report."""
        return asdict(self)

    def lines(self) -> list[str]:
        c = self.label_counts
        out = [
            f"labels: {c.get('toxic', 0):,} toxic, {c.get('ok', 0):,} ok, {c.get('unlabelled', 0):,} unlabelled links"
            + (f" ({c['unmatched_label_rows']:,} label rows matched no link)" if c.get("unmatched_label_rows") else ""),
            "training rows: " + ", ".join(f"{k} {v:,}" for k, v in self.rows.items()),
            f"calibration: {self.calibration}; thresholds: toxic >= {self.thresholds['toxic']:.3f}, review >= {self.thresholds['review']:.3f}",
        ]
        if self.metrics:
            m = self.metrics
            out.append(
                f"held-out user links ({m['n']:,}, {m['positives']:,} toxic): ROC-AUC {m['roc_auc']:.3f}, PR-AUC {m['pr_auc']:.3f}, "
                f"precision {m['precision']:.3f}, recall {m['recall']:.3f} at toxic threshold, ECE {m['ece']:.3f}"
            )
        else:
            out.append("held-out user links: too few labelled links of both classes to evaluate")
        if self.model_dir:
            out.append(f"model written to {self.model_dir} (data hash {self.data_hash})")
        if self.run_id:
            out.append(f"MLflow run {self.run_id} in {self.tracking_uri}")
        if self.gate is not None:
            out.extend(self.gate.lines())
        out.extend(f"warning: {w}" for w in self.warnings)
        out.append(f"took {self.seconds:.1f} s")
        return out


def retrain(
    exports,
    labels=None,
    disavow=None,
    whitelist=None,
    *,
    with_base: bool = True,
    base_weight: float = 1.0,
    user_weight: float = USER_WEIGHT,
    tracking_uri: str | None = None,
    out_dir: str | os.PathLike = "toxlink-model",
    register: bool = True,
    seed: int = 0,
    test_fraction: float = 0.2,
    format: str | None = None,
    config: TrainConfig | None = None,
    base_links: pd.DataFrame | None = None,
    force: bool = False,
    baseline: ModelBundle | None | str = "shipped",
    on_stage: Callable[[str], None] | None = None,
    features: pd.DataFrame | None = None,
    propagated_weight: float = PROPAGATED_WEIGHT,
    neighbour_strength: float | None = None,
) -> TrainReport:
    """Retrain on a user's exports + labels (and by default the shipped base data).

    Parameters
    ----------
    exports : path, list of paths, or DataFrame
        Backlink exports (:func:`toxlink.exports.read_export`) or an already-read links table.
    labels : path or DataFrame, optional
        Labels file (:func:`toxlink.labels.read_labels`).
    disavow : path or DisavowFile, optional
        The user's past disavow file: links it covers are toxic.
    whitelist : path or Whitelist, optional
        Links it covers are ok.
    with_base : bool
        Also train on the shipped base rows (:func:`toxlink.basedata.load_base_table`:
        features and labels of the public lists' hosts, no host names).
    base_weight, user_weight : float
        Row weights: base rows keep their dataset weight (mean 1) times *base_weight*;
        each labelled user link weighs *user_weight* (default 3).
    tracking_uri : str, optional
        MLflow store (default ``$MLFLOW_TRACKING_URI``, else ``~/.toxlink/mlruns.db``:
        :func:`toxlink.model.resolve_tracking_uri`).
    out_dir : path
        Folder the new bundle (``toxlink-model.txt`` + ``.json``) is written to, whole or not
        at all (:meth:`toxlink.model.ModelBundle.save_folder`). A model the gate refuses is
        not written unless *force*.
    register : bool
        Log the run to MLflow, register the model and gate ``@champion``. Without it the
        same gate runs against *baseline* alone (no registry), and a refused model is not
        written either.
    force : bool
        Write a refused model to *out_dir* all the same (replacing the bundle there).
    baseline : ModelBundle, None or ``"shipped"``
        The champion to beat while the registry has none, or always with ``register=False``
        (default: the shipped model; None: no comparison, the model passes).
    test_fraction : float
        Share of the user's labelled links (by whole referring domain) held out to evaluate
        the model and gate its promotion.
    base_links : DataFrame, optional
        Base rows in :func:`toxlink.basedata.load_base_table`'s form (feature columns plus
        ``label``, ``weight``, ``group``), instead of the shipped table.
    on_stage : callable ``(stage)``, optional
        Told when each stage of :data:`RETRAIN_STAGES` starts (progress for the CLI).
    propagated_weight : float
        The user's training labels also label the unlabelled links of the export tied to
        them (same /24 subnet, same page title, a similar site name:
        :func:`toxlink.propagate.propagate_labels`); those rows weigh *user_weight* times
        this (0: no propagation).
    neighbour_strength : float, optional
        The bundle keeps the names of the labelled sites; scoring moves the risk of a site
        named like them by up to this many log-odds (default
        :data:`toxlink.propagate.NEIGHBOUR_STRENGTH`; 0: keeps no names).
    features : DataFrame, optional
        The exports' feature matrix, shape (n links, f), rows in the links' order, instead
        of computing it (``training/adaptation.py`` passes features scored by a model
        that never saw the left-out list).

    Returns
    -------
    TrainReport

    Raises
    ------
    TrainRefused
        Fewer than :data:`MIN_EVAL_PER_CLASS` evaluation links of either class, or
        undefined (NaN) metrics: the run is neither written nor registered.
    """
    from toxlink import labels as L

    t0 = time.perf_counter()
    stage = on_stage or (lambda name: None)
    config = config or TrainConfig(seed=seed)
    warnings: list[str] = []
    stage("read")
    if isinstance(exports, pd.DataFrame):
        links = exports
    else:
        from toxlink.exports import read_export

        links = read_export(exports, format=format)
    links = with_hosts(links)
    if labels is None and disavow is None and whitelist is None:
        raise ValueError("no labels given: pass a labels file, a past disavow file and/or a whitelist")
    stage("label")
    lab = L.label_links(links, labels=labels, disavow=disavow, whitelist=whitelist)
    counts = lab.counts()
    stage("features")
    # Features on the whole export, so profile features see every link (labelled or not).
    X_all = compute_features(links) if features is None else features.reset_index(drop=True)
    y_all = lab.label.to_numpy(float)
    have = ~np.isnan(y_all)
    if not have.any():
        raise ValueError("none of the exported links is labelled by the labels / disavow / whitelist given")
    Xu = X_all[have].reset_index(drop=True)
    yu = y_all[have]
    dom = links[S.DOMAIN].astype("string").reset_index(drop=True)
    # no domain (unparseable URL rows are never labelled, but be safe): the host, else the URL
    dom = dom.fillna(links[S.HOST].astype("string").reset_index(drop=True))
    g_all = "user:" + dom.fillna(links[S.SOURCE_URL].astype("string").reset_index(drop=True)).fillna("")
    gu = g_all[have].reset_index(drop=True)

    # Hold out whole referring domains of the user's links for evaluation and the gate.
    test = np.zeros(len(yu), dtype=bool)
    if test_fraction > 0 and gu.nunique() >= 10:
        test = grouped_folds(gu, (1 - test_fraction, test_fraction), seed=seed + 7, strata=yu.astype(np.int64)) == 1
        if min((yu[test] == 1).sum(), (yu[test] == 0).sum()) < MIN_EVAL_PER_CLASS or (yu[~test] == 1).sum() == 0:
            test[:] = False
    if not test.any():
        warnings.append("too few labelled links of both classes to hold some out: no held-out evaluation, gate compares on the calibration fold")
    Xs, ys, ws, gs = [Xu[~test]], [yu[~test]], [np.full((~test).sum(), float(user_weight))], [gu[~test]]
    rows = {"user": int((~test).sum()), "user_held_out": int(test.sum())}
    if propagated_weight > 0:
        from toxlink.propagate import propagate_labels

        # only the training labels lend theirs, and never into a held-out domain: the gate's
        # links stay unseen
        lend = np.zeros(len(y_all), dtype=bool)
        lend[np.flatnonzero(have)[~test]] = True
        yp, via = propagate_labels(links, y_all, source=lend)
        pm = ~np.isnan(yp) & ~g_all.isin(set(gu[test])).to_numpy()
        Xs.append(X_all[pm].reset_index(drop=True))
        ys.append(yp[pm])
        ws.append(np.full(int(pm.sum()), float(user_weight) * float(propagated_weight)))
        gs.append(g_all[pm].reset_index(drop=True))
        rows["propagated"] = int(pm.sum())
        counts.update({f"propagated by {k}": int(v) for k, v in via[pm].value_counts().items()})
    base_hash = ""
    if with_base:
        from toxlink import basedata as B

        base = B.load_base_table(list(X_all.columns)) if base_links is None else base_links
        base_hash = B.dataset_hash(base)[:16]
        Xs.append(base[list(X_all.columns)].reset_index(drop=True))
        ys.append(base[LABEL].to_numpy(float))
        ws.append(base[WEIGHT].to_numpy(float) * float(base_weight))
        gs.append(base[GROUP].astype("string").reset_index(drop=True))
        rows["base"] = int(len(base))
    X = pd.concat(Xs, ignore_index=True)
    y, w = np.concatenate(ys), np.concatenate(ws)
    g = pd.concat(gs, ignore_index=True)
    dh = data_hash(X, y, w, g)
    stage("fit")
    fitted = fit(X=X, y=y, w=w, groups=g, config=config, data_hash_=dh,
                 extra={"retrain": {"user_weight": user_weight, "propagated_weight": propagated_weight,
                                    "base_weight": base_weight if with_base else None,
                                    "base_data_hash": base_hash, "label_counts": counts}})
    bundle = fitted.bundle
    from toxlink import propagate as P

    strength = P.NEIGHBOUR_STRENGTH if neighbour_strength is None else float(neighbour_strength)
    spec = P.neighbour_spec(P.site_names(links)[have], yu, strength) if strength > 0 else None
    if spec:
        # the user's own model: their labelled sites' names inform similarly named ones
        bundle.extra[P.NEIGHBOURS] = spec
    evidence = _shipped_list_evidence()
    if evidence:
        # How far a known-spam/known-clean list moves the risk was measured for the shipped
        # model under leave-one-source-out; a user's few labels cannot re-measure it.
        bundle.extra["list_evidence"] = evidence
        bundle.extra["list_evidence_from"] = "the shipped model's leave-one-source-out measurement"
    metrics = None
    stage("evaluate")
    if test.any():
        metrics = evaluate(bundle, Xu[test], yu[test])
        bundle.metrics["user_held_out"] = metrics
        X_eval, y_eval = Xu[test], yu[test]
    else:
        ca = fitted.folds == 2
        X_eval, y_eval = fitted.X[ca], fitted.y[ca]
    _check_evaluable(bundle, X_eval, y_eval)
    out_dir = Path(out_dir)
    report = TrainReport(
        model_dir=None,
        label_counts=counts,
        rows=rows,
        thresholds=dict(bundle.thresholds),
        calibration=bundle.calibration["method"],
        metrics=metrics,
        calib_metrics=fitted.info["calib_metrics"],
        data_hash=dh,
        seconds=0.0,
        warnings=warnings,
    )
    if isinstance(baseline, str):
        baseline = _shipped_model(warnings)
    if register:
        stage("gate")
        uri = resolve_tracking_uri(tracking_uri)
        rid = log_run(bundle, tracking_uri=uri, run_name="toxlink train", tags={"kind": "retrain"},
                      params={"with_base": with_base, "user_weight": user_weight, "base_weight": base_weight})
        report.gate = register_and_gate(rid, bundle, X_eval, y_eval, tracking_uri=uri, baseline=baseline)
        report.run_id, report.tracking_uri = rid, uri
    else:
        stage("gate")
        # no registry, same gate: the baseline (the shipped model) on the same evaluation links
        report.gate = compare_models(bundle, baseline, X_eval, y_eval)
    if report.gate.promoted or force:
        stage("write")
        bundle.save_folder(out_dir)
        report.model_dir = str(out_dir)
    else:
        warnings.append(f"the refused model was not written to {out_dir} (--force writes it all the same)")
    report.seconds = time.perf_counter() - t0
    return report


#: The stages :func:`retrain` reports, in order, and what each does.
RETRAIN_STAGES = {"read": "reading the exports", "label": "labelling the links",
                  "features": "features of every link", "fit": "fitting LightGBM and calibrating",
                  "evaluate": "evaluating", "gate": "MLflow run and promotion gate", "write": "writing the model"}


def _check_evaluable(bundle, X_eval: pd.DataFrame, y_eval: np.ndarray) -> None:
    """Raise :class:`TrainRefused` when *y_eval* cannot judge the model (see :data:`MIN_EVAL_PER_CLASS`)."""
    from toxlink import metrics as M

    pos, neg = int((y_eval == 1).sum()), int((y_eval == 0).sum())
    if min(pos, neg) >= MIN_EVAL_PER_CLASS:
        p = bundle.predict(X_eval)
        if np.isfinite(M.roc_auc(y_eval, p)) and np.isfinite(M.pr_auc(y_eval, p)):
            return
    raise TrainRefused(
        f"too little to evaluate: {len(y_eval):,} evaluation links ({pos:,} toxic, {neg:,} ok), at least "
        f"{MIN_EVAL_PER_CLASS} of each class are needed to judge the model; label more links of both classes, "
        "or train with the base data (drop --no-base). Nothing was written or registered."
    )


def _shipped_model(warnings: list[str]) -> ModelBundle | None:
    """The shipped model, the first champion to beat (None, with a warning, if it cannot load)."""
    try:
        return ModelBundle.load()
    except ModelError as e:
        warnings.append(f"the shipped model cannot be compared ({e})")
        return None


def _shipped_list_evidence() -> dict | None:
    """``extra.list_evidence`` of the shipped model's metadata (None if absent or unreadable)."""
    import json

    from toxlink.model import META_FILE
    from toxlink.resources import models_path

    try:
        with open(models_path(META_FILE), encoding="utf-8") as fh:
            return json.load(fh).get("extra", {}).get("list_evidence")
    except (OSError, ValueError):
        return None
