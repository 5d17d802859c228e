"""The Dask engine gives the embedded engine's results row for row (2-worker local cluster)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

pytest.importorskip("dask.distributed", reason="the scale extra is not installed")

from toxlink import schema as S  # noqa: E402
from toxlink.batch import score_exports  # noqa: E402
from toxlink.scale import score_exports_dask  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "data" / "sample" / "ahrefs-backlinks-sample.csv"


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


@pytest.mark.slow
def test_dask_engine_equals_embedded_row_for_row(partitions, tmp_path):
    from dask.distributed import Client, LocalCluster

    embedded = score_exports(partitions, tmp_path / "embedded", chunksize=250)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        client.wait_for_workers(2, timeout=120)
        assert len(client.scheduler_info()["workers"]) == 2
        dask = score_exports_dask(partitions, tmp_path / "dask", client=client, chunksize=250)
    a = pd.read_csv(tmp_path / "embedded" / "links.csv", dtype=str, keep_default_na=False)
    b = pd.read_csv(tmp_path / "dask" / "links.csv", dtype=str, keep_default_na=False)
    pd.testing.assert_frame_equal(a, b)
    assert (a[S.DUPLICATE_OF] != "").sum() >= 40
    for name in ("domains.csv", "disavow-new.txt"):
        assert (tmp_path / "embedded" / name).read_text() == (tmp_path / "dask" / name).read_text(), name
    assert embedded.bands == dask.bands
