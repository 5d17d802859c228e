"""Build toxlink's labelled base dataset and write it to a git-ignored parquet file.

Usage::

    python training/build_dataset.py                       # full dataset, seed 0
    python training/build_dataset.py --view domain         # real-only rows (host/domain/TLD signal)
    python training/build_dataset.py --view masked         # full rows, simulated attributes missing
    python training/build_dataset.py --seed 1 --out out/base-seed1.parquet

Prints the per-source counts and weights, the label-noise report, the shortcut audit and the
dataset hash (sha256 recorded in the model metadata). The design is documented in
``toxlink/basedata.py`` and ``data/README.md``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from toxlink import basedata as B  # noqa: E402

VIEWS = ("full", "domain", "masked")


def build(view: str = "full", seed: int = 0) -> tuple[pd.DataFrame, dict]:
    """The dataset of *view* and its report (counts, noise, shortcut audit, hash)."""
    if view not in VIEWS:
        raise ValueError(f"view must be one of {VIEWS}, got {view!r}")
    ledger = B.host_ledger(seed=seed)
    frame = B.build_base_links(seed=seed, simulate=view != "domain", ledger=ledger)
    if view == "masked":
        frame = B.mask_simulated(frame)
    report = {
        "view": view,
        "seed": seed,
        "rows": len(frame),
        "dataset_hash": B.dataset_hash(frame),
        "sources": B.source_counts(frame).reset_index().to_dict(orient="records"),
        "noise": B.noise_report(ledger),
        "shortcuts": B.shortcut_audit(frame),
    }
    return frame, report


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--view", choices=VIEWS, default="full")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=None, help="parquet path (default out/base-links-<view>-seed<seed>.parquet)")
    ap.add_argument("--json", type=Path, default=None, help="also write the report as JSON here")
    args = ap.parse_args(argv)

    frame, report = build(args.view, args.seed)
    out = args.out or ROOT / "out" / f"base-links-{args.view}-seed{args.seed}.parquet"
    out.parent.mkdir(parents=True, exist_ok=True)
    frame.to_parquet(out, index=False)

    counts = B.source_counts(frame)
    with pd.option_context("display.width", 160, "display.max_columns", 20, "display.precision", 3):
        print(f"view={args.view} seed={args.seed} rows={len(frame)} -> {out}")
        print(f"dataset_hash={report['dataset_hash']}\n")
        print(counts.to_string())
    noise = report["noise"]
    print("\nlabel noise and filtering")
    for src, n in noise["entries"].items():
        drops = ", ".join(f"{r}: {c}" for r, c in noise["dropped"].get(src, {}).items()) or "none"
        print(f"  {src:22s} entries {n:6d}  kept {noise['kept'].get(src, 0):6d}  dropped: {drops}")
    print(f"  listed on both sides (dropped from both): {noise['listed_on_both_sides']}")
    print(f"  spam on institutional suffixes (kept, noted): {noise['institutional_spam']}")
    print(f"  spam subdomains (kept, noted): {noise['subdomain_spam']}")
    print(f"  platform entries dropped from clean lists: {noise['platform_clean_dropped']}")
    print(f"  user sites on platform suffixes kept: {noise['platform_user_sites_kept']}")
    sc = report["shortcuts"]
    print("\nshortcut audit")
    print(f"  institutional share of clean weight {sc['institutional_share_of_clean_weight']:.3f}, of clean rows {sc['institutional_share_of_clean_rows']:.3f}")
    print(f"  www share {sc['www_share']}, non-www subdomain share {sc['subdomain_share']}")
    for k, v in sc["top_suffixes"].items():
        print(f"  top suffixes {k}: {v}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=1, default=str), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
