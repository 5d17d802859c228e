"""A run's outputs are one unit: all from one run, moved into place together (toxlink.staging)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from toxlink import staging as staging_mod
from toxlink.disavow.file import DisavowFile
from toxlink.engine import OUTPUT_FILES, score_exports
from toxlink.staging import STAGING_PREFIX, Staging, recover

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "data" / "sample" / "ahrefs-backlinks-sample.csv"
EXISTING = ROOT / "data" / "sample" / "existing-disavow.txt"


def _folder(path: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(path.iterdir()) if p.is_file()}


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> Path:
    """The sample's first 300 links: enough for every output, quick to score."""
    lines = SAMPLE.read_text(encoding="utf-16").splitlines()
    path = tmp_path_factory.mktemp("export") / "small.tsv"
    path.write_text("\n".join(lines[:301]) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def first_run(tmp_path_factory, small):
    """A folder holding a complete run with the report, and its bytes."""
    out = tmp_path_factory.mktemp("first") / "out"
    score_exports([small], out, report=True, existing_disavow=EXISTING)
    return out, _folder(out)


def _late(monkeypatch, where: str):
    def boom(*args, **kwargs):
        raise OSError(28, "No space left on device")

    if where == "disavow writer":
        monkeypatch.setattr(DisavowFile, "write", boom)
    else:
        import toxlink.report

        monkeypatch.setattr(toxlink.report, "write_report_from", boom)


@pytest.mark.parametrize("where", ["disavow writer", "report"])
def test_a_late_failure_leaves_the_previous_run_as_it_was(first_run, small, tmp_path, monkeypatch, where):
    out, before = first_run
    copy = tmp_path / "out"
    copy.mkdir()
    for name, data in before.items():
        (copy / name).write_bytes(data)
    _late(monkeypatch, where)
    with pytest.raises(OSError, match="No space left"):
        # With a BOM and without the existing disavow file every output differs from the first run's.
        score_exports([small], copy, report=True, excel_bom=True)
    assert _folder(copy) == before and sorted(p.name for p in copy.iterdir()) == sorted(before)


def test_a_late_failure_in_an_empty_folder_leaves_nothing(small, tmp_path, monkeypatch):
    _late(monkeypatch, "report")
    with pytest.raises(OSError):
        score_exports([small], tmp_path / "out", report=True)
    assert list((tmp_path / "out").iterdir()) == []


def test_two_runs_with_different_options_leave_only_the_second_runs_files(first_run, small, tmp_path):
    out, before = first_run
    fresh = tmp_path / "fresh"
    score_exports([small], fresh)  # the second run's options, into an empty folder
    again = tmp_path / "again"
    again.mkdir()
    for name, data in before.items():
        (again / name).write_bytes(data)
    summary = score_exports([small], again)
    assert _folder(again) == _folder(fresh) and "report.html" not in _folder(again)
    assert summary.out_dir == again and all(p.parent == again for p in summary.files.values())
    assert any("removed report.html" in n for n in summary.notes)


def test_a_commit_killed_half_way_is_finished_by_the_next_run(tmp_path, monkeypatch):
    out = tmp_path / "out"
    out.mkdir()
    (out / "links.csv").write_text("old\n")
    (out / "report.html").write_text("old\n")
    (out / "notes.txt").write_text("the user's\n")
    stage = Staging(out, OUTPUT_FILES)
    (stage.dir / "links.csv").write_text("new\n")
    (stage.dir / "domains.csv").write_text("new\n")
    moves, real = [], os.replace

    def killed(src, dst):
        if Path(dst).parent == out:
            if moves:
                raise KeyboardInterrupt  # the process dies after the manifest and one move
            moves.append(dst)
        real(src, dst)

    monkeypatch.setattr(staging_mod.os, "replace", killed)
    with pytest.raises(KeyboardInterrupt):
        stage.commit(["links.csv", "domains.csv"])
    monkeypatch.undo()
    assert (out / "links.csv").read_text() == "new\n" and not (out / "domains.csv").exists()  # a mix, for now
    recover(out, OUTPUT_FILES)
    assert _folder(out) == {"domains.csv": b"new\n", "links.csv": b"new\n", "notes.txt": b"the user's\n"}
    assert not list(out.glob(STAGING_PREFIX + "*"))


def test_an_incomplete_staging_folder_is_removed_and_the_outputs_kept(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "links.csv").write_text("old\n")
    stage = out / (STAGING_PREFIX + "killed")
    stage.mkdir()
    (stage / "links.csv").write_text("half")  # killed before the manifest: not a complete run
    recover(out, OUTPUT_FILES)
    assert _folder(out) == {"links.csv": b"old\n"} and not stage.exists()


def test_the_staging_folder_is_inside_the_output_folder_and_gone_after_the_run(small, tmp_path):
    seen = []
    score_exports([small], tmp_path / "out", on_chunk=lambda *a: seen.extend((tmp_path / "out").glob(STAGING_PREFIX + "*")))
    assert seen and not list((tmp_path / "out").glob(STAGING_PREFIX + "*"))


def test_a_folder_in_the_way_of_an_output_is_named_and_nothing_moves(first_run, small, tmp_path):
    out, before = first_run
    copy = tmp_path / "out"
    copy.mkdir()
    for name, data in before.items():
        (copy / name).write_bytes(data)
    (copy / "report.html").unlink()
    (copy / "report.html").mkdir()  # not a file a run can be moved over
    with pytest.raises(IsADirectoryError) as caught:
        score_exports([small], copy, report=True, excel_bom=True)
    assert caught.value.filename == str(copy / "report.html")
    del before["report.html"]
    assert _folder(copy) == before and (copy / "report.html").is_dir()
    assert not list(copy.glob(STAGING_PREFIX + "*"))


def test_a_move_failing_after_the_manifest_keeps_the_staging_folder_for_the_next_run(tmp_path, monkeypatch):
    out = tmp_path / "out"
    out.mkdir()
    (out / "links.csv").write_text("old\n")
    (out / "domains.csv").write_text("old\n")
    stage = Staging(out, OUTPUT_FILES)
    (stage.dir / "links.csv").write_text("new\n")
    (stage.dir / "domains.csv").write_text("new\n")
    real = os.replace

    def denied(src, dst):
        if Path(dst) == out / "domains.csv":
            raise PermissionError(13, "Permission denied", str(src))
        real(src, dst)

    monkeypatch.setattr(staging_mod.os, "replace", denied)
    with pytest.raises(PermissionError) as caught, stage:
        stage.commit(["links.csv", "domains.csv"])
    monkeypatch.undo()
    assert caught.value.filename == str(out / "domains.csv") and "next toxlink run" in caught.value.strerror
    assert stage.dir.is_dir()  # the rest of the run is still there to be moved
    recover(out, OUTPUT_FILES)
    assert _folder(out) == {"domains.csv": b"new\n", "links.csv": b"new\n"}
    assert not list(out.glob(STAGING_PREFIX + "*"))
