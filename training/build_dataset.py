"""Build the labelled host rows from the public lists and print what was kept and dropped.

    python training/build_dataset.py                  # lists from ../shared/data, seed 0
    python training/build_dataset.py --seed 1 --out out/hosts-seed1.parquet

Writes every kept host (canonical links row ``https://host/`` plus label, list, registrable
domain, weight, noise note) to a git-ignored parquet file for inspection, and prints the
per-list counts, the drop reasons and the label-noise report. The design is in
``toxlink/basedata.py`` and ``data/README.md``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import hostmodel as H
from toxlink import basedata as B


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--lists", default=str(H.LISTS_DIR))
    ap.add_argument("--out", default=None, help="parquet path (default out/hosts-seed<N>.parquet)")
    args = ap.parse_args(argv)
    ledger = B.host_ledger(args.lists, seed=args.seed)
    links = B.host_links(ledger)
    out = Path(args.out or H.ROOT / "out" / f"hosts-seed{args.seed}.parquet")
    out.parent.mkdir(parents=True, exist_ok=True)
    links.to_parquet(out, index=False)
    print(links.groupby([B.LABEL, B.LABEL_SOURCE], sort=False).agg(hosts=(B.GROUP, "size"), domains=(B.GROUP, "nunique"),
                                                                   weight=(B.WEIGHT, "sum")).to_string())
    noise = B.noise_report(ledger)
    print(json.dumps({k: noise[k] for k in ("entries", "kept", "dropped", "platform_clean_dropped")}, indent=1))
    print(f"{len(noise['listed_on_both_sides'])} domains on both sides, {len(noise['institutional_spam'])} institutional "
          f"spam hosts, {len(noise['subdomain_spam'])} spam subdomains")
    print(f"dataset hash {B.dataset_hash(links)}; wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
