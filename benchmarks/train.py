"""Retraining speed: feature computation + LightGBM training + calibration on N labelled links.

Usage: ``python benchmarks/train.py [N] [--threads K]`` (default N = 1,000,000, K = 2).
The links come from ``benchmarks/synth.py`` (``synth_links(N, seed=0)``) and are labelled
by a seeded rule on their raw columns plus noise (generating and labelling is not timed:
it stands in for reading an export and a labels file). Timed: host parsing, all seven
feature families, and :func:`toxlink.train.fit` with the shipped model's settings (at most
300 trees, early stopping on a grouped validation fold, isotonic calibration, thresholds).
Prints seconds per stage, the total, and the process's peak RSS. Target: <= 120 s on 2 cores
for 1M links.
"""

from __future__ import annotations

import resource
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from synth import synth_links  # noqa: E402

from toxlink import schema as S  # noqa: E402
from toxlink import train as T  # noqa: E402


def label(links, seed: int = 0) -> np.ndarray:
    """A seeded rule on raw columns (spam words in the host, spam titles, footer links,
    low-rated domains, the vendor flag) turned into a probability, plus label noise."""
    rng = np.random.default_rng(seed)
    src = links[S.SOURCE_URL].astype("string")
    spam_host = src.str.contains(r"//(?:www\.)?(?:casino|slot|gacor|bet|loan|pharma|viagra|essay|backlinks|seo|cheap|pills|poker)", regex=True).to_numpy(bool)
    spam_title = links[S.PAGE_TITLE].str.contains("Casino", regex=False).fillna(False).to_numpy(bool)
    z = (
        -2.5
        + 3.0 * spam_host
        + 2.5 * spam_title
        + 0.8 * links[S.SITEWIDE].fillna(False).to_numpy(bool)
        + 1.5 * links[S.VENDOR_SPAM].fillna(False).to_numpy(bool)
        + 0.02 * (30 - links[S.DOMAIN_RATING].fillna(30).to_numpy(float))
    )
    return (rng.random(len(links)) < 1 / (1 + np.exp(-z))).astype(np.int8)


def main(argv: list[str]) -> None:
    args = [a for a in argv if not a.startswith("--")]
    n = int(args[0]) if args else 1_000_000
    threads = int(argv[argv.index("--threads") + 1]) if "--threads" in argv else 2
    links = synth_links(n, seed=0)
    links["label"] = label(links)
    T.compute_features(links.head(1000))  # warm-up: word lists, compiled patterns, imports
    import lightgbm  # noqa: F401

    t0 = time.perf_counter()
    links = T.with_hosts(links)
    t1 = time.perf_counter()
    X = T.compute_features(links)
    t2 = time.perf_counter()
    res = T.fit(links, X=X, config=T.TrainConfig(num_threads=threads))
    t3 = time.perf_counter()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    info = res.info
    print(f"links: {n:,} ({int(links['label'].sum()):,} toxic), features: {X.shape[1]}, threads: {threads}")
    print(f"host parsing:        {t1 - t0:7.1f} s")
    print(f"features:            {t2 - t1:7.1f} s")
    print(f"train + calibrate:   {t3 - t2:7.1f} s  ({res.bundle.booster.num_trees()} trees, "
          f"fit/valid/calib rows {info['rows']['fit']:,}/{info['rows']['valid']:,}/{info['rows']['calib']:,}, "
          f"{res.bundle.calibration['method']})")
    print(f"total:               {t3 - t0:7.1f} s")
    print(f"peak RSS:            {rss:7.0f} MB")
    print(f"calibration-fold ROC-AUC {info['calib_metrics']['roc_auc']:.3f}, ECE {info['calib_metrics']['ece']:.3f}")


if __name__ == "__main__":
    main(sys.argv[1:])
