"""Runs the adversarial corpus (``corpus.py``) through ``toxlink score`` and checks every promise."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from corpus import CASES, SAMPLE, Case

from toxlink import schema as S


def _score(args: list[str], out: Path, capsys) -> tuple[int, str, str]:
    from toxlink import cli

    code = cli.main(["score", *args, "-o", str(out)])
    printed = capsys.readouterr()
    return code, printed.out, printed.err


@pytest.mark.parametrize("case", CASES, ids=[f"{c.group}/{c.name}" for c in CASES])
def test_promise(case: Case, tmp_path: Path, capsys):
    out = tmp_path / "out"
    code, said, err = _score(case.build(tmp_path), out, capsys)
    assert code == case.exit, err
    assert "Traceback" not in said + err and "internal error" not in err
    for part in case.says:
        assert part.format(dir=tmp_path) in (err if code else said), (part, err or said)
    leftovers = sorted(p.name for p in out.iterdir() if p.name.startswith(".")) if out.exists() else []
    assert leftovers == []  # no temporary, spool, staging folder or lock
    if code:
        assert not out.exists() or not any(out.iterdir())
        assert len(err.strip().splitlines()) <= 2  # one message (and, for usage errors, a hint)
        return
    links = pd.read_csv(out / "links.csv", dtype=str, keep_default_na=False)
    assert links[S.SOURCE_ROW].astype(int).tolist() == list(case.rows)  # every input row once, in order
    issues = dict(zip(links[S.SOURCE_ROW].astype(int), links[S.ROW_ISSUE]))
    bands = dict(zip(links[S.SOURCE_ROW].astype(int), links[S.BAND]))
    for line, issue in issues.items():
        assert (issue != "") == (bands[line] == "rejected"), (line, issue)  # rejected always with a reason
        if line in case.rejected:
            assert issue and case.rejected[line] in issue, (line, issue)
        elif case.others_scored:
            assert issue == "", (line, issue)
    if case.check:
        case.check(out)


def test_sigint_mid_run_exits_130_and_leaves_nothing(tmp_path):
    """A real Ctrl-C (SIGINT) while the run is writing: exit 130, one message, no file left."""
    export = tmp_path / "big.tsv"
    lines = SAMPLE.read_text(encoding="utf-16").splitlines()
    export.write_text("\n".join([lines[0]] + lines[1:] * 20) + "\n", encoding="utf-8")  # 30,000 rows
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-m", "toxlink.cli", "score", str(export), "-o", str(out),
                             "--chunksize", "2000"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if out.is_dir() and any(p.name.startswith(".toxlink-staging-") for p in out.iterdir()):
            break
        time.sleep(0.05)
    time.sleep(0.5)  # into pass 1
    proc.send_signal(signal.SIGINT)
    said, err = proc.communicate(timeout=120)
    left = sorted(os.listdir(out)) if out.exists() else []
    assert proc.returncode == 130, (proc.returncode, said, err, left)
    assert "interrupted" in err and "Traceback" not in err, err
    assert left == []
