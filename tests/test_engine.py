"""The scoring engine: outputs that do not depend on how the export is chunked, a Predictor
that carries nothing from one audit to the next, Google's limits, and no spool left behind."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import toxlink
from toxlink.disavow import lines as disavow_lines
from toxlink import schema as S
from toxlink.engine import score_exports

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "data" / "sample" / "ahrefs-backlinks-sample.csv"
EXISTING = ROOT / "data" / "sample" / "existing-disavow.txt"
OUTPUTS = ("links.csv", "domains.csv", "disavow.txt", "disavow-new.txt", "disavow-diff.csv")


def _entries(path: Path) -> list[str]:
    return [ln for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip() and not ln.startswith("#")]


def test_outputs_are_byte_identical_whatever_the_chunk_size(tmp_path):
    kw = dict(existing_disavow=EXISTING, report=True)
    whole = score_exports([SAMPLE], tmp_path / "whole", **kw)
    small = score_exports([SAMPLE], tmp_path / "small", chunksize=100, **kw)
    for name in OUTPUTS:
        assert (tmp_path / "whole" / name).read_bytes() == (tmp_path / "small" / name).read_bytes(), name
    assert whole.bands == small.bands and whole.actions == small.actions and whole.rows == small.rows == 1500
    assert not [p for p in (tmp_path / "small").iterdir() if p.name.startswith(".")]  # no spool, no temporaries


def _client_b(tmp_path: Path) -> Path:
    """Client B's export: spam links, some of them from pages of client A's site (the sample's
    target, pawsome-pets.example), which nothing in B's own data whitelists."""
    rows = ["source url,target url,anchor"]
    for i in range(40):
        rows.append(f"https://slot-gacor-{i % 7}.xyz/casino/{i},https://www.clientb.example/,slot gacor casino bonus")
    for i in range(6):
        rows.append(f"https://www.pawsome-pets.example/partners/casino-{i},https://www.clientb.example/shop,"
                    "best online casino bonus slot")
    path = tmp_path / "client-b.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def test_one_predictor_audits_two_clients_without_carrying_the_first_into_the_second(tmp_path):
    predictor = toxlink.Predictor.load()
    policy_before = predictor.policy
    b = _client_b(tmp_path)
    score_exports([b], tmp_path / "b-alone", predictor=predictor)
    a = score_exports([SAMPLE], tmp_path / "a", predictor=predictor)  # client A: pawsome-pets.example is its own site
    assert any("pawsome-pets.example" in note for note in a.notes)  # ... and so whitelisted for A
    score_exports([b], tmp_path / "b-after-a", predictor=predictor)
    assert predictor.policy is policy_before  # the caller's predictor is not changed by a run
    for name in OUTPUTS:
        assert (tmp_path / "b-alone" / name).read_bytes() == (tmp_path / "b-after-a" / name).read_bytes(), name
    domains = pd.read_csv(tmp_path / "b-after-a" / "domains.csv")
    a_site = domains[domains[S.DOMAIN].str.endswith("pawsome-pets.example")]
    assert len(a_site) == 1 and not a_site[S.WHITELISTED].iloc[0]  # A's site is not whitelisted for B


def test_a_failed_run_leaves_neither_links_csv_nor_the_spool(tmp_path):
    broken = tmp_path / "broken.csv"
    lines = ["source url,anchor"] + [f"https://s{i}.example/p,a{i}" for i in range(500)] + ['https://x.example/,"open']
    broken.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(toxlink.ExportError):
        score_exports([SAMPLE, broken], tmp_path / "out", chunksize=100)
    assert list((tmp_path / "out").iterdir()) == []


def test_an_export_without_rows_gives_empty_outputs(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("source url,target url,anchor\n", encoding="utf-8")
    summary = score_exports([empty], tmp_path / "out")
    assert summary.rows == 0 and summary.domains == 0
    links = pd.read_csv(tmp_path / "out" / "links.csv")
    assert len(links) == 0 and S.RISK in links.columns


def test_over_the_line_limit_the_riskiest_entries_fit_and_the_rest_overflow(tmp_path, monkeypatch):
    free = score_exports([SAMPLE], tmp_path / "free", existing_disavow=EXISTING)
    wanted = [e for e in _entries(tmp_path / "free" / "disavow-new.txt")]
    assert len(wanted) > 10 and not [n for n in free.notes if "limit" in n]

    existing = EXISTING.read_text(encoding="utf-8").splitlines()
    # Room for the user's file and about half of the new entries, whatever the shipped model flags.
    limit = len(existing) + len(wanted) // 2
    monkeypatch.setattr(disavow_lines, "MAX_LINES", limit)  # where the limits are read
    tight = score_exports([SAMPLE], tmp_path / "tight", existing_disavow=EXISTING)
    merged = (tmp_path / "tight" / "disavow.txt").read_text(encoding="utf-8").splitlines()
    assert len(merged) <= limit
    assert merged[: len(existing)] == existing  # nothing of the user's file is dropped
    kept = _entries(tmp_path / "tight" / "disavow-new.txt")
    overflow = _entries(tmp_path / "tight" / "disavow-overflow.txt")
    assert kept and overflow
    assert set(kept) | set(overflow) >= set(wanted)  # every recommended entry is somewhere
    assert any("disavow-overflow.txt" in n for n in tight.notes)
    assert tight.disavow_overflow == len(set(overflow)) and tight.disavow_added == len(set(kept))
    # the riskiest sites are the ones that made it into the uploadable file
    domains = pd.read_csv(tmp_path / "tight" / "domains.csv")
    risk = dict(zip(domains[S.DOMAIN], domains[S.MAX_RISK]))
    site = lambda e: e.removeprefix("domain:").split("/")[2] if e.startswith("http") else e.removeprefix("domain:")  # noqa: E731
    kept_risk = [risk.get(site(e)) for e in kept if e.startswith("domain:")]
    over_risk = [risk.get(site(e)) for e in overflow if e.startswith("domain:")]
    if kept_risk and over_risk:
        assert min(r for r in kept_risk if r is not None) >= max(r for r in over_risk if r is not None)


def test_a_run_removes_what_an_interrupted_one_left_and_outputs_it_did_not_write(tmp_path):
    out = tmp_path / "out"
    score_exports([SAMPLE], out, report=True)
    # what a killed run leaves: its spool folder and the temporaries of its atomic writes
    (out / ".toxlink-spool-abc123").mkdir()
    (out / ".toxlink-spool-abc123" / "chunks.arrow").write_bytes(b"x" * 100)
    (out / ".links.csv.k2j3.tmp").write_bytes(b"half a file")
    (out / "notes.txt").write_text("the user's own file\n", encoding="utf-8")
    summary = score_exports([SAMPLE], out)  # no --report this time
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted(["links.csv", "domains.csv", "disavow.txt", "disavow-new.txt", "disavow-diff.csv",
                            "run-info.json", "label-next.csv", "notes.txt"])
    assert any("removed report.html of an earlier run" in n for n in summary.notes)


def test_a_second_run_into_a_folder_in_use_is_refused(tmp_path):
    fcntl = pytest.importorskip("fcntl")
    from toxlink.engine import claimed

    out = tmp_path / "out"
    out.mkdir()
    with claimed(out):
        with pytest.raises(FileExistsError, match="another toxlink run is writing into this folder"):
            score_exports([SAMPLE], out)
    assert fcntl and not (out / ".toxlink.lock").exists() and not (out / "links.csv").exists()


def test_warnings_about_the_existing_disavow_file_are_notes(tmp_path):
    existing = tmp_path / "mine.txt"
    existing.write_text("# old\nhello\nDomain:spam.com\n", encoding="utf-8")
    summary = score_exports([SAMPLE], tmp_path / "out", existing_disavow=existing)
    said = [n for n in summary.notes if n.startswith("your disavow file: ")]
    assert any("line 2" in n and "http://hello/" in n for n in said) and any("line 3" in n for n in said)


def test_progress_reports_every_row_of_each_pass_and_pass_two_knows_its_total(tmp_path):
    calls = []
    score_exports([SAMPLE], tmp_path / "out", chunksize=400, on_chunk=lambda *a: calls.append(a))
    read = [c for c in calls if c[0] == "read"]
    score = [c for c in calls if c[0] == "score"]
    assert sum(c[1] for c in read) == sum(c[1] for c in score) == 1500 and [c[1] > 0 for c in score] == [False] + [True] * 4
    assert {c[2] for c in score} == {1500} and {c[2] for c in read} == {None}


def test_hosts_with_invalid_labels_never_reach_the_disavow_file(tmp_path):
    bad = ["-casino-pills14.xyz", "casino-pills15-.xyz", "a.casino-" + "x" * 64 + ".xyz"]
    rows = ["source url,target url,anchor"]
    for i in range(30):  # the same spam from a valid host of each shape, as a control
        for host in bad + ["casino-pills16.xyz"]:
            rows.append(f"https://{host}/casino-viagra-{i}.html,https://pawsome-pets.example/,cheap viagra casino {i}")
    export = tmp_path / "spam.csv"
    export.write_text("\n".join(rows) + "\n", encoding="utf-8")
    summary = score_exports([export], tmp_path / "out")
    links = pd.read_csv(summary.files["links.csv"])
    issues = links.set_index(links[S.SOURCE_URL].str.extract(r"//([^/]+)/")[0])[S.ROW_ISSUE]
    assert (issues.loc[bad] == "invalid host").all() and issues.loc["casino-pills16.xyz"].isna().all()
    entries = [ln for name in ("disavow.txt", "disavow-new.txt") if name in summary.files
               for ln in _entries(summary.files[name])]
    assert any("casino-pills16.xyz" in ln for ln in entries)  # the control is disavowed
    assert not [ln for ln in entries if any(host in ln for host in bad)]
