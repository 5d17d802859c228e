"""Re-audits: ``toxlink compare`` and the report's section on what changed since the last audit.

Two audits of the bundled sample are made different on purpose -- the second drops the
first rows, adds links from a site the first never saw, and lowers the review threshold --
and the changes must be exactly those differences.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from toxlink import schema as S
from toxlink.compare import (CHANGE_COLUMNS, Run, change_counts, compare_runs, compare_tables)
from toxlink.engine import score_exports
from toxlink.policy import Policy
from toxlink.urls import url_match_keys

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "data" / "sample" / "ahrefs-backlinks-sample.csv"
DROPPED = 100  # rows of the sample the second audit no longer has
ADDED = 3  # rows copied from the sample's first, their hosts renamed to a site never seen before
NEW_SITE_PREFIX = "brand-new-"


def toxlink(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "toxlink.cli", *map(str, args)], capture_output=True, text=True,
                          timeout=600)


def _second_export(path: Path) -> tuple[list[str], list[str]]:
    """Write the second audit's export; return the dropped rows and the added rows (as text)."""
    head, *rows = SAMPLE.read_text(encoding="utf-16").splitlines()
    added = [row.replace("://", f"://{NEW_SITE_PREFIX}", 1) for row in rows[:ADDED]]
    path.write_text("\n".join([head, *rows[DROPPED:], *added]) + "\n", encoding="utf-16")
    return rows[:DROPPED], added


@pytest.fixture(scope="module")
def audits(tmp_path_factory):
    """``(old, new, dropped rows, added rows)``: two scored run folders of the sample."""
    base = tmp_path_factory.mktemp("audits")
    old, new = base / "old", base / "new"
    score_exports([SAMPLE], old, report=True)
    dropped, added = _second_export(base / "second.csv")
    score_exports([base / "second.csv"], new, report=True, previous=old, policy=Policy(review_threshold=0.2))
    return old, new, dropped, added


def _links(folder: Path) -> pd.DataFrame:
    links = pd.read_csv(folder / "links.csv", dtype=str, keep_default_na=False)
    links = links[links[S.DUPLICATE_OF] == ""]
    return links.assign(key=url_match_keys(links[S.SOURCE_URL]) + " -> " + url_match_keys(links[S.TARGET_URL]))


def _keys(rows: pd.DataFrame) -> set[str]:
    return set(url_match_keys(rows[S.SOURCE_URL]) + " -> " + url_match_keys(rows[S.TARGET_URL]))


def test_dropped_rows_are_lost_links_and_added_rows_new_ones(audits):
    old, new, _, _ = audits
    changes = compare_runs(old, new)
    links = changes[changes["level"] == "link"]
    before, after = _links(old), _links(new)
    assert len(before) > len(after) - ADDED  # the second export really lost links
    assert _keys(links[links["change"] == "lost"]) == set(before["key"]) - set(after["key"])
    new_links = links[links["change"] == "new"]
    assert _keys(new_links) == set(after["key"]) - set(before["key"])
    assert len(new_links) == ADDED and new_links[S.SOURCE_URL].str.contains(f"//{NEW_SITE_PREFIX}").all()
    assert new_links["verdict_before"].isna().all() and new_links["verdict_after"].notna().all()


def test_a_link_whose_band_changed_is_listed_with_both_bands(audits):
    old, new, _, _ = audits
    changes = compare_runs(old, new)
    changed = changes[(changes["level"] == "link") & (changes["change"] == "verdict_changed")]
    before = _links(old).drop_duplicates("key", keep=False).set_index("key")  # links of one row each
    after = _links(new).drop_duplicates("key", keep=False).set_index("key")
    common = before.index.intersection(after.index)
    moved = {k for k in common if before.at[k, S.BAND] != after.at[k, S.BAND]}
    assert moved, "the lower review threshold moved no link: the test would prove nothing"
    listed = changed.assign(key=url_match_keys(changed[S.SOURCE_URL]) + " -> " + url_match_keys(changed[S.TARGET_URL]))
    listed = listed.set_index("key")
    assert moved <= set(listed.index)
    for k in moved:
        assert (listed.at[k, "verdict_before"], listed.at[k, "verdict_after"]) == (before.at[k, S.BAND],
                                                                                 after.at[k, S.BAND])
        assert listed.at[k, "risk_before"] == pytest.approx(float(before.at[k, S.RISK]), abs=1e-9)
    unchanged = {k for k in common if before.at[k, S.BAND] == after.at[k, S.BAND]}
    assert not unchanged & set(listed.index)


def test_domains_new_lost_and_re_judged_follow_the_two_domain_files(audits):
    old, new, _, _ = audits
    changes = compare_runs(old, new)
    domains = changes[changes["level"] == "domain"]
    before = pd.read_csv(old / "domains.csv", dtype=str, keep_default_na=False).set_index(S.DOMAIN)
    after = pd.read_csv(new / "domains.csv", dtype=str, keep_default_na=False).set_index(S.DOMAIN)
    by_change = {c: set(domains.loc[domains["change"] == c, S.DOMAIN]) for c in ("new", "lost", "verdict_changed")}
    assert by_change["new"] == set(after.index) - set(before.index) and any(
        d.startswith(NEW_SITE_PREFIX) for d in by_change["new"])
    assert by_change["lost"] == set(before.index) - set(after.index) != set()
    common = before.index.intersection(after.index)
    assert by_change["verdict_changed"] == {d for d in common if before.at[d, S.ACTION] != after.at[d, S.ACTION]}
    assert by_change["verdict_changed"], "no domain changed action: the test would prove nothing"
    assert domains[S.SOURCE_URL].isna().all()


def test_the_cli_writes_changes_csv_with_rounded_risks_and_prints_the_counts(audits, tmp_path):
    old, new, _, _ = audits
    r = toxlink("compare", old, new, "-o", tmp_path / "changes.csv")
    assert r.returncode == 0, r.stderr
    text = (tmp_path / "changes.csv").read_text(encoding="utf-8")
    table = pd.read_csv(tmp_path / "changes.csv", dtype=str, keep_default_na=False)
    assert list(table.columns) == list(CHANGE_COLUMNS)
    for column in ("risk_before", "risk_after"):
        cells = table.loc[table[column] != "", column]
        assert len(cells) and cells.map(lambda v: re.fullmatch(r"\d(\.\d{1,3})?", v) is not None).all(), column
    assert "[" not in text and "nan" not in table.to_numpy().ravel().tolist()
    counts = change_counts(compare_runs(old, new))
    assert len(table) == sum(counts.values())
    lost_links = counts[("link", "lost")]
    assert re.search(rf"links\s*│\s*{counts[('link', 'new')]}\s*│\s*{counts[('link', 'verdict_changed')]}\s*│"
                     rf"\s*{lost_links}\b", r.stdout), r.stdout


def test_the_report_of_a_re_audit_has_the_changes_section(audits, tmp_path):
    old, new, _, _ = audits
    counts = change_counts(compare_runs(old, new))
    page = (new / "report.html").read_text(encoding="utf-8")
    assert "Changes since the previous audit" in page
    for (level, change), n in counts.items():
        assert f'id="changes-{level}-{change}" data-value="{n}"' in page
    new_flagged = page.split('id="changes-new-flagged"')[1].split("</table>")[0]
    assert NEW_SITE_PREFIX in new_flagged or counts[("domain", "new")] == 0
    assert 'id="changes"' not in (old / "report.html").read_text(encoding="utf-8")
    r = toxlink("report", new, "--previous", old, "-o", tmp_path / "rebuilt.html")
    assert r.returncode == 0, r.stderr
    rebuilt = (tmp_path / "rebuilt.html").read_text(encoding="utf-8")
    assert all(f'id="changes-{level}-{change}" data-value="{n}"' in rebuilt for (level, change), n in counts.items())


def test_a_folder_without_the_run_files_stops_with_exit_2_naming_the_file(audits, tmp_path):
    old, _, _, _ = audits
    r = toxlink("compare", old, tmp_path / "nowhere")
    assert r.returncode == 2 and "nowhere" in r.stderr and "Traceback" not in r.stderr
    (tmp_path / "half").mkdir()
    (tmp_path / "half" / "links.csv").write_bytes((old / "links.csv").read_bytes())
    r = toxlink("compare", old, tmp_path / "half")
    assert r.returncode == 2 and "domains.csv" in r.stderr and "Traceback" not in r.stderr
    (tmp_path / "half" / "domains.csv").write_text("this is not\na domains file\n", encoding="utf-8")
    r = toxlink("compare", tmp_path / "half", old)
    assert r.returncode == 2 and str(tmp_path / "half" / "domains.csv") in r.stderr
    r = toxlink("score", SAMPLE, "-o", tmp_path / "run", "--report", "--previous", tmp_path / "nowhere")
    assert r.returncode == 2 and "nowhere" in r.stderr and not (tmp_path / "run" / "links.csv").exists()


def test_a_run_cannot_compare_with_the_folder_it_writes_into(audits):
    old, _, _, _ = audits
    with pytest.raises(FileExistsError, match="output folder"):
        score_exports([SAMPLE], old, report=True, previous=old)


def _run(links: list[tuple], domains: list[tuple]) -> Run:
    return Run(links=pd.DataFrame(links, columns=[S.SOURCE_URL, S.TARGET_URL, S.DOMAIN, S.RISK, S.BAND, S.DUPLICATE_OF]),
               domains=pd.DataFrame(domains, columns=[S.DOMAIN, S.ACTION, S.MAX_RISK]))


def test_links_match_whatever_their_scheme_case_and_trailing_slash():
    old = _run([("http://a.com/x/", "https://me.com/", "a.com", 0.81234, "toxic", None),
                ("http://b.com/p", "https://me.com/", "b.com", 0.1, "ok", None)],
               [("a.com", "disavow-domain", 0.81234), ("b.com", "keep", 0.1)])
    new = _run([("https://A.com/x", "http://me.com", "a.com", 0.8, "toxic", None),
                ("https://b.com/p/", "https://me.com", "b.com", 0.45, "review", None)],
               [("A.com", "disavow-domain", 0.8), ("b.com", "review", 0.45)])
    frames = [old.links.copy(), new.links.copy()]
    changes = compare_tables(old, new)
    assert changes[["level", "change", S.DOMAIN]].values.tolist() == [["domain", "verdict_changed", "b.com"],
                                                                       ["link", "verdict_changed", "b.com"]]
    link = changes.iloc[1]
    assert (link["verdict_before"], link["verdict_after"], link["risk_before"], link["risk_after"]) == (
        "ok", "review", 0.1, 0.45)
    assert link[S.SOURCE_URL] == "https://b.com/p/"  # shown as the new audit has it
    assert old.links.equals(frames[0]) and new.links.equals(frames[1])  # the caller's tables are untouched


def test_a_link_of_several_rows_takes_its_riskiest_row_and_duplicates_do_not_count():
    old = _run([("http://a.com/", "https://me.com/", "a.com", 0.2, "ok", None),
                ("http://a.com/", "https://me.com/", "a.com", 0.9, "toxic", None)],
               [("a.com", "disavow-domain", 0.9)])
    new = _run([("http://a.com/", "https://me.com/", "a.com", 0.2, "ok", None),
                ("http://a.com/", "https://me.com/", "a.com", 0.9, "toxic", "export.csv:2")],
               [("a.com", "disavow-domain", 0.9)])
    changes = compare_tables(old, new)
    assert changes[["level", "change", "verdict_before", "verdict_after"]].values.tolist() == [
        ["link", "verdict_changed", "toxic", "ok"]]
    assert changes["risk_before"].tolist() == [0.9] and changes["risk_after"].tolist() == [0.2]
    assert compare_tables(old, old).empty
    risks = compare_tables(_run([], []), old)[["risk_before", "risk_after"]]
    assert risks["risk_before"].isna().all() and risks["risk_after"].tolist() == [0.9, 0.9]
    rounded = compare_tables(_run([], []), _run([], [("b.com", "review", 0.123456)]))
    assert rounded["risk_after"].tolist() == [0.123]
