"""Scoring on a Dask cluster (``toxlink score --engine dask``): one export shared by the workers.

Needs the optional extra: ``pip install toxlink[scale]``.

The stages are the embedded engine's (:mod:`toxlink.engine`), pass 2 spread over the workers:

1. the client reads the exports into the spool (pass 1, :func:`~toxlink.engine.read_exports`)
   and aggregates the profile from it (:func:`~toxlink.engine.profile_of`), as the embedded
   engine does, so duplicates and the profile see the whole export in input order;
2. the spool's record batches are split into contiguous ranges of about equal rows, one task
   per range: each worker scores its range (:func:`~toxlink.engine.score_batches`) into
   a part of ``links.csv`` and returns its :class:`~toxlink.engine.Tally`;
3. the client appends the parts and merges the tallies in input order, then writes the
   other outputs (:func:`~toxlink.engine.write_outputs`).

The outputs equal the embedded engine's byte for byte. Workers and client must see the same
output folder (the spool and the parts are written there): a local cluster does; a cluster
on other machines needs the output folder on shared storage mounted at the same path.
"""

from __future__ import annotations

import logging
import os
import time
from functools import lru_cache
from pathlib import Path
from typing import Sequence

import numpy as np


def expand_partitions(paths: Sequence[str | os.PathLike]) -> list[str]:
    """Files of *paths*, a directory standing for its (non-hidden) files sorted by name."""
    out: list[str] = []
    for p in paths:
        p = Path(p)
        if p.is_dir():
            out.extend(str(f) for f in sorted(p.iterdir()) if f.is_file() and not f.name.startswith("."))
        else:
            out.append(str(p))
    return out


def split_batches(rows: Sequence[int], parts: int) -> list[range]:
    """Contiguous ranges of record batches, at most *parts*, of about equal numbers of rows.

    Parameters
    ----------
    rows : sequence of int — rows of each record batch, in order.
    parts : int

    Returns
    -------
    list of range, in order, together covering every record batch once (none empty).
    """
    if not len(rows):
        return []
    ends = np.cumsum(rows)
    # The record batch where each part's share of the rows ends.
    cuts = np.searchsorted(ends, ends[-1] * np.arange(1, parts) / parts, side="left") + 1
    bounds = sorted(set([0, *cuts.tolist(), len(rows)]))
    return [range(a, b) for a, b in zip(bounds, bounds[1:]) if b > a]


# -- worker task (module level so that it pickles by reference) ---------------------------------

@lru_cache(maxsize=4)
def _bundle(model):
    # Loaded once per worker process, not once per task.
    from toxlink.model import ModelBundle

    return ModelBundle.load(model)


def _score_task(spool_path: str, batches: range, part_file: str, *, model, policy, profile, report: bool):
    """Score *batches* of the spool into *part_file*: (tally, rows, timings, facts of
    where and how long the task ran)."""
    from toxlink.engine import LINK_OUTPUT_COLUMNS, score_batches
    from toxlink.outputs import CsvWriter
    from toxlink.predictor import Predictor
    from toxlink.timings import Timings

    started, wall, cpu = time.time(), time.perf_counter(), time.process_time()
    predictor = Predictor(_bundle(model), policy=policy)
    timings = Timings()
    with CsvWriter(part_file, LINK_OUTPUT_COLUMNS, header=False) as csv:
        tally = score_batches(spool_path, batches, predictor, profile, policy, csv, report=report,
                                 timings=timings)
    try:
        from dask.distributed import get_worker

        worker = get_worker().address
    except (ImportError, ValueError):  # run outside a worker (tests)
        worker = "local"
    facts = {"worker": worker, "pid": os.getpid(), "batches": [batches.start, batches.stop], "rows": csv.rows,
             "started": started, "seconds": time.perf_counter() - wall, "cpu_seconds": time.process_time() - cpu}
    return tally, csv.rows, timings, facts


# -- the client side ----------------------------------------------------------------------------

def score_exports_dask(
    paths: Sequence[str | os.PathLike],
    out_dir: str | os.PathLike,
    *,
    scheduler: str | None = None,
    client=None,
    model: str | None = None,
    policy=None,
    export_format: str | None = None,
    existing_disavow: str | os.PathLike | None = None,
    chunksize: int = 100_000,
    report: bool = False,
    n_workers: int = 2,
    tasks: int | None = None,
    excel_bom: bool = False,
    previous: str | os.PathLike | None = None,
    branding=None,
    label_rows: int = 100,
):
    """Score the exports on a Dask cluster; same outputs as :func:`toxlink.engine.score_exports`.

    Parameters
    ----------
    scheduler : str, optional
        Address of a running scheduler (``tcp://host:8786``); by default a local cluster of
        *n_workers* single-threaded worker processes is started and closed again.
    client : dask.distributed.Client, optional
        Use this client instead (tests, notebooks).
    tasks : int, optional
        Ranges of record batches to score (default: one per worker).

    Returns
    -------
    ScoreSummary; its ``tasks`` say which worker scored which batches, when and how long
    (wall and CPU seconds).
    """
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError:  # pragma: no cover - depends on the install
        raise ImportError("the dask engine needs the optional extra: pip install 'toxlink[scale]'") from None
    from toxlink.engine import (LINK_OUTPUT_COLUMNS, Tally, check_output_folder, check_previous, claimed, profile_of,
                                publish, read_existing, read_exports, run_policy, staged_outputs, write_outputs)
    from toxlink.outputs import CsvWriter
    from toxlink.predictor import Predictor
    from toxlink.spool import Spool
    from toxlink.timings import Timings

    out_dir = Path(out_dir)
    check_output_folder(out_dir, paths)
    check_previous(previous, out_dir)
    existing = read_existing(existing_disavow)
    predictor = Predictor.load(model, policy=policy)  # thresholds resolved from the model once, shipped to workers
    timings = Timings()
    out_dir.mkdir(parents=True, exist_ok=True)
    with claimed(out_dir), staged_outputs(out_dir) as staging:
        stage = staging.dir
        own_cluster = None
        if client is None:
            if scheduler:
                client = Client(scheduler)
            else:
                # silence_logs: a task's error reaches the user once, as toxlink's message,
                # not also as the worker's "Compute Failed ... Traceback" log.
                own_cluster = LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                                           dashboard_address=None, silence_logs=logging.CRITICAL)
                client = Client(own_cluster)
        try:
            with Spool(stage) as spool:
                read_notes: list[str] = []
                own = read_exports(expand_partitions(paths), spool, export_format=export_format, chunksize=chunksize,
                                   timings=timings, notes=read_notes)
                profile = profile_of(spool, timings)
                policy, notes = run_policy(predictor.policy, own)
                notes = read_notes + notes
                ranges = split_batches(spool.batch_rows, tasks or len(client.scheduler_info()["workers"]) or 1)
                parts = [str(spool.dir / f"part-{i:05d}.csv") for i in range(len(ranges))]
                with timings.stage("pass 2 on the workers (wall)"):
                    results = client.gather(client.map(
                        _score_task, [str(spool.path)] * len(ranges), ranges, parts, model=model, policy=policy,
                        profile=client.scatter(profile, broadcast=True), report=report, pure=False))
                with timings.stage("links.csv"), CsvWriter(stage / "links.csv", LINK_OUTPUT_COLUMNS,
                                                                          bom=excel_bom) as csv:
                    for part, (_, rows, _, _) in zip(parts, results):
                        csv.append_rows_of(part, rows)
        finally:
            if own_cluster is not None:
                client.close()
                own_cluster.close()
        tally = Tally(policy, report=report)
        for part_tally, _, worker_timings, _ in results:
            tally.merge(part_tally)  # in input order: the roll-up keeps the first-seen order of sites
            timings.add(worker_timings, prefix="workers: ")
        from toxlink.report import ModelFacts

        summary = write_outputs(tally, policy, existing, stage, notes, timings, bom=excel_bom, previous=previous,
                                model=ModelFacts.of(predictor, policy), branding=branding, label_rows=label_rows)
        summary.tasks = [facts for *_, facts in results]
        summary = publish(staging, summary)
    summary.notes[:0] = [f"your disavow file: {w}" for w in existing.warnings]
    return summary
