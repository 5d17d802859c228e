"""The model bundle: a LightGBM text model plus JSON metadata, never a pickle.

A bundle is two files in one directory:

- ``toxlink-model.txt`` — LightGBM's own text format (:meth:`lightgbm.Booster.save_model`),
  readable and diffable, loaded with ``lightgbm.Booster(model_file=...)``.
- ``toxlink-model.json`` — everything else as plain JSON: the feature names in model order,
  the toxlink version, decision thresholds ``{"toxic": t1, "review": t2}`` on the calibrated
  probability, the calibration map as plain numbers, evaluation metrics, the training data
  hash, training parameters and the creation date.

Calibration maps LightGBM's raw score (the log-odds margin) to a probability:

- ``{"method": "isotonic", "x": [...], "y": [...]}``: a monotone step function given by its
  breakpoints, applied with :func:`numpy.interp` (flat beyond the ends);
- ``{"method": "platt", "a": a, "b": b}``: ``p = 1 / (1 + exp(-(a * raw + b)))``;
- ``{"method": "sigmoid"}``: LightGBM's own probability (no recalibration).

Loading never unpickles anything: a model file handed over by a user is parsed as text
and JSON only, so a malicious file cannot run code.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

MODEL_FILE = "toxlink-model.txt"
MODEL_SHA256 = "model_sha256"  # metadata key: sha256 of the text model file
META_FILE = "toxlink-model.json"
FORMAT_VERSION = 1

__all__ = ["ModelBundle", "ModelError", "apply_calibration", "resolve_tracking_uri", "default_store", "local_store_path", "MODEL_FILE", "META_FILE"]

def import_lightgbm():
    """The ``lightgbm`` module, imported on first use rather than with toxlink (it imports
    scikit-learn and scipy for its optional wrappers: about 1 s on a busy 2-core machine)."""
    import lightgbm

    return lightgbm


class ModelError(ValueError):
    """A model bundle that cannot be loaded or used (missing file, feature mismatch, ...)."""


def apply_calibration(raw: np.ndarray, calibration: dict[str, Any]) -> np.ndarray:
    """Map raw LightGBM scores (log-odds, shape (n,)) to calibrated probabilities (n,)."""
    raw = np.asarray(raw, dtype=float)
    method = calibration.get("method", "sigmoid")
    if method == "isotonic":
        x = np.asarray(calibration["x"], dtype=float)
        y = np.asarray(calibration["y"], dtype=float)
        return np.clip(np.interp(raw, x, y), 0.0, 1.0)
    if method == "platt":
        z = float(calibration["a"]) * raw + float(calibration["b"])
        return 1.0 / (1.0 + np.exp(-z))
    if method == "sigmoid":
        return 1.0 / (1.0 + np.exp(-raw))
    raise ModelError(f"unknown calibration method {method!r}")


def _is_mlflow_uri(path) -> bool:
    return isinstance(path, str) and path.split(":", 1)[0] in ("models", "runs", "mlflow-artifacts")


@dataclass
class ModelBundle:
    """A trained booster with everything needed to score and explain links.

    Attributes
    ----------
    booster : lightgbm.Booster
    feature_names : list of str
        Column order the booster expects (``toxlink.features.feature_names()`` at training).
    thresholds : dict
        ``{"toxic": float, "review": float}`` on the calibrated probability.
    calibration : dict
        See the module docstring.
    metrics, params, extra : dict
        Evaluation figures, training parameters, anything else worth keeping (JSON-able).
    data_hash : str
        Hash of the training data (``toxlink.basedata.dataset_hash`` or equivalent).
    version : str
        toxlink version that trained the model.
    created : str
        ISO-8601 UTC timestamp.
    """

    booster: Any
    feature_names: list[str]
    thresholds: dict[str, float]
    calibration: dict[str, Any] = field(default_factory=lambda: {"method": "sigmoid"})
    metrics: dict[str, Any] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)
    data_hash: str = ""
    version: str = ""
    created: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self):
        if not self.version:
            from toxlink import __version__

            self.version = __version__
        if not self.created:
            self.created = datetime.now(timezone.utc).replace(microsecond=0).isoformat()
        self.feature_names = list(self.feature_names)
        booster_names = list(self.booster.feature_name())
        if booster_names != self.feature_names:
            raise ModelError(
                "the booster's features differ from the bundle's feature list "
                f"({len(booster_names)} vs {len(self.feature_names)} features)"
            )
        missing = {"toxic", "review"} - set(self.thresholds)
        if missing:
            raise ModelError(f"thresholds lack {sorted(missing)}")
        try:
            self.thresholds = {k: float(v) for k, v in self.thresholds.items()}
        except (TypeError, ValueError):
            raise ModelError(f"thresholds must be numbers, got {self.thresholds!r}") from None
        toxic, review = self.thresholds["toxic"], self.thresholds["review"]
        if not (0.0 <= review <= toxic <= 1.0):  # NaN fails every comparison
            raise ModelError(f"thresholds must be numbers with 0 <= review <= toxic <= 1, got review {review}, "
                             f"toxic {toxic}")
        if self.calibration.get("method") == "isotonic":
            x, y = self.calibration.get("x"), self.calibration.get("y")
            if not isinstance(x, list) or not isinstance(y, list) or len(x) != len(y) or not x:
                raise ModelError("isotonic calibration needs lists x and y of the same, non-zero length")

    # -- scoring -------------------------------------------------------------------------
    def _matrix(self, X) -> np.ndarray:
        if isinstance(X, pd.DataFrame):
            missing = [c for c in self.feature_names if c not in X.columns]
            if missing:
                raise ModelError(f"feature matrix lacks {len(missing)} model features, e.g. {missing[:5]}")
            return X[self.feature_names].to_numpy(dtype=np.float64, na_value=np.nan)
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != len(self.feature_names):
            raise ModelError(f"expected a matrix of {len(self.feature_names)} columns, got shape {X.shape}")
        return X

    def raw_score(self, X) -> np.ndarray:
        """Raw LightGBM margin (log-odds before calibration), shape (n,)."""
        M = self._matrix(X)
        if len(M) == 0:
            return np.zeros(0)
        return np.asarray(self.booster.predict(M, raw_score=True, num_threads=prediction_threads()), dtype=float)

    def predict(self, X) -> np.ndarray:
        """Calibrated probability that each link is toxic, shape (n,).

        Parameters
        ----------
        X : DataFrame (columns include :attr:`feature_names`) or ndarray, shape (n, f)
        """
        return apply_calibration(self.raw_score(X), self.calibration)

    def contributions(self, X) -> np.ndarray:
        """Per-feature SHAP contributions to the raw score, shape (n, f + 1).

        The last column is the expected raw score (bias); each row sums to
        :meth:`raw_score`. Calibration is monotone, so a positive contribution always
        pushes the probability up.
        """
        M = self._matrix(X)
        if len(M) == 0:
            return np.zeros((0, len(self.feature_names) + 1))
        return np.asarray(self.booster.predict(M, pred_contrib=True, num_threads=prediction_threads()), dtype=float)

    def band(self, p: np.ndarray) -> np.ndarray:
        """``"toxic"`` / ``"review"`` / ``"ok"`` for probabilities *p* (n,) at the bundle thresholds."""
        p = np.asarray(p, dtype=float)
        t = self.thresholds
        return np.where(p >= t["toxic"], "toxic", np.where(p >= t["review"], "review", "ok")).astype(object)

    # -- persistence ---------------------------------------------------------------------
    def metadata(self) -> dict[str, Any]:
        """The JSON metadata written next to the model (plain Python types only)."""
        return _jsonable(
            {
                "format_version": FORMAT_VERSION,
                "toxlink_version": self.version,
                "created": self.created,
                "feature_names": self.feature_names,
                "thresholds": self.thresholds,
                "calibration": self.calibration,
                "metrics": self.metrics,
                "data_hash": self.data_hash,
                "params": self.params,
                "num_trees": int(self.booster.num_trees()),
                "extra": self.extra,
            }
        )

    def save(self, directory: str | os.PathLike) -> Path:
        """Write ``toxlink-model.txt`` and ``toxlink-model.json`` into *directory* (created)."""
        from toxlink.outputs import atomic_write

        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        text = self.booster.model_to_string().encode("utf-8")
        # Each file whole or absent; the metadata, written last, names the model text it goes
        # with, so a text file cut short or from another run is refused before LightGBM's
        # parser reads it (a truncated file can crash the process).
        with atomic_write(directory / MODEL_FILE, "wb") as fh:
            fh.write(text)
        with atomic_write(directory / META_FILE) as fh:
            json.dump({**self.metadata(), MODEL_SHA256: hashlib.sha256(text).hexdigest()}, fh, indent=2,
                      sort_keys=False, allow_nan=True)
            fh.write("\n")
        return directory

    def save_folder(self, directory: str | os.PathLike) -> Path:
        """Write the bundle as the folder *directory*, whole or not at all.

        The files go to a temporary sibling folder first, which is then renamed into place;
        an interrupted run leaves the previous folder (or none) under *directory*, never a
        half-written one. An existing *directory* is replaced only if it holds nothing but a
        model bundle's files, so that ``-o .`` or a mistyped folder never deletes anything else.

        Raises
        ------
        FileExistsError
            *directory* exists and holds files other than a bundle's.
        """
        import shutil
        import tempfile

        directory = Path(directory)
        if directory.exists():
            others = sorted(p.name for p in directory.iterdir() if p.name not in (MODEL_FILE, META_FILE)) \
                if directory.is_dir() else [directory.name]
            if others:
                raise FileExistsError(errno.EEXIST, f"not a model folder ({', '.join(others[:3])} in it); "
                                      "choose another --output", str(directory))
        directory.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{directory.name}.", suffix=".tmp", dir=directory.parent))
        old = None
        try:
            self.save(tmp)
            if directory.exists():
                old = Path(tempfile.mkdtemp(prefix=f".{directory.name}.", suffix=".old", dir=directory.parent))
                os.replace(directory, old / directory.name)
            os.replace(tmp, directory)
        except BaseException:
            if old is not None and not directory.exists():
                os.replace(old / directory.name, directory)  # put the previous model back
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        finally:
            if old is not None:
                shutil.rmtree(old, ignore_errors=True)
        return directory

    @classmethod
    def load(
        cls,
        path: str | os.PathLike | None = None,
        *,
        check_features: bool = True,
        tracking_uri: str | None = None,
    ) -> "ModelBundle":
        """Load a bundle from a directory, either of its two files, or an MLflow model URI.

        Parameters
        ----------
        path : str or PathLike, optional
            ``None`` for the shipped model (``models/``); a directory holding the two
            files; the ``.txt`` or ``.json`` file; or ``models:/toxlink@champion``,
            ``models:/toxlink/3``, ``runs:/<run_id>/model`` (downloaded with
            :func:`mlflow.artifacts.download_artifacts`, then loaded the same way).
        check_features : bool
            Refuse a bundle whose feature list differs from
            ``toxlink.features.feature_names()`` (the features this code computes).
        tracking_uri : str, optional
            MLflow tracking / registry URI for ``models:/`` URIs (default as for
            training: :func:`resolve_tracking_uri`); a local store that does not exist is
            an error, never created.
        """
        if path is None:
            from toxlink.resources import models_path

            path = models_path()
        if _is_mlflow_uri(path):
            path = _download(str(path), tracking_uri)
        path = Path(path)
        if path.is_dir():
            model_file, meta_file = path / MODEL_FILE, path / META_FILE
        elif path.suffix in (".txt", ".json"):
            model_file, meta_file = path.with_suffix(".txt"), path.with_suffix(".json")
        else:
            raise ModelError(f"{path}: not a model directory, .txt or .json file")
        directory = model_file.parent
        for f in (model_file, meta_file):
            if not f.is_file():
                raise ModelError(f"{f}: model file not found")
        try:
            with open(meta_file, encoding="utf-8") as fh:
                meta = json.load(fh)
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise ModelError(f"{meta_file}: not valid JSON model metadata ({e})") from None
        if not isinstance(meta, dict) or "feature_names" not in meta or "thresholds" not in meta:
            raise ModelError(f"{meta_file}: not toxlink model metadata (no feature_names/thresholds)")

        text = model_file.read_bytes()
        if MODEL_SHA256 in meta and hashlib.sha256(text).hexdigest() != meta[MODEL_SHA256]:
            raise ModelError(f"{model_file}: damaged, or not the model {meta_file.name} describes (its checksum "
                             "differs); copy the model folder again or rebuild it")
        lgb = import_lightgbm()
        try:
            booster = lgb.Booster(model_str=text.decode("utf-8"))
        except (lgb.basic.LightGBMError, UnicodeDecodeError) as e:
            raise ModelError(f"{model_file}: not a LightGBM text model ({e})") from None
        if check_features:
            from toxlink import features

            expected = list(features.feature_names())
            got = list(meta["feature_names"])
            if got != expected:
                raise ModelError(_mismatch_message(meta_file, got, expected))
        try:
            return cls(
                booster=booster,
                feature_names=meta["feature_names"],
                thresholds=meta["thresholds"],
                calibration=meta.get("calibration") or {"method": "sigmoid"},
                metrics=meta.get("metrics") or {},
                params=meta.get("params") or {},
                data_hash=meta.get("data_hash", ""),
                version=meta.get("toxlink_version", "") or "unknown",
                created=meta.get("created", "") or "unknown",
                extra=meta.get("extra") or {},
            )
        except ModelError as e:
            raise ModelError(f"{directory}: {e}") from None


def _mismatch_message(meta_file, got: list[str], expected: list[str]) -> str:
    only_model = [f for f in got if f not in expected]
    only_code = [f for f in expected if f not in got]
    parts = [f"{meta_file}: the model was trained on a different feature list than this toxlink computes"]
    if only_model:
        parts.append(f"model-only features: {only_model[:5]}")
    if only_code:
        parts.append(f"features the model lacks: {only_code[:5]}")
    if not only_model and not only_code:
        parts.append("same features in a different order")
    parts.append("retrain with `toxlink train` or use a toxlink version matching the model")
    return "; ".join(parts)


def _download(uri: str, tracking_uri: str | None) -> Path:
    """Local directory of an MLflow model URI (``models:/name@alias``, ``models:/name/3``,
    ``runs:/id/path``), resolved against one store used as tracking *and* registry."""
    import logging

    import mlflow
    from mlflow import MlflowClient

    logging.getLogger("mlflow").setLevel(logging.WARNING)
    uri_ = resolve_tracking_uri(tracking_uri)
    _require_store(uri_)
    try:
        if uri.startswith("models:/"):
            # Resolved here rather than by download_artifacts, which would consult the
            # process-wide registry URI instead of the store we were given.
            rest = uri[len("models:/"):].strip("/")
            client = MlflowClient(tracking_uri=uri_, registry_uri=uri_)
            if "@" in rest:
                name, alias = rest.split("@", 1)
                mv = client.get_model_version_by_alias(name, alias)
            elif "/" in rest:
                name, version = rest.rsplit("/", 1)
                mv = client.get_model_version(name, version)
            else:
                raise ModelError(f"{uri}: give a version or alias (models:/name/3 or models:/name@champion)")
            source = mv.source
        else:
            source = uri
        local = mlflow.artifacts.download_artifacts(artifact_uri=source, tracking_uri=uri_)
    except ModelError:
        raise
    except Exception as e:  # mlflow raises its own exception zoo
        raise ModelError(f"cannot fetch {uri} from {uri_}: {e}") from None
    return Path(local)


def default_store() -> Path:
    """toxlink's own MLflow store when none is named: ``~/.toxlink/mlruns.db``.

    One place per user, whatever the current folder, so that ``models:/toxlink@champion``
    means the same model from anywhere; the home folder is :meth:`pathlib.Path.home`.
    """
    return Path.home() / ".toxlink" / "mlruns.db"


def resolve_tracking_uri(tracking_uri: str | None = None) -> str:
    """The MLflow tracking URI: *tracking_uri* (``--tracking-uri``), else
    ``$MLFLOW_TRACKING_URI``, else the SQLite file :func:`default_store` (embedded, no server,
    no network)."""
    if tracking_uri:
        return tracking_uri
    env = os.environ.get("MLFLOW_TRACKING_URI")
    if env:
        return env
    return f"sqlite:///{default_store()}"


def local_store_path(tracking_uri: str) -> Path | None:
    """The file or folder a local store lives in (``sqlite:///x.db``, ``file:///d``, a bare
    path), or None for a server (``http://...``, ``databricks``, ...)."""
    from urllib.parse import unquote, urlparse

    if tracking_uri.startswith("sqlite:///"):
        return Path(unquote(tracking_uri[len("sqlite:///"):]))
    parsed = urlparse(tracking_uri)
    if parsed.scheme == "file":
        return Path(unquote(parsed.path))
    if parsed.scheme == "" or (len(parsed.scheme) == 1 and os.name == "nt"):  # a path, C:\ on Windows
        return Path(tracking_uri)
    return None


def _require_store(tracking_uri: str) -> None:
    """Refuse to read from a local store that does not exist: MLflow would create an empty one."""
    path = local_store_path(tracking_uri)
    if path is not None and not path.exists():
        raise ModelError(f"no MLflow store at {path}: train a model first (toxlink train), or name the store "
                         "with --tracking-uri or MLFLOW_TRACKING_URI")


def prediction_threads() -> int:
    """Threads LightGBM predicts with: ``$TOXLINK_THREADS``, else up to 2."""
    return int(os.environ.get("TOXLINK_THREADS", "0")) or min(2, os.cpu_count() or 1)


def _jsonable(obj):
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return [_jsonable(v) for v in obj.tolist()]
    if isinstance(obj, float) and not np.isfinite(obj):
        return None
    return obj
