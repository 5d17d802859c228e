"""toxlink: a local, explainable toxic-backlink classifier.

The public API is small and stable::

    import toxlink
    links = toxlink.read_export(["ahrefs.csv", "semrush.csv"])   # canonical links table
    predictor = toxlink.Predictor.load()                          # the shipped model
    scored = predictor.score(links)                               # + risk, band, reasons
    domains = predictor.recommend(scored)                         # per referring domain
    toxlink.DisavowFile.from_recommendations(domains).write("disavow.txt")
"""

from __future__ import annotations

import os

# Offline by construction: MLflow must never phone home, whatever imports it later.
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DO_NOT_TRACK", "true")

__version__ = "0.1.0"

__all__ = ["read_export", "iter_export", "Predictor", "DisavowFile", "ExportError", "__version__"]


def __getattr__(name: str):
    # Lazy so that `import toxlink` (and the CLI's --help) stays fast.
    if name in ("read_export", "iter_export", "ExportError"):
        from toxlink import exports

        return getattr(exports, name)
    if name == "Predictor":
        from toxlink.predictor import Predictor

        return Predictor
    if name == "DisavowFile":
        from toxlink.disavow import DisavowFile

        return DisavowFile
    raise AttributeError(f"module 'toxlink' has no attribute {name!r}")
