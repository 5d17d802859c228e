"""Batch scoring: Google's disavow limits never produce an unuploadable file or lose an entry."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from toxlink import disavow as D
from toxlink import policy as P
from toxlink.batch import score_exports

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "data" / "sample" / "ahrefs-backlinks-sample.csv"
EXISTING = ROOT / "data" / "sample" / "existing-disavow.txt"


def _entries(path: Path) -> list[str]:
    return [ln for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip() and not ln.startswith("#")]


def test_over_the_line_limit_the_riskiest_entries_fit_and_the_rest_overflow(tmp_path, monkeypatch):
    free = score_exports([SAMPLE], tmp_path / "free", existing_disavow=EXISTING)
    wanted = [e for e in _entries(tmp_path / "free" / "disavow-new.txt")]
    assert len(wanted) > 60 and not [n for n in free.notes if "limit" in n]

    monkeypatch.setattr(D, "MAX_LINES", 60)
    tight = score_exports([SAMPLE], tmp_path / "tight", existing_disavow=EXISTING)
    merged = (tmp_path / "tight" / "disavow.txt").read_text(encoding="utf-8").splitlines()
    assert len(merged) <= 60
    existing = EXISTING.read_text(encoding="utf-8").splitlines()
    assert merged[: len(existing)] == existing  # nothing of the user's file is dropped
    kept = _entries(tmp_path / "tight" / "disavow-new.txt")
    overflow = _entries(tmp_path / "tight" / "disavow-overflow.txt")
    assert kept and overflow
    assert set(kept) | set(overflow) >= set(wanted)  # every recommended entry is somewhere
    assert any("disavow-overflow.txt" in n for n in tight.notes)
    # the riskiest sites are the ones that made it into the uploadable file
    domains = pd.read_csv(tmp_path / "tight" / "domains.csv")
    risk = dict(zip(domains[P.ROLLUP_DOMAIN], domains[P.MAX_RISK]))
    site = lambda e: e.removeprefix("domain:").split("/")[2] if e.startswith("http") else e.removeprefix("domain:")  # noqa: E731
    kept_risk = [risk.get(site(e)) for e in kept if e.startswith("domain:")]
    over_risk = [risk.get(site(e)) for e in overflow if e.startswith("domain:")]
    if kept_risk and over_risk:
        assert min(r for r in kept_risk if r is not None) >= max(r for r in over_risk if r is not None)


def test_worker_processes_give_the_same_outputs(tmp_path):
    # 1,500 links in chunks of 100: pass 2 runs on 2 spawned worker processes
    kw = dict(existing_disavow=EXISTING, chunksize=100, report=True)
    one = score_exports([SAMPLE], tmp_path / "one", workers=1, **kw)
    two = score_exports([SAMPLE], tmp_path / "two", workers=2, **kw)
    assert any(k.endswith("(workers)") for k in two.stage_seconds)  # the pool really ran
    for name in ("links.csv", "domains.csv", "disavow.txt", "disavow-new.txt", "disavow-diff.csv"):
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes(), name
    assert one.bands == two.bands and one.actions == two.actions
