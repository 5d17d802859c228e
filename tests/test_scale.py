"""The Dask engine gives the embedded engine's outputs byte for byte, and shares one export
among its workers (2-worker local cluster)."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("dask.distributed", reason="the scale extra is not installed")

from toxlink import schema as S  # noqa: E402
from toxlink.engine import score_exports  # noqa: E402
from toxlink.scale import score_exports_dask, split_batches  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "data" / "sample" / "ahrefs-backlinks-sample.csv"
EXISTING = ROOT / "data" / "sample" / "existing-disavow.txt"
OUTPUTS = ("links.csv", "domains.csv", "disavow.txt", "disavow-new.txt", "disavow-diff.csv")


@pytest.fixture(scope="module")
def partitions(tmp_path_factory):
    """The sample split into three partition files, the last repeating links of the first."""
    import toxlink

    d = tmp_path_factory.mktemp("parts")
    raw = SAMPLE.read_text(encoding="utf-16").splitlines()
    header, rows = raw[0], raw[1:]
    chunks = [rows[:600], rows[600:1100], rows[1100:] + rows[:40]]
    paths = []
    for i, chunk in enumerate(chunks):
        p = d / f"part-{i}.tsv"
        p.write_text("\n".join([header, *chunk]) + "\n", encoding="utf-16")
        paths.append(p)
    assert toxlink.read_export(paths)[S.DUPLICATE_OF].notna().sum() >= 40
    return paths


@pytest.fixture(scope="module")
def client():
    from dask.distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as c:
        c.wait_for_workers(2, timeout=120)
        yield c


def _same_outputs(a: Path, b: Path) -> None:
    for name in OUTPUTS:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


@pytest.mark.slow
def test_dask_engine_equals_embedded_across_partition_files(partitions, client, tmp_path):
    embedded = score_exports(partitions, tmp_path / "embedded", chunksize=250, existing_disavow=EXISTING)
    dask = score_exports_dask(partitions, tmp_path / "dask", client=client, chunksize=250, existing_disavow=EXISTING)
    _same_outputs(tmp_path / "embedded", tmp_path / "dask")
    assert embedded.bands == dask.bands and dask.duplicates >= 40


@pytest.mark.slow
def test_one_export_is_shared_by_both_workers(client, tmp_path):
    embedded = score_exports([SAMPLE], tmp_path / "embedded", chunksize=100, report=True)
    dask = score_exports_dask([SAMPLE], tmp_path / "dask", client=client, chunksize=100, report=True)
    _same_outputs(tmp_path / "embedded", tmp_path / "dask")
    assert embedded.rows == dask.rows == 1500
    assert len(dask.tasks) == 2 and len({t["worker"] for t in dask.tasks}) == 2, dask.tasks
    assert sum(t["rows"] for t in dask.tasks) == 1500 and min(t["rows"] for t in dask.tasks) >= 600
    assert not [p for p in (tmp_path / "dask").iterdir() if p.name.startswith(".")]  # spool and parts removed


def test_batches_are_split_into_contiguous_ranges_of_about_equal_rows():
    rows = [100] * 9 + [50]
    ranges = split_batches(rows, 2)
    assert [list(r) for r in ranges] == [list(range(0, 5)), list(range(5, 10))]
    assert split_batches([7], 4) == [range(0, 1)] and split_batches([], 2) == []
    for parts in (1, 2, 3, 7, 20):
        got = split_batches(rows, parts)
        assert [i for r in got for i in r] == list(range(len(rows))) and len(got) <= parts


_FAILING_WORKER = '''
import sys

from toxlink.exports import ExportError


def failing(spool_path, *args, **kwargs):
    raise ExportError(spool_path, "a part of the export the worker cannot read", line=7)


if __name__ == "__main__":  # the cluster's worker processes import this file too
    import toxlink.scale as scale
    from toxlink.cli import main

    scale._score_task = failing  # a function of __main__ is pickled by value: the workers run this one
    sys.exit(main(sys.argv[1:]))
'''


def test_a_task_failing_on_a_worker_is_one_message_without_the_workers_traceback(tmp_path):
    """The local cluster's workers log "Compute Failed ... Traceback" for a task that raises,
    unless their logs are silenced: the user sees toxlink's one line only, exit 2."""
    import subprocess
    import sys

    script = tmp_path / "run_failing_worker.py"
    script.write_text(_FAILING_WORKER, encoding="utf-8")
    out = tmp_path / "out"
    r = subprocess.run([sys.executable, str(script), "score", str(SAMPLE), "-o", str(out), "--engine", "dask"],
                       capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert r.returncode == 2, r.stderr
    assert "a part of the export the worker cannot read" in r.stderr and "line 7" in r.stderr
    assert "Traceback" not in r.stderr and "Compute Failed" not in r.stderr and "internal error" not in r.stderr
    assert list(out.iterdir()) == []  # no spool, no staging folder, no partial output


def test_a_bad_export_with_the_dask_engine_is_one_message_and_exit_2(tmp_path):
    import subprocess
    import sys

    bad = tmp_path / "bad.csv"
    bad.write_text('Source URL,Target URL,Anchor\nhttps://a.example/,https://t.example/,"open\n', encoding="utf-8")
    r = subprocess.run([sys.executable, "-m", "toxlink.cli", "score", str(bad), "-o", str(tmp_path / "out"),
                        "--engine", "dask"], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert r.returncode == 2 and f"{bad}, line 2" in r.stderr and "unterminated" in r.stderr
    assert "Traceback" not in r.stderr
