"""training/adaptation.py's pieces that need no public lists: label sampling and the model card section."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "training"))

import adaptation as A  # noqa: E402


def test_pick_domains_takes_a_share_of_every_list():
    groups = np.array([f"a{i}.com" for i in range(200)] + [f"b{i}.org" for i in range(30)] + ["c.net"] * 4)
    sources = np.array(["a"] * 200 + ["b"] * 30 + ["c"] * 4)
    got = A.pick_domains(groups, sources, 0.05, seed=0)
    assert sum(g.startswith("a") for g in got) == 10 and sum(g.startswith("b") for g in got) == 2
    assert "c.net" in got  # at least one domain of every list
    assert got == A.pick_domains(groups, sources, 0.05, seed=0) and got != A.pick_domains(groups, sources, 0.05, seed=1)


def test_card_section_replaces_an_earlier_one(tmp_path):
    rows = [{"source": s, "fraction_pct": f, "variant": v, "shipped_roc_auc": 0.8, "retrained_roc_auc": 0.8 + f / 100}
            for s in ("x", "y") for f in (1, 5) for v in ("old", "new")]
    result = {"rows": rows, "seconds": 120.0, "command": "python training/adaptation.py"}
    card = tmp_path / "MODEL_CARD.md"
    card.write_text("# card\n\n## Leave-one-source-out\n\ntable\n\n## What the model is\n\ntext\n", encoding="utf-8")
    A.write_card(card, result)
    first = card.read_text(encoding="utf-8")
    assert first.index("## Leave-one-source-out") < first.index(A.CARD_HEADING) < first.index("## What the model is")
    assert "0.800 -> 0.850" in first and "| **mean** | new | 0.800 -> 0.810 | 0.800 -> 0.850 |" in first
    rows[0]["retrained_roc_auc"] = 0.9
    A.write_card(card, result)
    second = card.read_text(encoding="utf-8")
    assert second.count(A.CARD_HEADING) == 1 and "0.800 -> 0.900" in second and second.endswith("text\n")
