"""Write the bundled sample export, data/sample/ahrefs-backlinks-sample.csv (a demo, not an evaluation).

The sample is an Ahrefs backlinks export (UTF-16 LE with BOM, tab-separated, Ahrefs column
names) of 1,500 links to a fictional site, www.pawsome-pets.example. Its referring hosts are real hosts from the public
lists in data/labels/ (spam and clean), taken from the *held-out* side of the base dataset's
grouped split (toxlink.basedata.grouped_split, test_size=0.2, seed=0), so the shipped model
has not seen them; their link attributes are the base dataset's seeded simulation (see
data/README.md). Two rows carry broken source URLs so that the demo shows rejected rows.

    python training/make_sample.py        # rewrites data/sample/ (deterministic)
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

from synth import write_ahrefs_export  # noqa: E402

from toxlink import basedata as B  # noqa: E402
from toxlink import schema as S  # noqa: E402

N_LINKS = 1500
SEED = 0


def main() -> None:
    frame = B.build_base_links(seed=SEED)
    _, test = B.grouped_split(frame, test_size=0.2, seed=SEED)
    links = test[test[B.SIMULATED]].copy()
    rng = np.random.default_rng(SEED)
    # Spam is over-represented in the base data (50 % of weight); a real profile has less.
    spam = links[links[B.LABEL] == 1]
    clean = links[links[B.LABEL] == 0]
    pick_spam = spam.iloc[np.sort(rng.choice(len(spam), size=min(len(spam), N_LINKS * 3 // 10), replace=False))]
    pick_clean = clean.iloc[np.sort(rng.choice(len(clean), size=min(len(clean), N_LINKS - len(pick_spam) - 2), replace=False))]
    sample = pd.concat([pick_clean, pick_spam]).sample(frac=1.0, random_state=SEED)
    # One audited site: every link points at it (the base data spreads targets over 8 sites).
    sample[S.TARGET_URL] = sample[S.TARGET_URL].str.replace(r"^https?://[^/]+", "https://www.pawsome-pets.example", regex=True)
    broken = sample.head(2).copy()
    broken[S.SOURCE_URL] = ["http://exa mple.com/page", "javascript:void(0)"]
    sample = S.conform(pd.concat([sample, broken], ignore_index=True))
    out = ROOT / "data" / "sample"
    out.mkdir(parents=True, exist_ok=True)
    write_ahrefs_export(sample, out / "ahrefs-backlinks-sample.csv")
    # An existing disavow file as a user would have one: comments, a domain, a URL.
    spam_domains = sorted(set(pick_spam[B.GROUP]))[:3]
    lines = ["# disavow file uploaded 2026-05-02 (previous audit)", f"domain:{spam_domains[0]}",
             f"domain:{spam_domains[1]}", "", "# a single page", f"https://{spam_domains[2]}/old-page.html"]
    (out / "existing-disavow.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {len(sample)} links ({len(pick_spam)} from spam lists) to {out}")


if __name__ == "__main__":
    main()
