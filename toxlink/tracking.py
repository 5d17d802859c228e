"""Tracking and promotion: record a training run in MLflow and gate the ``champion`` alias.

:func:`log_run` records params, metrics, the data hash and the bundle as artifacts;
:func:`register_and_gate` registers the model and moves ``@champion`` only when the new
model is not worse than the current champion on the same evaluation rows.
"""

from __future__ import annotations

import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from toxlink import metrics as M
from toxlink.fit import data_hash
from toxlink.model import ModelBundle, ModelError, local_store_path, resolve_tracking_uri

REGISTERED_MODEL = "toxlink"
CHAMPION = "champion"
EXPERIMENT = "toxlink"

__all__ = ["REGISTERED_MODEL", "CHAMPION", "EXPERIMENT", "log_run", "GateDecision", "compare_models", "register_and_gate"]


def _artifact_location(tracking_uri: str) -> str:
    """Artifacts next to a SQLite store (``<db dir>/mlruns-artifacts``), else ./mlruns-artifacts."""
    if tracking_uri.startswith("sqlite:///"):
        db = Path(tracking_uri[len("sqlite:///"):])
        return (db.parent / "mlruns-artifacts").resolve().as_uri()
    return (Path.cwd() / "mlruns-artifacts").resolve().as_uri()


def client_for(tracking_uri: str | None):
    import logging

    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    os.environ.setdefault("DO_NOT_TRACK", "true")
    from mlflow import MlflowClient

    # MLflow logs its database migrations at INFO on first use; keep CLI output clean
    # (after the import, which configures mlflow's logger).
    for name in ("mlflow", "alembic"):
        logging.getLogger(name).setLevel(logging.WARNING)

    uri = resolve_tracking_uri(tracking_uri)
    store = local_store_path(uri)
    if store is not None:
        # every caller here writes (runs, versions, aliases): the store's folder may be new,
        # e.g. ~/.toxlink on a first run
        (store.parent if uri.startswith("sqlite:") else store).mkdir(parents=True, exist_ok=True)
    return MlflowClient(tracking_uri=uri, registry_uri=uri), uri


def _experiment_id(client, uri: str, name: str = EXPERIMENT) -> str:
    exp = client.get_experiment_by_name(name)
    if exp is not None:
        return exp.experiment_id
    return client.create_experiment(name, artifact_location=_artifact_location(uri))


def _flat_metrics(d: dict, prefix: str = "") -> dict[str, float]:
    import re

    out = {}
    for k, v in d.items():
        # MLflow metric names: alphanumerics, _ - . / : and spaces; keep them readable
        key = prefix + re.sub(r"[^A-Za-z0-9_\-./:]+", "_", str(k)).strip("_")
        if isinstance(v, dict):
            out.update(_flat_metrics(v, key + "."))
        elif isinstance(v, (int, float, np.number)) and not isinstance(v, bool) and np.isfinite(v):
            out[key] = float(v)
    return out


def log_run(
    bundle: ModelBundle,
    *,
    tracking_uri: str | None = None,
    run_name: str | None = None,
    metrics: dict | None = None,
    params: dict | None = None,
    tags: dict | None = None,
    artifacts: dict[str, str | os.PathLike] | None = None,
) -> str:
    """Log a training run (params, metrics, data hash, the bundle as artifacts ``model/``).

    Returns
    -------
    str: the MLflow run id.
    """
    client, uri = client_for(tracking_uri)
    eid = _experiment_id(client, uri)
    run = client.create_run(eid, run_name=run_name, tags={"data_hash": bundle.data_hash, "toxlink_version": bundle.version, **(tags or {})})
    rid = run.info.run_id
    try:
        from mlflow.entities import Metric, Param

        allp = {**bundle.params, **(params or {})}
        plist = [Param(k, str(v)[:6000]) for k, v in allp.items()]
        now = int(time.time() * 1000)
        mlist = [Metric(k, v, now, 0) for k, v in _flat_metrics({**bundle.metrics, **(metrics or {})}).items()]
        # log_batch takes at most 100 params and 1000 metrics per call
        for i in range(0, len(plist), 100):
            client.log_batch(rid, params=plist[i:i + 100])
        for i in range(0, len(mlist), 1000):
            client.log_batch(rid, metrics=mlist[i:i + 1000])
        with tempfile.TemporaryDirectory() as tmp:
            bundle.save(tmp)
            client.log_artifacts(rid, tmp, "model")
        for dest, path in (artifacts or {}).items():
            path = Path(path)
            if path.is_dir():
                client.log_artifacts(rid, str(path), dest)
            elif path.is_file():
                client.log_artifact(rid, str(path), dest or None)
        client.set_terminated(rid, "FINISHED")
    except BaseException:
        client.set_terminated(rid, "FAILED")
        raise
    return rid


@dataclass
class GateDecision:
    """Outcome of :func:`register_and_gate`."""

    promoted: bool
    version: str | None
    champion_version: str | None
    new: dict[str, float]
    champion: dict[str, float] | None
    reason: str
    tolerance: float
    #: what the new model was compared with: ``champion vN`` or the baseline's name
    compared_with: str | None = None
    n_eval: int = 0

    def lines(self) -> list[str]:
        out = [f"registered model {REGISTERED_MODEL!r} version {self.version}" if self.version is not None
               else "not registered (no MLflow run): compared without the registry"]
        if self.champion is not None:
            other = self.compared_with or f"champion v{self.champion_version}"
            width = max(14, len(other))
            out.append(f"same {self.n_eval:,} evaluation links:")
            out.append(f"{'metric':<10} {'new':>8} {other:>{width}}")
            for k in ("roc_auc", "pr_auc"):
                out.append(f"{k:<10} {self.new.get(k, float('nan')):>8.4f} {self.champion.get(k, float('nan')):>{width}.4f}")
        if self.version is None:
            out.append(("passes the gate: " if self.promoted else "REFUSED: ") + self.reason)
        else:
            out.append(("promoted to @champion: " if self.promoted else "NOT promoted: ") + self.reason)
        return out


def compare_models(
    bundle: ModelBundle,
    baseline: "ModelBundle | Exception | None",
    X_eval: pd.DataFrame,
    y_eval,
    *,
    tolerance: float = 0.002,
    w_eval=None,
    baseline_name: str = "shipped model",
) -> GateDecision:
    """The promotion gate without a registry: is *bundle* not worse than *baseline*?

    Both models score the *same* rows ``X_eval`` (shape (n, f)) against ``y_eval`` (shape
    (n,)); *bundle* passes when its ROC-AUC and PR-AUC are each at least the baseline's
    minus *tolerance*. With no baseline (None) it passes ("no champion yet"). A baseline
    that cannot score these rows (another feature list, or the load error passed as an
    exception) is replaced, and the reason says so. The decision's ``version`` is None:
    nothing is registered.
    """
    y_eval = np.asarray(y_eval, float)
    p_new = bundle.predict(X_eval)
    new = {"roc_auc": M.roc_auc(y_eval, p_new, w_eval), "pr_auc": M.pr_auc(y_eval, p_new, w_eval)}
    if baseline is None:
        return GateDecision(True, None, None, new, None, "no champion yet", tolerance, None, len(y_eval))
    try:
        if isinstance(baseline, Exception):
            raise baseline
        if baseline.feature_names != list(X_eval.columns):
            raise ModelError("feature list differs")
        p_old = baseline.predict(X_eval)
    except ModelError as e:
        return GateDecision(True, None, None, new, None, f"{baseline_name} cannot score this feature matrix ({e}); replaced",
                            tolerance, baseline_name, len(y_eval))
    champ = {"roc_auc": M.roc_auc(y_eval, p_old, w_eval), "pr_auc": M.pr_auc(y_eval, p_old, w_eval)}
    worse = [k for k in ("roc_auc", "pr_auc") if not (new[k] >= champ[k] - tolerance)]
    promoted = not worse
    reason = (
        f"not worse than the {baseline_name} on the same {len(y_eval)} evaluation rows (tolerance {tolerance:g})"
        if promoted
        else f"worse than the {baseline_name} on {', '.join(worse)} by more than {tolerance:g} on the same {len(y_eval)} evaluation rows"
    )
    return GateDecision(promoted, None, None, new, champ, reason, tolerance, baseline_name, len(y_eval))


def register_and_gate(
    run_id: str,
    bundle: ModelBundle,
    X_eval: pd.DataFrame,
    y_eval,
    *,
    tracking_uri: str | None = None,
    tolerance: float = 0.002,
    w_eval=None,
    name: str = REGISTERED_MODEL,
    baseline: ModelBundle | None = None,
    baseline_name: str = "shipped model",
) -> GateDecision:
    """Register the run's model and move ``@champion`` only if it is not worse.

    Both the new model and the current champion are scored on the *same* evaluation rows
    ``(X_eval, y_eval)``; the new one is promoted when its ROC-AUC and PR-AUC are each at
    least the champion's minus *tolerance*. With no champion yet, *baseline* (for
    ``toxlink train``: the shipped model) is the champion to beat; with no baseline either,
    the new model is promoted. A
    champion trained on a different feature list cannot score these rows (and could not be
    loaded by this toxlink), so it is replaced, and the reason says so.
    """
    client, uri = client_for(tracking_uri)
    from mlflow.exceptions import MlflowException

    try:
        client.get_registered_model(name)
    except MlflowException:
        client.create_registered_model(name, description="toxlink toxic-backlink classifier (LightGBM text model + JSON metadata)")
    run = client.get_run(run_id)
    mv = client.create_model_version(name, f"{run.info.artifact_uri}/model", run_id=run_id)
    try:
        champ_mv = client.get_model_version_by_alias(name, CHAMPION)
    except MlflowException:
        champ_mv = None
    if champ_mv is None:
        decision = compare_models(bundle, baseline, X_eval, y_eval, tolerance=tolerance, w_eval=w_eval,
                                  baseline_name=baseline_name)
    else:
        champ_version = str(champ_mv.version)
        try:
            old = ModelBundle.load(f"models:/{name}/{champ_mv.version}", check_features=False, tracking_uri=uri)
        except ModelError as e:
            old = e
        decision = compare_models(bundle, old, X_eval, y_eval, tolerance=tolerance, w_eval=w_eval,
                                  baseline_name=f"champion v{champ_version}")
        decision.champion_version = champ_version
    decision.version = str(mv.version)
    promoted, new = decision.promoted, decision.new
    eval_hash = data_hash(X_eval, np.asarray(y_eval, float), w_eval)
    for k, v in new.items():
        client.set_model_version_tag(name, mv.version, f"eval_{k}", f"{v:.6f}")
    client.set_model_version_tag(name, mv.version, "eval_set_hash", eval_hash)
    client.set_model_version_tag(name, mv.version, "data_hash", bundle.data_hash)
    client.set_model_version_tag(name, mv.version, "gate", "promoted" if promoted else "refused")
    if promoted:
        client.set_registered_model_alias(name, CHAMPION, mv.version)
    client.set_tag(run_id, "gate", ("promoted: " if promoted else "refused: ") + decision.reason)
    # the side-by-side table as printed, for whoever reviews the run in the MLflow UI
    client.log_text(run_id, "\n".join(decision.lines()) + "\n", "gate.txt")
    return decision
