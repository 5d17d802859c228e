"""Progress on long work: pass 1 counts the bytes of the exports read, every later stage is
told once, the CLI prints a line per stage, and ``retrain`` names its stages."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from toxlink.engine import STAGES, score_exports
from toxlink.exports import iter_export
from toxlink.exports.reader import line_total
from toxlink.exports.vendors import detect

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "data" / "sample" / "ahrefs-backlinks-sample.csv"  # UTF-16 LE with a BOM


@pytest.fixture(scope="module")
def utf8_sample(tmp_path_factory) -> Path:
    """The sample again, in UTF-8, its hosts renamed so that its links are not duplicates."""
    path = tmp_path_factory.mktemp("utf8") / "sample-utf8.csv"
    text = SAMPLE.read_text(encoding="utf-16").replace("://", "://copy-")
    path.write_text(text, encoding="utf-8")
    return path


def test_a_file_has_as_many_lines_in_any_encoding(utf8_sample):
    lines = SAMPLE.read_text(encoding="utf-16").count("\n")
    assert lines > 1000
    assert line_total(detect(SAMPLE)) == lines == line_total(detect(utf8_sample))


def test_a_large_file_s_lines_are_estimated_from_its_start(tmp_path, utf8_sample):
    head, *rows = utf8_sample.read_text(encoding="utf-8").splitlines()
    big = tmp_path / "big.csv"  # ~11 MB, beyond the bytes counted
    big.write_text("\n".join([head] + [r.replace("://", f"://n{i}-", 1) for i in range(32) for r in rows]) + "\n",
                   encoding="utf-8")
    lines = 1 + 32 * len(rows)
    assert big.stat().st_size > 2 * (1 << 22)
    assert line_total(detect(big)) == pytest.approx(lines, rel=0.05)


def test_the_reader_reports_bytes_up_to_the_size_of_the_files(utf8_sample):
    reports = []
    rows = sum(len(chunk) for chunk in iter_export([SAMPLE, utf8_sample], chunksize=500,
                                                   on_bytes=lambda *a: reports.append(a)))
    total = SAMPLE.stat().st_size + utf8_sample.stat().st_size
    assert rows == 3000 and {t for _, t in reports} == {total}
    done = [d for d, _ in reports]
    assert done[0] == 0 and done[-1] == total and done == sorted(done)
    assert SAMPLE.stat().st_size in done  # the end of the first file, exactly
    assert len(set(done)) >= 3  # not one jump from nothing to everything


def test_score_reports_pass_one_in_bytes_and_each_later_stage_once(tmp_path, utf8_sample):
    calls = []
    score_exports([SAMPLE, utf8_sample], tmp_path / "out", chunksize=400, report=True,
                  on_chunk=lambda *a: calls.append(a))
    read_bytes = [c for c in calls if c[0] == "read bytes"]
    total = SAMPLE.stat().st_size + utf8_sample.stat().st_size
    assert sum(c[1] for c in read_bytes) == total and {c[2] for c in read_bytes} == {total}
    assert all(c[1] >= 0 for c in read_bytes) and sum(c[1] > 0 for c in read_bytes) >= 2
    later = [c for c in calls if c[0] not in ("read", "read bytes", "score")]
    assert all(c[1:] == (0, None) for c in later)
    names = [c[0] for c in later]
    assert [n for n in names if n != "model"] == ["profile", "domains", "report"]
    assert names == sorted(names, key=STAGES.index)
    stages = [c[0] for c in calls]  # pass 1, then the profile, then pass 2
    assert stages.index("profile") > max(i for i, s in enumerate(stages) if s.startswith("read"))
    assert stages.index("profile") < stages.index("score")


def test_the_cli_prints_one_line_per_stage(tmp_path):
    r = subprocess.run([sys.executable, "-m", "toxlink.cli", "score", str(SAMPLE), "-o", str(tmp_path / "out"),
                        "--report"], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    lines = r.stderr.splitlines()
    for start in ("reading the exports: 1,500 rows (", "whole-export profile (", "scoring: 1,500 rows (",
                  "domain roll-up, domains.csv and disavow files (", "report.html ("):
        assert sum(line.startswith(start) for line in lines) == 1, (start, r.stderr)
    assert "Traceback" not in r.stderr


def test_retrain_names_its_stages_in_order(tmp_path):
    from toxlink import train as T

    stages = []
    (tmp_path / "labels.csv").write_text("domain,label\nonline-pharma.ru,toxic\nviagra-soft.ru,toxic\n"
                                         "hospitalityhub.it,ok\n", encoding="utf-8")
    fast = T.TrainConfig(num_boost_round=20, early_stopping_rounds=5, min_data_in_leaf=10, num_threads=1,
                         min_isotonic_rows=300, min_isotonic_class=30)
    with pytest.raises(T.TrainRefused):  # three labelled sites are too few to judge: refused, after the fit
        T.retrain([SAMPLE], labels=tmp_path / "labels.csv", with_base=False, register=False,
                  out_dir=tmp_path / "model", config=fast, on_stage=stages.append)
    assert stages == ["read", "label", "features", "fit", "evaluate"]
    assert set(stages) <= set(T.RETRAIN_STAGES)
